// The attention view: pick a node (by id, from the list of best-connected nodes, or by clicking a neighbour in
// the drawing) and see its incoming edges with each head's attention weight, each neighbour's class and the
// model's prediction for it.
import type { GraphDataset } from '../src/data/planetoid.ts';
import type { Inspection } from './session.ts';

const CLASS_COLORS = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#e15759',
  '#b07aa1',
  '#76b7b2',
  '#edc948',
  '#9c755f',
  '#ff9da7',
  '#bab0ac',
];
const MAX_DRAWN = 40; // neighbours drawn around the node (the table lists all of them)
const LIST_SIZE = 12;
const SVG_NS = 'http://www.w3.org/2000/svg';

interface Elements {
  input: HTMLInputElement;
  list: HTMLUListElement;
  svg: SVGSVGElement;
  summary: HTMLElement;
  table: HTMLTableElement;
}

interface Neighbour {
  node: number;
  self: boolean;
  alpha: number[];
  mean: number;
}

const classColor = (c: number) => CLASS_COLORS[c % CLASS_COLORS.length];

export class AttentionView {
  private dataset: GraphDataset | null = null;
  private inspection: Inspection | null = null;
  private node = 0;

  constructor(private readonly el: Elements) {
    el.input.addEventListener('change', () => this.select(Number(el.input.value)));
  }

  /** A new run: its dataset, no attention yet. */
  reset(dataset: GraphDataset | null): void {
    this.dataset = dataset;
    this.inspection = null;
    this.el.list.replaceChildren();
    this.el.svg.replaceChildren();
    this.el.table.tHead!.replaceChildren();
    this.el.table.tBodies[0].replaceChildren();
    this.el.summary.textContent = 'Start training to see attention weights.';
    if (dataset) this.el.input.max = String(dataset.numNodes - 1);
  }

  /** New predictions and attention weights (after an evaluation pass). */
  show(inspection: Inspection): void {
    const first = !this.inspection;
    this.inspection = inspection;
    if (first) {
      this.fillList(inspection);
      this.node = this.defaultNode(inspection);
    }
    this.render();
  }

  select(node: number): void {
    const n = this.dataset?.numNodes ?? 0;
    if (!Number.isInteger(node) || node < 0 || node >= n) {
      this.el.summary.textContent = `Choose a node id between 0 and ${n - 1}.`;
      return;
    }
    this.node = node;
    this.render();
  }

  private topNodes(ins: Inspection, count: number): number[] {
    const { rowPtr, numNodes } = ins.graph;
    const ids = Array.from({ length: numNodes }, (_, i) => i);
    return ids.sort((a, b) => rowPtr[b + 1] - rowPtr[b] - (rowPtr[a + 1] - rowPtr[a]) || a - b).slice(0, count);
  }

  /** A test node whose drawing is readable (5 to 16 incoming edges) and whose neighbours differ most in class. */
  private defaultNode(ins: Inspection): number {
    const ds = this.dataset!;
    const { rowPtr, src } = ins.graph;
    let best = 0,
      bestScore = -1;
    for (let i = 0; i < ins.graph.numNodes; i++) {
      const degree = rowPtr[i + 1] - rowPtr[i];
      if (!ds.testMask[i] || degree < 5 || degree > 16) continue;
      const classes = new Set<number>();
      for (let p = rowPtr[i]; p < rowPtr[i + 1]; p++) classes.add(ds.labels[src[p]]);
      const score = classes.size * 100 + degree;
      if (score > bestScore) (best = i), (bestScore = score);
    }
    return best;
  }

  /** The best-connected nodes, as buttons. */
  private fillList(ins: Inspection): void {
    this.el.list.replaceChildren(
      ...this.topNodes(ins, LIST_SIZE).map((node) => {
        const li = document.createElement('li');
        const b = li.appendChild(document.createElement('button'));
        b.type = 'button';
        b.dataset.node = String(node);
        b.textContent = `${node}`;
        b.title = `node ${node}: ${ins.graph.rowPtr[node + 1] - ins.graph.rowPtr[node]} incoming edges`;
        b.addEventListener('click', () => this.select(node));
        return li;
      }),
    );
  }

  private neighbours(ins: Inspection, node: number): Neighbour[] {
    const { rowPtr, src } = ins.graph;
    const out: Neighbour[] = [];
    for (let p = rowPtr[node]; p < rowPtr[node + 1]; p++) {
      const alpha = Array.from(ins.alpha.subarray(p * ins.heads, (p + 1) * ins.heads));
      out.push({ node: src[p], self: src[p] === node, alpha, mean: alpha.reduce((s, a) => s + a, 0) / alpha.length });
    }
    return out.sort((a, b) => b.mean - a.mean || a.node - b.node);
  }

  private render(): void {
    const ins = this.inspection;
    const ds = this.dataset;
    if (!ins || !ds) return;
    const node = this.node;
    this.el.input.value = String(node);
    for (const b of Array.from(this.el.list.querySelectorAll<HTMLButtonElement>('button')))
      b.classList.toggle('selected', Number(b.dataset.node) === node);
    const nbrs = this.neighbours(ins, node);
    this.renderSummary(ins, ds, node, nbrs.length);
    this.renderTable(ins, ds, nbrs);
    this.renderDrawing(ins, ds, node, nbrs);
  }

  private renderSummary(ins: Inspection, ds: GraphDataset, node: number, degree: number): void {
    const label = ds.labels[node];
    const pred = ins.predictions[node];
    const s = this.el.summary;
    s.replaceChildren();
    const strong = s.appendChild(document.createElement('strong'));
    strong.textContent = `Node ${node}`;
    s.append(
      ` (${splitOf(ds, node)} split): class ${label}, predicted ${pred} ${label === pred ? '✓' : '✗'}; `,
      `${degree} incoming edges including its self loop; weights after epoch ${ins.epoch}.`,
    );
  }

  private renderTable(ins: Inspection, ds: GraphDataset, nbrs: Neighbour[]): void {
    const head = this.el.table.tHead!;
    const headRow = document.createElement('tr');
    const titles = [
      'neighbour',
      'class',
      'predicted',
      ...Array.from({ length: ins.heads }, (_, h) => `head ${h + 1}`),
      'mean',
    ];
    for (const t of titles) headRow.appendChild(document.createElement('th')).textContent = t;
    head.replaceChildren(headRow);
    this.el.table.tBodies[0].replaceChildren(
      ...nbrs.map((n) => {
        const tr = document.createElement('tr');
        const id = tr.appendChild(document.createElement('td'));
        const link = id.appendChild(document.createElement('button'));
        link.type = 'button';
        link.className = 'link';
        link.textContent = n.self ? `${n.node} (self)` : String(n.node);
        link.addEventListener('click', () => this.select(n.node));
        const label = ds.labels[n.node];
        const pred = ins.predictions[n.node];
        const cls = tr.appendChild(document.createElement('td'));
        cls.innerHTML = `<span class="swatch" style="background:${classColor(label)}"></span>${label}`;
        tr.appendChild(document.createElement('td')).textContent = `${pred} ${pred === label ? '✓' : '✗'}`;
        for (const a of [...n.alpha, n.mean]) {
          const td = tr.appendChild(document.createElement('td'));
          td.textContent = a.toFixed(3);
          td.className = 'weight';
          td.style.setProperty('--w', String(a));
        }
        return tr;
      }),
    );
  }

  /** The node in the middle, its neighbours around it; line width follows the mean attention weight. */
  private renderDrawing(ins: Inspection, ds: GraphDataset, node: number, nbrs: Neighbour[]): void {
    const svg = this.el.svg;
    svg.replaceChildren();
    const self = nbrs.find((n) => n.self);
    const others = nbrs.filter((n) => !n.self).slice(0, MAX_DRAWN);
    const maxMean = Math.max(1e-6, ...nbrs.map((n) => n.mean));
    const R = 122;
    const place = (k: number) => {
      const t = (2 * Math.PI * k) / Math.max(1, others.length) - Math.PI / 2;
      return [R * Math.cos(t), R * Math.sin(t)];
    };
    others.forEach((n, k) => {
      const [x, y] = place(k);
      svg.appendChild(
        svgEl('line', { x1: x, y1: y, x2: 0, y2: 0, class: 'edge', 'stroke-width': 0.5 + (7 * n.mean) / maxMean }),
      );
    });
    if (self)
      svg.appendChild(
        svgEl('circle', {
          cx: 0,
          cy: 0,
          r: 24,
          class: 'edge self-loop',
          'stroke-width': 0.5 + (7 * self.mean) / maxMean,
        }),
      );
    const dot = (n: number, x: number, y: number, r: number, mean: number | null) => {
      const label = ds.labels[n];
      const wrong = ins.predictions[n] !== label;
      const c = svgEl('circle', {
        cx: x,
        cy: y,
        r,
        fill: classColor(label),
        class: `node${wrong ? ' wrong' : ''}${n === node ? ' centre' : ''}`,
      });
      const title =
        `node ${n}: class ${label}, predicted ${ins.predictions[n]}` +
        (mean === null ? '' : `, mean attention ${mean.toFixed(3)}`);
      c.appendChild(svgEl('title', {})).textContent = title;
      c.dataset.node = String(n);
      if (n !== node) c.addEventListener('click', () => this.select(n));
      svg.appendChild(c);
      if (others.length <= 24 || n === node) {
        const t = svgEl('text', { x, y: y + r + 10, class: 'node-label' });
        t.textContent = String(n);
        svg.appendChild(t);
      }
    };
    others.forEach((n, k) => dot(n.node, ...(place(k) as [number, number]), 8, n.mean));
    dot(node, 0, 0, 14, null);
    const hidden = nbrs.length - 1 - others.length;
    if (hidden > 0) {
      const t = svgEl('text', { x: 0, y: 156, class: 'node-label' });
      t.textContent = `+${hidden} more in the table`;
      svg.appendChild(t);
    }
  }
}

function splitOf(ds: GraphDataset, node: number): string {
  return ds.trainMask[node] ? 'training' : ds.valMask[node] ? 'validation' : ds.testMask[node] ? 'test' : 'no';
}

function svgEl(tag: string, attrs: Record<string, string | number>): SVGElement {
  const e = document.createElementNS(SVG_NS, tag) as SVGElement;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}
