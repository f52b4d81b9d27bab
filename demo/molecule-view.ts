// The molecule view: pick a test molecule, a layer and a head, and see the molecule drawn with its atoms coloured by
// element, its bonds drawn by type, each direction of a bond coloured by that head's attention, and a halo around
// every atom sized by its pooling weight beta; with the true and predicted class above it.
import type { TUDataset } from '../src/data/tu.ts';
import { layoutMolecule, type Point } from './layout.ts';
import type { Inspection, MoleculeInspection } from './molecule-session.ts';
import { argmaxRows, BOND_TYPES, CLASS_NAMES, ELEMENTS, type BondType } from './mutag.ts';

const SVG_NS = 'http://www.w3.org/2000/svg';
/** Element colours (the usual CPK-like ones of molecule viewers) and the text colour readable on each. */
export const ELEMENT_COLORS: Record<string, [string, string]> = {
  C: ['#4a4a4a', '#fff'],
  N: ['#3050f8', '#fff'],
  O: ['#e8281b', '#fff'],
  F: ['#7fc241', '#000'],
  I: ['#940094', '#fff'],
  Cl: ['#1fa01f', '#fff'],
  Br: ['#a62929', '#fff'],
};
/** Attention 0 .. 1 along this ramp (pale to dark red). */
const RAMP = ['#e3e7eb', '#fcd34d', '#f08c2c', '#c2410c', '#7f1d1d'];
/** Parallel strokes of each bond type, in units of the stroke spacing; a dashed stroke for the aromatic bond's. */
const STROKES: Record<BondType, { offset: number; dashed: boolean }[]> = {
  aromatic: [
    { offset: -0.5, dashed: false },
    { offset: 0.5, dashed: true },
  ],
  single: [{ offset: 0, dashed: false }],
  double: [
    { offset: -0.5, dashed: false },
    { offset: 0.5, dashed: false },
  ],
  triple: [
    { offset: -1, dashed: false },
    { offset: 0, dashed: false },
    { offset: 1, dashed: false },
  ],
};
const VIEW = { width: 440, height: 300 };
const ATOM_R = 9;
const HALO_R = 24; // halo radius of the atom with the largest pooling weight
const SPACING = 5; // between a bond's parallel strokes

interface Elements {
  molecule: HTMLSelectElement;
  layer: HTMLSelectElement;
  head: HTMLSelectElement;
  svg: SVGSVGElement;
  summary: HTMLElement;
}

/** A molecule's structure, as the drawing needs it. */
interface Structure {
  elements: string[];
  /** Undirected bonds (u < v), the edge columns of u -> v and v -> u, and the type. */
  bonds: { u: number; v: number; uv: number; vu: number; type: BondType }[];
  points: Point[];
}

/** `mean` (of the heads) or a head's index. */
type HeadChoice = number | 'mean';

export function attentionColor(a: number): string {
  const t = Math.min(1, Math.max(0, a)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(t));
  const mix = (c0: string, c1: string, f: number) => {
    const p = (c: string, k: number) => parseInt(c.slice(1 + 2 * k, 3 + 2 * k), 16);
    return `#${[0, 1, 2]
      .map((k) =>
        Math.round(p(c0, k) + (p(c1, k) - p(c0, k)) * f)
          .toString(16)
          .padStart(2, '0'),
      )
      .join('')}`;
  };
  return mix(RAMP[i]!, RAMP[i + 1]!, t - i);
}

/** The ramp as a CSS gradient, for the legend. */
export const ATTENTION_GRADIENT = `linear-gradient(to right, ${RAMP.join(', ')})`;

export class MoleculeView {
  private dataset: TUDataset | null = null;
  private inspection: Inspection | null = null;
  private readonly structures = new Map<number, Structure>();

  constructor(private readonly el: Elements) {
    el.molecule.addEventListener('change', () => this.render());
    el.layer.addEventListener('change', () => this.render());
    el.head.addEventListener('change', () => this.render());
  }

  /** A new run: its dataset, nothing to show yet. */
  reset(dataset: TUDataset | null): void {
    this.dataset = dataset;
    this.inspection = null;
    for (const s of [this.el.molecule, this.el.layer, this.el.head]) s.replaceChildren(), (s.disabled = true);
    this.el.svg.replaceChildren();
    this.el.summary.textContent = 'Start training to see the test molecules, their attention and pooling weights.';
  }

  /** New predictions and weights (after an evaluation pass); keeps the chosen molecule, layer and head. */
  show(inspection: Inspection): void {
    const ds = this.dataset;
    if (!ds) return;
    const chosen = this.el.molecule.value;
    const first = !this.inspection;
    this.inspection = inspection;
    this.el.molecule.replaceChildren(
      ...inspection.molecules.map((m) => {
        const g = ds.graphs[m.graph]!;
        const o = document.createElement('option');
        o.value = String(m.graph);
        o.textContent =
          `#${m.graph} · ${g.numNodes} atoms · ${CLASS_NAMES[m.label]} · predicted ` +
          `${m.predicted === m.label ? '✓' : '✗'}`;
        return o;
      }),
    );
    this.el.molecule.value = first ? String(this.defaultMolecule(inspection)) : chosen;
    if (first) {
      const options = (n: number, name: string) =>
        Array.from({ length: n }, (_, k) => {
          const o = document.createElement('option');
          o.value = String(k);
          o.textContent = `${name} ${k + 1}`;
          return o;
        });
      this.el.layer.replaceChildren(...options(inspection.layers, 'layer'));
      const mean = document.createElement('option');
      mean.value = 'mean';
      mean.textContent = 'mean of the heads';
      this.el.head.replaceChildren(...options(inspection.heads, 'head'), mean);
      for (const s of [this.el.molecule, this.el.layer, this.el.head]) s.disabled = false;
    }
    this.render();
  }

  /** Chooses a molecule by its dataset index (one of the test molecules). */
  select(graph: number): void {
    this.el.molecule.value = String(graph);
    this.render();
  }

  /** The first correctly classified mutagenic molecule (these have the nitro groups the model should find). */
  private defaultMolecule(ins: Inspection): number {
    const m = ins.molecules.find((m) => m.label === 1 && m.predicted === 1) ?? ins.molecules[0]!;
    return m.graph;
  }

  private structure(graph: number): Structure {
    let s = this.structures.get(graph);
    if (s) return s;
    const ds = this.dataset!;
    const g = ds.graphs[graph]!;
    const elements = Array.from(argmaxRows(g.x, g.numNodes, ds.numFeatures), (c) => ELEMENTS[c]!);
    const types = argmaxRows(g.edgeAttr!, g.numEdges, ds.numEdgeFeatures);
    const column = new Map<number, number>();
    const E = g.numEdges;
    for (let k = 0; k < E; k++) column.set(g.edgeIndex[k]! * g.numNodes + g.edgeIndex[E + k]!, k);
    const bonds: Structure['bonds'] = [];
    for (let k = 0; k < E; k++) {
      const u = g.edgeIndex[k]!,
        v = g.edgeIndex[E + k]!;
      if (u >= v) continue;
      const vu = column.get(v * g.numNodes + u);
      if (vu === undefined) throw new Error(`MUTAG graph ${graph}: the bond ${u}-${v} is listed in one direction only`);
      bonds.push({ u, v, uv: k, vu, type: BOND_TYPES[types[k]!]! });
    }
    s = {
      elements,
      bonds,
      points: layoutMolecule(
        g.numNodes,
        bonds.map((b) => [b.u, b.v] as const),
      ),
    };
    this.structures.set(graph, s);
    return s;
  }

  private render(): void {
    const ins = this.inspection;
    const ds = this.dataset;
    if (!ins || !ds) return;
    const m = ins.molecules.find((x) => String(x.graph) === this.el.molecule.value);
    if (!m) return;
    const layer = Number(this.el.layer.value);
    const head: HeadChoice = this.el.head.value === 'mean' ? 'mean' : Number(this.el.head.value);
    const s = this.structure(m.graph);
    this.renderSummary(ins, m, s);
    this.renderDrawing(ins, m, s, layer, head);
  }

  private renderSummary(ins: Inspection, m: MoleculeInspection, s: Structure): void {
    const el = this.el.summary;
    el.replaceChildren();
    const strong = el.appendChild(document.createElement('strong'));
    strong.textContent = `Molecule #${m.graph}`;
    const right = m.predicted === m.label;
    const verdict = document.createElement('span');
    verdict.className = right ? 'right' : 'wrong';
    verdict.textContent = right ? '✓' : '✗';
    el.append(
      ` (test): ${s.elements.length} atoms, ${s.bonds.length} bonds. True class: ${CLASS_NAMES[m.label]}; ` +
        `predicted: ${CLASS_NAMES[m.predicted]} (p = ${m.probabilities[m.predicted]!.toFixed(2)}) `,
      verdict,
      `. Weights after epoch ${ins.epoch}.`,
    );
    el.dataset.label = String(m.label);
    el.dataset.predicted = String(m.predicted);
  }

  private renderDrawing(ins: Inspection, m: MoleculeInspection, s: Structure, layer: number, head: HeadChoice): void {
    const svg = this.el.svg;
    svg.replaceChildren();
    const H = ins.heads;
    const weight = (values: Float32Array, row: number) => {
      if (head !== 'mean') return values[row * H + head]!;
      let sum = 0;
      for (let h = 0; h < H; h++) sum += values[row * H + h]!;
      return sum / H;
    };
    // Fit the layout into the view, bonds at most 42 px long.
    const xs = s.points.map((p) => p.x),
      ys = s.points.map((p) => p.y);
    const spanX = Math.max(...xs) - Math.min(...xs),
      spanY = Math.max(...ys) - Math.min(...ys);
    const margin = HALO_R + 4;
    const scale = Math.min(
      42,
      (VIEW.width - 2 * margin) / Math.max(spanX, 1e-6),
      (VIEW.height - 2 * margin) / Math.max(spanY, 1e-6),
    );
    const at = (i: number) => ({ x: scale * s.points[i]!.x, y: scale * s.points[i]!.y });
    svg.setAttribute('viewBox', `${-VIEW.width / 2} ${-VIEW.height / 2} ${VIEW.width} ${VIEW.height}`);

    // Halos: area proportional to beta, the molecule's largest weight gets radius HALO_R.
    const maxBeta = Math.max(1e-12, ...m.beta);
    const halos = svgEl('g', { class: 'halos' });
    s.elements.forEach((_, i) => {
      const p = at(i);
      halos.appendChild(
        svgEl('circle', {
          cx: p.x,
          cy: p.y,
          r: HALO_R * Math.sqrt(m.beta[i]! / maxBeta),
          class: 'halo',
          'data-atom': i,
          'data-beta': m.beta[i]!,
        }),
      );
    });
    svg.appendChild(halos);

    // Bonds: parallel strokes by type, each split at its middle; the half at an atom shows the atom's attention to
    // the neighbour across the bond (the edge from the neighbour to the atom).
    const bonds = svgEl('g', { class: 'bonds' });
    for (const b of s.bonds) {
      const pu = at(b.u),
        pv = at(b.v);
      const len = Math.hypot(pv.x - pu.x, pv.y - pu.y) || 1;
      const nx = -(pv.y - pu.y) / len,
        ny = (pv.x - pu.x) / len;
      const mid = { x: (pu.x + pv.x) / 2, y: (pu.y + pv.y) / 2 };
      const g = svgEl('g', { class: 'bond', 'data-type': b.type, 'data-u': b.u, 'data-v': b.v });
      const title = svgEl('title', {});
      const aToV = weight(m.alpha[layer]!, b.uv),
        aToU = weight(m.alpha[layer]!, b.vu);
      title.textContent =
        `${b.type} bond ${s.elements[b.u]}${b.u}–${s.elements[b.v]}${b.v}: attention of ` +
        `${b.v} to ${b.u} ${aToV.toFixed(3)}, of ${b.u} to ${b.v} ${aToU.toFixed(3)}`;
      g.appendChild(title);
      // [edge column, attention, the atom the half touches]
      for (const [edge, a, end] of [
        [b.uv, aToV, pv],
        [b.vu, aToU, pu],
      ] as const) {
        const [src, dst] = edge === b.uv ? [b.u, b.v] : [b.v, b.u];
        const half = svgEl('g', {
          class: 'half-bond',
          'data-src': src,
          'data-dst': dst,
          'data-alpha': a.toFixed(4),
          stroke: attentionColor(a),
          'stroke-width': 1.6 + 2.4 * a,
        });
        for (const st of STROKES[b.type]) {
          const ox = nx * st.offset * SPACING,
            oy = ny * st.offset * SPACING;
          half.appendChild(
            svgEl('line', {
              x1: mid.x + ox,
              y1: mid.y + oy,
              x2: end.x + ox,
              y2: end.y + oy,
              ...(st.dashed ? { class: 'dashed' } : {}),
            }),
          );
        }
        g.appendChild(half);
      }
      bonds.appendChild(g);
    }
    svg.appendChild(bonds);

    const atoms = svgEl('g', { class: 'atoms' });
    s.elements.forEach((el, i) => {
      const p = at(i);
      const [fill, ink] = ELEMENT_COLORS[el]!;
      const self = weight(m.selfLoop[layer]!, i);
      const c = svgEl('circle', {
        cx: p.x,
        cy: p.y,
        r: ATOM_R,
        fill,
        class: 'atom',
        'data-atom': i,
        'data-element': el,
        'data-self-alpha': self.toFixed(4),
      });
      c.appendChild(svgEl('title', {})).textContent =
        `atom ${i}: ${el}; pooling weight β = ${m.beta[i]!.toFixed(3)}; ` +
        `attention to itself (self loop) ${self.toFixed(3)}`;
      atoms.appendChild(c);
      const t = svgEl('text', { x: p.x, y: p.y, class: 'symbol', fill: ink });
      t.textContent = el;
      atoms.appendChild(t);
    });
    svg.appendChild(atoms);
    svg.dataset.molecule = String(m.graph);
    svg.dataset.layer = String(layer);
    svg.dataset.head = String(head);
  }
}

function svgEl(tag: string, attrs: Record<string, string | number>): SVGElement {
  const e = document.createElementNS(SVG_NS, tag) as SVGElement;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}
