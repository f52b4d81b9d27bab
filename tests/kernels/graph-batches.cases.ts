// Graph-level data in this runtime (Node or Chromium): TU files and their zip parsed without Node APIs, and batches
// formed on the GPU by the DataLoader equal to the host Batch exactly (features, labels, batch, ptr, CSR).
import { zipSync } from 'fflate';
import { Batch, type GraphSample } from '../../src/data/batch.ts';
import { DataLoader, GpuGraphDataset, type GpuBatch } from '../../src/data/loader.ts';
import { parseTU, unzipTU } from '../../src/data/tu.ts';
import { buildGraph } from '../../src/graph.ts';
import { assert, assertEqual, randomArray, randInt, rng, type KernelCase } from './harness.ts';

function randomGraphs(rand: () => number, count: number, F: number, D: number): GraphSample[] {
  return Array.from({ length: count }, () => {
    const n = randInt(rand, 0, 13);
    const e = n === 0 ? 0 : randInt(rand, 0, 31);
    return {
      numNodes: n,
      numEdges: e,
      x: randomArray(rand, n * F),
      edgeIndex: Int32Array.from({ length: 2 * e }, () => randInt(rand, 0, n)),
      edgeAttr: D > 0 ? randomArray(rand, e * D) : null,
      y: randInt(rand, 0, 3),
    };
  });
}

async function checkBatch(b: GpuBatch, graphs: GraphSample[], F: number, D: number): Promise<void> {
  const want = Batch.fromGraphs(
    Array.from(b.indices, (g) => graphs[g]!),
    { numFeatures: F, numEdgeFeatures: D },
  );
  assertEqual('x', await b.x.read(), want.x);
  if (D > 0) assertEqual('edgeAttr', await b.edgeAttr!.read(), want.edgeAttr!);
  assertEqual('y', await b.y.read(), want.y);
  assertEqual('batch', await b.batch.read(), want.batch);
  assertEqual('ptr', await b.ptr.read(), want.ptr);
  for (const loops of [true, false]) {
    const ref = buildGraph(want.edgeIndex, want.numNodes, { addSelfLoops: loops });
    const t = b.graphs.get(loops);
    for (const k of ['rowPtr', 'src', 'dst', 'colPtr', 'perm'] as const)
      assertEqual(`${k} (self loops ${loops})`, await t[k].read(), ref[k]);
    if (D > 0) assertEqual(`edgeId (self loops ${loops})`, await b.graphs.edgeId(loops).read(), ref.edgeId);
  }
}

/** NaN / 0xDEADBEEF over a batch's tensors, so that what the next batch fails to set shows. */
function poison(b: GpuBatch): void {
  const graphTensors = [true, false].flatMap((l) => {
    const g = b.graphs.get(l);
    return [g.rowPtr, g.src, g.dst, g.colPtr, g.perm, ...(b.edgeAttr ? [b.graphs.edgeId(l)] : [])];
  });
  for (const t of [b.x, b.edgeAttr, b.y, b.batch, b.ptr, ...graphTensors]) {
    if (!t) continue;
    const n = t.size;
    t.write(
      t.dtype === 'f32'
        ? new Float32Array(n).fill(NaN)
        : t.dtype === 'u32'
          ? new Uint32Array(n).fill(0xdeadbeef)
          : new Int32Array(n).fill(-1e9),
    );
  }
}

export const cases: KernelCase[] = [
  {
    name: 'TU files and their zip parse in this runtime',
    async run() {
      const enc = (s: string) => new TextEncoder().encode(s);
      const files = {
        A: '1, 2\n2, 1\n3, 4\n4, 3\n3, 3\n',
        graph_indicator: '1\n1\n2\n2\n',
        graph_labels: '-1\n1\n',
        node_labels: '1\n2\n3\n1\n',
        edge_labels: '0\n0\n1\n1\n2\n',
      };
      const zip = zipSync(Object.fromEntries(Object.entries(files).map(([p, v]) => [`T/T_${p}.txt`, enc(v)])));
      const d = parseTU('T', unzipTU('T', zip));
      assert(d.graphs.length === 2 && d.numFeatures === 3 && d.numEdgeFeatures === 3, 'counts and widths');
      assertEqual('graph 1 edges (self loop removed)', d.graphs[1]!.edgeIndex, [0, 1, 1, 0]);
      assertEqual('labels', d.labels, [0, 1]);
    },
  },
  {
    name: 'DataLoader batches equal the host Batch exactly (shuffled, partial last batch, empty graphs)',
    async run(gpu) {
      const rand = rng(77);
      for (const [F, D] of [
        [4, 2],
        [1, 0],
      ] as const) {
        const graphs = randomGraphs(rand, 23, F, D);
        const data = GpuGraphDataset.upload(gpu, { graphs, numFeatures: F, numEdgeFeatures: D });
        const loader = new DataLoader(data, { batchSize: 5, shuffle: true, seed: 3 });
        const seen: number[] = [];
        for (const b of loader) {
          await checkBatch(b, graphs, F, D);
          poison(b);
          seen.push(...b.indices);
        }
        assertEqual(
          'every graph once',
          seen.sort((a, b) => a - b),
          [...graphs.keys()],
        );
        loader.dispose();
        data.dispose();
      }
    },
  },
];
