// TU dataset parsing: the counts of the shared MUTAG, PROTEINS and ENZYMES files (their README), PyG's conventions
// (1-based ids, label mapping, one-hot labels, self loops removed, duplicates coalesced), a line-by-line check of
// every graph against the raw lines, named errors for bad files, and random corruptions of a synthetic dataset.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { zipSync } from 'fflate';

import { parseTU, unzipTU, TU_PARTS, type TUDataset, type TUFiles, type TUPart } from '../../src/data/tu.ts';
import { loadTUDataset } from '../../src/data/tu-node.ts';

const TU_DIR = process.env.TU_DIR ?? fileURLToPath(new URL('../../../shared/datasets/tu/', import.meta.url));

/** Figures from the shared datasets' README (verified counts). */
const EXPECTED = {
  MUTAG: {
    graphs: 188,
    nodes: 3371,
    edges: 7442,
    minNodes: 10,
    maxNodes: 28,
    classes: [63, 125],
    classValues: [-1, 1],
    features: 7,
    featuresWithAttr: 7,
    edgeFeatures: 4,
    nodeLabelCounts: [2395, 345, 593, 12, 1, 23, 2],
    edgeLabelCounts: [4708, 2008, 724, 2],
  },
  PROTEINS: {
    graphs: 1113,
    nodes: 43471,
    edges: 162088,
    minNodes: 4,
    maxNodes: 620,
    classes: [663, 450],
    classValues: [1, 2],
    features: 3,
    featuresWithAttr: 4,
    edgeFeatures: 0,
    nodeLabelCounts: [21151, 20931, 1389],
    edgeLabelCounts: [],
  },
  ENZYMES: {
    graphs: 600,
    nodes: 19580,
    edges: 74564,
    minNodes: 2,
    maxNodes: 126,
    classes: [100, 100, 100, 100, 100, 100],
    classValues: [1, 2, 3, 4, 5, 6],
    features: 3,
    featuresWithAttr: 21,
    edgeFeatures: 0,
    nodeLabelCounts: [9457, 9665, 458],
    edgeLabelCounts: [],
  },
} as const;
type Name = keyof typeof EXPECTED;

/** Column sums of a row-major [rows, cols] matrix, over columns c0..c0+n-1. */
function columnSums(data: Float32Array, cols: number, c0: number, n: number): number[] {
  const s = new Array<number>(n).fill(0);
  for (let r = 0; r < data.length / cols; r++) for (let c = 0; c < n; c++) s[c] += data[r * cols + c0 + c]!;
  return s;
}

async function rawLines(name: string, part: string): Promise<string[]> {
  const text = await readFile(path.join(TU_DIR, name, 'raw', `${name}_${part}.txt`), 'utf8');
  return text.split('\n').slice(0, -1);
}

describe('TU datasets: counts against the README', () => {
  for (const name of Object.keys(EXPECTED) as Name[]) {
    it(name, async () => {
      const want = EXPECTED[name];
      const d = await loadTUDataset(name, { root: TU_DIR, download: false });
      assert.equal(d.graphs.length, want.graphs);
      assert.equal(d.numNodes, want.nodes);
      assert.equal(d.numEdges, want.edges, 'edges are distinct with no self loops: every line is kept');
      assert.equal(
        d.graphs.reduce((s, g) => s + g.numNodes, 0),
        want.nodes,
      );
      assert.equal(
        d.graphs.reduce((s, g) => s + g.numEdges, 0),
        want.edges,
      );
      assert.equal(Math.min(...d.graphs.map((g) => g.numNodes)), want.minNodes);
      assert.equal(Math.max(...d.graphs.map((g) => g.numNodes)), want.maxNodes);
      assert.equal(d.numClasses, want.classes.length);
      assert.deepEqual(d.classValues, want.classValues);
      const counts = new Array<number>(d.numClasses).fill(0);
      for (const g of d.graphs) counts[g.y]++;
      assert.deepEqual(counts, want.classes);
      assert.deepEqual(
        [...d.labels],
        d.graphs.map((g) => g.y),
      );
      assert.equal(d.numFeatures, want.features);
      assert.equal(d.numNodeLabels, want.nodeLabelCounts.length);
      assert.equal(d.numEdgeFeatures, want.edgeFeatures);
      // One-hot node labels: one 1 per row, column sums are the README's label counts.
      const x = new Float32Array(want.nodes * d.numFeatures);
      let o = 0;
      for (const g of d.graphs) x.set(g.x, o), (o += g.x.length);
      assert.deepEqual(columnSums(x, d.numFeatures, 0, d.numFeatures), [...want.nodeLabelCounts]);
      if (want.edgeFeatures > 0) {
        const e = new Float32Array(want.edges * d.numEdgeFeatures);
        let p = 0;
        for (const g of d.graphs) e.set(g.edgeAttr!, p), (p += g.edgeAttr!.length);
        assert.deepEqual(columnSums(e, d.numEdgeFeatures, 0, d.numEdgeFeatures), [...want.edgeLabelCounts]);
      } else assert.ok(d.graphs.every((g) => g.edgeAttr === null));
      for (const g of d.graphs) {
        for (let k = 0; k < 2 * g.numEdges; k++) assert.ok(g.edgeIndex[k]! >= 0 && g.edgeIndex[k]! < g.numNodes);
      }
    });
  }

  it('useNodeAttr puts the attributes in front of the one-hot labels (PROTEINS 1 + 3, ENZYMES 18 + 3)', async () => {
    for (const name of ['PROTEINS', 'ENZYMES'] as const) {
      const plain = await loadTUDataset(name, { root: TU_DIR, download: false });
      const d = await loadTUDataset(name, { root: TU_DIR, download: false, useNodeAttr: true });
      assert.equal(d.numFeatures, EXPECTED[name].featuresWithAttr);
      const A = d.numNodeAttributes;
      assert.equal(A + d.numNodeLabels, d.numFeatures);
      const attrLines = await rawLines(name, 'node_attributes');
      let node = 0;
      for (const [gi, g] of d.graphs.entries()) {
        for (let i = 0; i < g.numNodes; i++, node++) {
          const want = attrLines[node]!.split(',').map((f) => Math.fround(Number(f)));
          assert.deepEqual([...g.x.subarray(i * d.numFeatures, i * d.numFeatures + A)], want);
          const labelsPart = g.x.subarray(i * d.numFeatures + A, (i + 1) * d.numFeatures);
          assert.deepEqual(
            [...labelsPart],
            [...plain.graphs[gi]!.x.subarray(i * plain.numFeatures, (i + 1) * plain.numFeatures)],
          );
        }
      }
    }
  });
});

describe('TU conventions, checked against the raw lines', () => {
  it('MUTAG: every graph holds exactly its A lines (1-based, to local ids), node and bond labels', async () => {
    const d = await loadTUDataset('MUTAG', { root: TU_DIR, download: false });
    const A = await rawLines('MUTAG', 'A');
    const edgeLabels = (await rawLines('MUTAG', 'edge_labels')).map(Number);
    const nodeLabels = (await rawLines('MUTAG', 'node_labels')).map(Number);
    const indicator = (await rawLines('MUTAG', 'graph_indicator')).map(Number);
    const graphLabels = (await rawLines('MUTAG', 'graph_labels')).map(Number);
    const first: number[] = [];
    indicator.forEach((g, i) => (first[g - 1] ??= i));
    const want = d.graphs.map(() => new Map<string, number>());
    A.forEach((line, k) => {
      const [s, t] = line.split(',').map((f) => Number(f) - 1) as [number, number];
      const g = indicator[s]! - 1;
      want[g]!.set(`${s - first[g]!},${t - first[g]!}`, edgeLabels[k]!);
    });
    for (const [gi, g] of d.graphs.entries()) {
      assert.equal(g.y, graphLabels[gi] === 1 ? 1 : 0, 'labels -1/1 map to 0/1');
      const got = new Map<string, number>();
      let prev = -1;
      for (let k = 0; k < g.numEdges; k++) {
        const s = g.edgeIndex[k]!;
        const t = g.edgeIndex[g.numEdges + k]!;
        assert.ok(s * 1000 + t > prev, 'coalesced: sorted by (source, destination)');
        prev = s * 1000 + t;
        const row = g.edgeAttr!.subarray(k * 4, k * 4 + 4);
        assert.equal(
          row.reduce((a, v) => a + v, 0),
          1,
        );
        got.set(`${s},${t}`, row.indexOf(1));
      }
      assert.deepEqual(got, want[gi]);
      for (let i = 0; i < g.numNodes; i++) {
        const row = g.x.subarray(i * 7, i * 7 + 7);
        assert.equal(row.indexOf(1), nodeLabels[first[gi]! + i], 'node labels 0..6 one-hot');
        assert.equal(
          row.reduce((a, v) => a + v, 0),
          1,
        );
      }
    }
  });

  it('small: self loops removed, duplicates summed, labels by rank, minimum subtracted, label columns', () => {
    const files: TUFiles = {
      // graph 1: nodes 1..3; graph 2: nodes 4..5
      A: '2, 1\n1, 2\n3,3\n1,2\n5, 4\n4, 5\n',
      edge_labels: '7\n8\n9\n8\n7\n7\n',
      graph_indicator: '1\n1\n1\n2\n2\n',
      graph_labels: '5\n-3\n',
      node_labels: '2,10\n4,11\n3,10\n2,10\n2,11\n',
      node_attributes: '0.5, 1e-3\n-2,3\n4,5\n6,7\n8,9\n',
    };
    const d = parseTU('T', files, { useNodeAttr: true });
    assert.deepEqual(d.classValues, [-3, 5]);
    assert.deepEqual([...d.labels], [1, 0]);
    assert.equal(d.numNodeLabels, 3 + 2);
    assert.equal(d.numFeatures, 2 + 5);
    assert.equal(d.numEdgeFeatures, 3);
    const [g0, g1] = d.graphs as [TUDataset['graphs'][0], TUDataset['graphs'][0]];
    assert.equal(g0.numNodes, 3);
    assert.deepEqual([...g0.edgeIndex], [0, 1, 1, 0], 'edges 0->1 (twice, merged) and 1->0; the loop 2->2 is gone');
    assert.deepEqual([...g0.edgeAttr!], [0, 2, 0, 1, 0, 0], 'the duplicate 0->1 sums its two one-hot labels');
    assert.deepEqual([...g0.x.subarray(0, 7)], [0.5, Math.fround(1e-3), 1, 0, 0, 1, 0]);
    assert.deepEqual([...g0.x.subarray(7, 14)], [-2, 3, 0, 0, 1, 0, 1]);
    assert.deepEqual([...g1.edgeIndex], [0, 1, 1, 0]);
    assert.deepEqual([...g1.edgeAttr!], [1, 0, 0, 1, 0, 0]);
    assert.equal(g1.y, 0);
    const noAttr = parseTU('T', files);
    assert.equal(noAttr.numFeatures, 5, 'without useNodeAttr only the one-hot labels');
    assert.deepEqual([...noAttr.graphs[0]!.x.subarray(0, 5)], [1, 0, 0, 1, 0]);
    const crlf = parseTU(
      'T',
      Object.fromEntries(Object.entries(files).map(([k, v]) => [k, (v as string).replace(/\n/g, '\r\n')])),
    );
    assert.deepEqual(crlf.graphs, noAttr.graphs, 'CRLF line endings read the same');
    const noFinalNewline = parseTU('T', { ...files, A: (files.A as string).trimEnd() });
    assert.deepEqual(noFinalNewline.graphs, noAttr.graphs);
  });

  it('reads the zip the TU collection publishes', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    const zip = zipSync({
      'Z/Z_A.txt': enc('1, 2\n2, 1\n'),
      'Z/Z_graph_indicator.txt': enc('1\n1\n'),
      'Z/Z_graph_labels.txt': enc('1\n'),
      'Z/README.txt': enc('about'),
    });
    const files = unzipTU('Z', zip);
    assert.deepEqual(Object.keys(files).sort(), ['A', 'graph_indicator', 'graph_labels']);
    assert.equal(parseTU('Z', files).numEdges, 2);
    assert.throws(() => unzipTU('Z', enc('not a zip')), /TU Z: cannot read the zip archive/);
  });
});

// ---------------------------------------------------------------------------
// bad files

const SMALL: Record<string, string> = {
  A: '1, 2\n2, 1\n2, 3\n3, 2\n4, 5\n5, 4\n',
  edge_labels: '0\n0\n1\n1\n2\n2\n',
  graph_indicator: '1\n1\n1\n2\n2\n',
  graph_labels: '1\n-1\n',
  node_labels: '0\n1\n0\n2\n0\n',
  node_attributes: '0.1\n0.2\n0.3\n0.4\n0.5\n',
};

describe('TU bad files give an error naming the file and line', () => {
  const cases: [string, Partial<Record<TUPart, string>>, RegExp][] = [
    ['truncated mid-line', { A: '1, 2\n2, 1\n2, 3\n3, 2\n4, 5\n5' }, /S_A\.txt line 6: 1 fields, but line 1 has 2/],
    [
      'a field that is not a number',
      { A: SMALL.A!.replace('2, 3', '2, x3') },
      /S_A\.txt line 3: field 2 'x3' is not an integer/,
    ],
    [
      'a real where an integer belongs',
      { graph_labels: '1\n0.5\n' },
      /S_graph_labels\.txt line 2: field 1 '0\.5' is not an integer/,
    ],
    [
      'a node id out of range',
      { A: SMALL.A!.replace('5, 4', '6, 4') },
      /S_A\.txt line 6: node id 6 is out of range 1\.\.5/,
    ],
    [
      'a 0 node id (ids are 1-based)',
      { A: SMALL.A!.replace('1, 2', '0, 2') },
      /S_A\.txt line 1: node id 0 is out of range/,
    ],
    [
      'an edge between two graphs',
      { A: SMALL.A!.replace('4, 5', '3, 5') },
      /S_A\.txt line 5: edge 3, 5 joins graph 1 and graph 2/,
    ],
    [
      'fewer node labels than nodes',
      { node_labels: '0\n1\n0\n2\n' },
      /S_node_labels\.txt: 4 lines, expected 5 \(S_graph_indicator\.txt has 5 nodes\)/,
    ],
    [
      'more edge labels than edges',
      { edge_labels: `${SMALL.edge_labels}0\n` },
      /S_edge_labels\.txt: 7 lines, expected 6/,
    ],
    [
      'a graph id beyond the graph labels',
      { graph_indicator: '1\n1\n1\n2\n3\n' },
      /S_graph_indicator\.txt line 5: graph id 3 is out of range 1\.\.2/,
    ],
    [
      'nodes of a graph not consecutive',
      { graph_indicator: '1\n2\n1\n2\n2\n' },
      /S_graph_indicator\.txt line 3: graph id 1 after 2/,
    ],
    ['an empty line', { graph_labels: '1\n\n-1\n' }, /S_graph_labels\.txt line 2: empty line/],
    [
      'a non-finite attribute',
      { node_attributes: '0.1\nnan\n0.3\n0.4\n0.5\n' },
      /S_node_attributes\.txt line 2: field 1 'nan' is not a finite number/,
    ],
    [
      'an attribute beyond float32',
      { node_attributes: '0.1\n1e39\n0.3\n0.4\n0.5\n' },
      /S_node_attributes\.txt line 2: .* not a finite number/,
    ],
    [
      'a field of 200,000 digits that is not a number (read in linear time)',
      { node_attributes: `0.1\n${'1'.repeat(200000)}x\n0.3\n0.4\n0.5\n` },
      /S_node_attributes\.txt line 2: field 1 '1{40}\.\.\.' is not a finite number/,
    ],
    [
      'attribute rows of different widths',
      { node_attributes: '0.1\n0.2,1\n0.3\n0.4\n0.5\n' },
      /S_node_attributes\.txt line 2: 2 fields, but line 1 has 1/,
    ],
    [
      'a label range too wide to one-hot',
      { node_labels: '0\n1\n0\n2\n99999999\n' },
      /S_node_labels\.txt: labels in column 1 span 0\.\.99999999/,
    ],
    ['no graphs', { graph_labels: '' }, /S_graph_labels\.txt: no graphs/],
  ];
  for (const [what, change, want] of cases) {
    it(what, () => assert.throws(() => parseTU('S', { ...SMALL, ...change }, { useNodeAttr: true }), want));
  }
  it('a missing required file, and bytes that are not text', () => {
    const { A: _, ...noA } = SMALL;
    assert.throws(() => parseTU('S', noA), /TU S: missing required file S_A\.txt/);
    assert.throws(
      () => parseTU('S', { ...SMALL, graph_labels: new Uint8Array([0x31, 0xff, 0x0a]) }),
      /S_graph_labels\.txt: not a text file/,
    );
  });
});

// ---------------------------------------------------------------------------
// random datasets and random corruptions

interface Synthetic {
  files: Record<TUPart, string>;
  graphs: { n: number; edges: [number, number, number][]; nodeLabels: number[]; y: number }[];
}

const syntheticArb: fc.Arbitrary<Synthetic> = fc
  .array(
    fc.integer({ min: 1, max: 6 }).chain((n) =>
      fc.record({
        n: fc.constant(n),
        edges: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1), fc.nat(2)), { maxLength: 10 }),
        nodeLabels: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: n, maxLength: n }),
        y: fc.integer({ min: -2, max: 2 }),
      }),
    ),
    { minLength: 1, maxLength: 6 },
  )
  .map((graphs) => {
    const lines: Record<TUPart, string[]> = Object.fromEntries(TU_PARTS.map((p) => [p, []])) as never;
    let offset = 0;
    graphs.forEach((g, gi) => {
      for (let i = 0; i < g.n; i++) {
        lines.graph_indicator.push(`${gi + 1}`);
        lines.node_labels.push(`${g.nodeLabels[i]}`);
        lines.node_attributes.push(`${(offset + i) / 8}, ${-i}`);
      }
      for (const [s, t, l] of g.edges) {
        lines.A.push(`${s + offset + 1}, ${t + offset + 1}`);
        lines.edge_labels.push(`${l}`);
        lines.edge_attributes.push(`${l * 0.25}`);
      }
      lines.graph_labels.push(`${g.y}`);
      offset += g.n;
    });
    const files = Object.fromEntries(TU_PARTS.map((p) => [p, lines[p].map((l) => `${l}\n`).join('')])) as Record<
      TUPart,
      string
    >;
    return { files, graphs };
  });

describe('TU synthetic datasets (fast-check)', () => {
  it('parse what was written: PyG semantics for random small graphs', () => {
    fc.assert(
      fc.property(syntheticArb, ({ files, graphs }) => {
        const d = parseTU('SYN', files, { useNodeAttr: true, useEdgeAttr: true });
        assert.equal(d.graphs.length, graphs.length);
        const values = [...new Set(graphs.map((g) => g.y))].sort((a, b) => a - b);
        const allNodeLabels = graphs.flatMap((g) => g.nodeLabels);
        const minLabel = Math.min(...allNodeLabels);
        const allEdgeLabels = graphs.flatMap((g) => g.edges.map((e) => e[2]));
        const minEdge = allEdgeLabels.length ? Math.min(...allEdgeLabels) : 0;
        const L = Math.max(...allNodeLabels) - minLabel + 1;
        const EL = allEdgeLabels.length ? Math.max(...allEdgeLabels) - minEdge + 1 : 0;
        assert.equal(d.numFeatures, 2 + L);
        assert.equal(d.numEdgeFeatures, allEdgeLabels.length ? 1 + EL : 0);
        graphs.forEach((g, gi) => {
          const got = d.graphs[gi]!;
          assert.equal(got.y, values.indexOf(g.y));
          assert.equal(got.numNodes, g.n);
          // Expected edges: no loops, unique (source, destination) in sorted order, features summed.
          const merged = new Map<number, number[]>();
          for (const [s, t, l] of g.edges) {
            if (s === t) continue;
            const f = merged.get(s * 8 + t) ?? new Array<number>(1 + EL).fill(0);
            f[0] += l * 0.25;
            f[1 + l - minEdge]++;
            merged.set(s * 8 + t, f);
          }
          const keys = [...merged.keys()].sort((a, b) => a - b);
          assert.equal(got.numEdges, keys.length);
          keys.forEach((key, k) => {
            assert.equal(got.edgeIndex[k], Math.floor(key / 8));
            assert.equal(got.edgeIndex[keys.length + k], key % 8);
            assert.deepEqual(
              [...got.edgeAttr!.subarray(k * (1 + EL), (k + 1) * (1 + EL))],
              merged.get(key)!.map(Math.fround),
            );
          });
          for (let i = 0; i < g.n; i++) {
            const row = got.x.subarray(i * d.numFeatures, (i + 1) * d.numFeatures);
            assert.equal(row.subarray(2).indexOf(1), g.nodeLabels[i]! - minLabel);
          }
        });
      }),
      { numRuns: 150, seed: 20261130 },
    );
  });

  type Corruption = (s: string, r: number, c: string) => string;
  const corruptions: Record<string, Corruption> = {
    truncate: (s, r) => s.slice(0, Math.floor(r * s.length)),
    replaceChar: (s, r, c) => {
      const i = Math.floor(r * s.length);
      return s.slice(0, i) + c + s.slice(i + 1);
    },
    insertChar: (s, r, c) => {
      const i = Math.floor(r * (s.length + 1));
      return s.slice(0, i) + c + s.slice(i);
    },
    dropLine: (s, r) => {
      const l = s.split('\n');
      l.splice(Math.floor(r * l.length), 1);
      return l.join('\n');
    },
    duplicateLine: (s, r) => {
      const l = s.split('\n');
      const i = Math.floor(r * l.length);
      l.splice(i, 0, l[i]!);
      return l.join('\n');
    },
    empty: () => '',
  };

  it('a corrupted file gives a result or an error naming a file of the dataset; never a crash or a hang', () => {
    const chars = fc.constantFrom(
      '',
      ',',
      '\n',
      ' ',
      '-',
      '.',
      'e',
      'x',
      '0',
      '9',
      '99999999999',
      '\r',
      '\u00e9',
      '1e40',
    );
    fc.assert(
      fc.property(
        syntheticArb,
        fc.constantFrom(...TU_PARTS),
        fc.constantFrom(...Object.keys(corruptions)),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        chars,
        fc.boolean(),
        ({ files }, part, how, r, c, asBytes) => {
          const bad: TUFiles = { ...files, [part]: corruptions[how]!(files[part], r, c) };
          if (asBytes) bad[part] = new TextEncoder().encode(bad[part] as string);
          let d: TUDataset;
          try {
            d = parseTU('SYN', bad, { useNodeAttr: true, useEdgeAttr: true });
          } catch (e) {
            assert.ok(
              e instanceof Error && /TU SYN: SYN_\w+\.txt/.test(e.message),
              `unnamed error: ${(e as Error).message}`,
            );
            return;
          }
          // Accepted: the result is consistent.
          for (const g of d.graphs) {
            assert.equal(g.x.length, g.numNodes * d.numFeatures);
            assert.equal(g.edgeIndex.length, 2 * g.numEdges);
            for (const v of g.edgeIndex) assert.ok(v >= 0 && v < g.numNodes);
            assert.ok(g.y >= 0 && g.y < d.numClasses);
            assert.ok([...g.x].every(Number.isFinite));
          }
        },
      ),
      { numRuns: 600, seed: 7 },
    );
  });
});

// ---------------------------------------------------------------------------
// the Node loader: lookup and download

describe('loadTUDataset file lookup and download', () => {
  let server: Server;
  let base = '';
  const requests: string[] = [];
  let tmp = '';
  const oldCwd = process.cwd();
  const enc = (s: string) => new TextEncoder().encode(s);
  const zip = zipSync(Object.fromEntries(Object.entries(SMALL).map(([p, v]) => [`S/S_${p}.txt`, enc(v)])));

  before(async () => {
    server = createServer((req, res) => {
      requests.push(req.url!);
      if (req.url === '/tu/S.zip') res.end(zip);
      else (res.statusCode = 404), res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    tmp = await mkdtemp(path.join(tmpdir(), 'tu-'));
    const work = path.join(tmp, 'work');
    await mkdir(work);
    process.chdir(work); // neither ./data/tu nor ../shared/datasets/tu exist here
  });
  after(async () => {
    process.chdir(oldCwd);
    server.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('lists the searched directories when files are missing and download is off', async () => {
    await assert.rejects(loadTUDataset('S', { root: tmp, download: false }), (err: Error) => {
      assert.match(err.message, /TU 'S' files not found and download is disabled/);
      assert.ok(err.message.includes(path.join(tmp, 'S', 'raw')), err.message);
      assert.match(err.message, /missing S_A\.txt, S_graph_indicator\.txt, S_graph_labels\.txt/);
      return true;
    });
  });

  it('reports a failed download with its URL', async () => {
    await assert.rejects(
      loadTUDataset('S', { baseUrl: `${base}/nope`, log: () => {} }),
      /download of http:\/\/127\.0\.0\.1:\d+\/nope\/S\.zip failed: HTTP 404/,
    );
  });

  it('downloads into ./data/tu/<NAME>/raw, logs it, then reuses the files', async () => {
    const logs: string[] = [];
    const d = await loadTUDataset('S', { baseUrl: `${base}/tu/`, log: (m) => logs.push(m) });
    assert.equal(d.graphs.length, 2);
    const dir = path.resolve('data/tu/S/raw');
    assert.deepEqual(
      (await readdir(dir)).sort(),
      Object.keys(SMALL)
        .map((p) => `S_${p}.txt`)
        .sort(),
    );
    assert.ok(
      logs.some((m) => m.includes('downloading') && m.includes(dir)),
      logs.join('\n'),
    );
    requests.length = 0;
    const again = await loadTUDataset('S', { baseUrl: `${base}/tu`, log: () => {} });
    assert.deepEqual(again.graphs, d.graphs);
    assert.deepEqual(requests, [], 'the second load uses the downloaded files');
  });
});
