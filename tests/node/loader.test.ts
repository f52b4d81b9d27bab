// The GPU DataLoader: every graph once per epoch, seeded orders, the last partial batch, features and structure
// formed on the GPU equal to the host Batch exactly (CSR equal to buildGraph of the batch), one submit per step,
// no buffer created after the loader is made, and a layer run on a batch equal to the same layer on the batch
// uploaded as one graph.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Gpu } from '../../src/gpu/gpu.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
import { buildGraph } from '../../src/graph.ts';
import { Batch, type GraphSample } from '../../src/data/batch.ts';
import { DataLoader, GpuGraphDataset, type GpuBatch } from '../../src/data/loader.ts';
import { loadTUDataset } from '../../src/data/tu-node.ts';
import type { TUDataset } from '../../src/data/tu.ts';
import { GATConv } from '../../src/nn/gat-conv.ts';
import { GATv2Conv } from '../../src/nn/gatv2-conv.ts';
import { GraphSet } from '../../src/nn/graphs.ts';
import { rng, randomArray } from '../kernels/harness.ts';

const TU_DIR = process.env.TU_DIR ?? fileURLToPath(new URL('../../../shared/datasets/tu/', import.meta.url));

/** Random graphs (sizes 0..12 nodes, 0..30 edges, duplicates and self loops included), F and D features. */
function randomGraphs(count: number, F: number, D: number, seed: number): GraphSample[] {
  const rand = rng(seed);
  return Array.from({ length: count }, () => {
    const n = Math.floor(rand() * 13);
    const e = n === 0 ? 0 : Math.floor(rand() * 31);
    const edgeIndex = Int32Array.from({ length: 2 * e }, () => Math.floor(rand() * n));
    return {
      numNodes: n,
      numEdges: e,
      x: randomArray(rand, n * F),
      edgeIndex,
      edgeAttr: D > 0 ? randomArray(rand, e * D) : null,
      y: Math.floor(rand() * 3),
    };
  });
}

let gpu: Gpu;
let mutag: TUDataset;
before(async () => {
  gpu = await Gpu.create();
  mutag = await loadTUDataset('MUTAG', { root: TU_DIR, download: false });
});
after(() => gpu.destroy());

/** Overwrites every tensor of a batch with NaN / 0xDEADBEEF, so that an element the next batch fails to set shows. */
function poison(b: GpuBatch): void {
  const fill = (t: Tensor) =>
    t.write(
      t.dtype === 'f32'
        ? new Float32Array(t.size).fill(NaN)
        : t.dtype === 'u32'
          ? new Uint32Array(t.size).fill(0xdeadbeef)
          : new Int32Array(t.size).fill(-559038737),
    );
  for (const t of [b.x, b.edgeAttr, b.y, b.batch, b.ptr]) if (t) fill(t);
  for (const loops of [true, false]) {
    const g = b.graphs.get(loops);
    for (const t of [g.rowPtr, g.src, g.dst, g.colPtr, g.perm, g.edgeId]) fill(t);
  }
}

/** Reads every tensor of a GPU batch and compares it with the host Batch of the same graphs, exactly. */
async function expectBatch(b: GpuBatch, graphs: readonly GraphSample[], F: number, D: number): Promise<void> {
  const want = Batch.fromGraphs(
    Array.from(b.indices, (g) => graphs[g]!),
    { numFeatures: F, numEdgeFeatures: D },
  );
  assert.equal(b.numNodes, want.numNodes);
  assert.equal(b.numEdges, want.numEdges);
  assert.deepEqual(await b.x.read(), want.x, 'x gathered on the GPU');
  if (D > 0) assert.deepEqual(await b.edgeAttr!.read(), want.edgeAttr);
  else assert.equal(b.edgeAttr, null);
  assert.deepEqual(await b.y.read(), want.y);
  assert.deepEqual(await b.batch.read(), Uint32Array.from(want.batch));
  assert.deepEqual(await b.ptr.read(), Uint32Array.from(want.ptr));
  assert.deepEqual(b.host.edgeIndex, want.edgeIndex);
  for (const loops of [true, false]) {
    const ref = buildGraph(want.edgeIndex, want.numNodes, { addSelfLoops: loops });
    assert.deepEqual(b.graphs.hostGraph(loops), ref, 'the concatenated CSR equals buildGraph of the batch');
    const t = b.graphs.get(loops);
    assert.equal(t.numEdges, ref.numEdges);
    assert.equal(t.numInputEdges, want.numEdges, 'edge_attr rows of the batch');
    for (const k of ['rowPtr', 'src', 'dst', 'colPtr', 'perm', 'edgeId'] as const)
      assert.deepEqual(await t[k].read(), ref[k], k);
  }
}

describe('DataLoader', () => {
  it('every graph exactly once per epoch; seeded orders; the last partial batch kept, or dropped', () => {
    const data = GpuGraphDataset.upload(gpu, mutag);
    const make = (o: ConstructorParameters<typeof DataLoader>[1]) => new DataLoader(data, { batchSize: 32, ...o });
    const a = make({ shuffle: true, seed: 1 });
    const sizes: number[][] = [];
    const orders: number[][] = [];
    for (let epoch = 0; epoch < 3; epoch++) {
      const seen: number[] = [];
      const s: number[] = [];
      for (const b of a) seen.push(...b.indices), s.push(b.numGraphs);
      assert.deepEqual(
        [...seen].sort((x, y) => x - y),
        [...mutag.graphs.keys()],
        'each graph once',
      );
      assert.deepEqual(seen, [...a.order(epoch)]);
      sizes.push(s);
      orders.push(seen);
    }
    assert.deepEqual(sizes[0], [32, 32, 32, 32, 32, 28], '188 = 5 x 32 + 28: the partial batch is kept');
    assert.notDeepEqual(orders[0], orders[1], 'a new order each epoch');
    assert.deepEqual([...make({ shuffle: true, seed: 1 }).order(2)], orders[2], 'the same seed gives the same order');
    assert.notDeepEqual([...make({ shuffle: true, seed: 2 }).order(0)], orders[0], 'another seed, another order');
    assert.deepEqual([...make({}).order(5)], [...mutag.graphs.keys()], 'no shuffle: dataset order');
    const dropped = make({ shuffle: true, dropLast: true });
    assert.equal(dropped.numBatches, 5);
    assert.deepEqual(
      [...dropped].map((b) => b.numGraphs),
      [32, 32, 32, 32, 32],
    );
    const fold = make({ indices: [5, 3, 100, 7], batchSize: 3 });
    assert.deepEqual(
      [...fold].map((b) => [...b.indices]),
      [[5, 3, 100], [7]],
      'a subset, in its order',
    );
    for (const l of [a, dropped, fold]) l.dispose();
    data.dispose();
  });

  it('MUTAG batches on the GPU equal the host Batch exactly (x, edgeAttr, y, batch, ptr, CSR)', async () => {
    const data = GpuGraphDataset.upload(gpu, mutag);
    const loader = new DataLoader(data, { batchSize: 32, shuffle: true, seed: 3 });
    // Fill the buffers to capacity once and poison them, then poison each batch before the next.
    const bySize = (key: 'numNodes' | 'numEdges') =>
      [...mutag.graphs.keys()].sort((p, q) => mutag.graphs[q]![key] - mutag.graphs[p]![key]).slice(0, 32);
    for (const key of ['numNodes', 'numEdges'] as const) poison(loader.form(bySize(key)));
    for (const b of loader) {
      await expectBatch(b, mutag.graphs, 7, 4);
      poison(b);
    }
    const ordered = new DataLoader(data, { batchSize: 50 });
    for (const b of ordered) await expectBatch(b, mutag.graphs, 7, 4);
    loader.dispose();
    ordered.dispose();
    data.dispose();
  });

  it('random graphs (empty, duplicate edges, self loops, no edge features) equal the host Batch', async () => {
    for (const [F, D, seed] of [
      [5, 3, 1],
      [1, 0, 2],
    ] as const) {
      const graphs = randomGraphs(41, F, D, seed);
      const data = GpuGraphDataset.upload(gpu, { graphs, numFeatures: F, numEdgeFeatures: D });
      const loader = new DataLoader(data, { batchSize: 8, shuffle: true, seed });
      for (const b of loader) {
        await expectBatch(b, graphs, F, D);
        poison(b);
      }
      loader.dispose();
      data.dispose();
    }
  });

  it('one submit per training step, no hidden flushes; no buffer created after the loader is made', async () => {
    const data = GpuGraphDataset.upload(gpu, mutag);
    const loader = new DataLoader(data, { batchSize: 32, shuffle: true, seed: 4 });
    const sink = gpu.empty('f32', [loader.maxNodes * 7]);
    await gpu.sync();
    const created = gpu.pool.created;
    for (let epoch = 0; epoch < 3; epoch++) {
      for (const b of loader) {
        const before = gpu.submitCount;
        gpu.copy(b.x, sink); // stands in for the step's dispatches
        gpu.flush();
        assert.equal(gpu.submitCount - before, 1, 'forming a batch and its step is one submit');
      }
    }
    assert.equal(gpu.pool.created, created, 'no buffer created after the loader was made');
    sink.dispose();
    loader.dispose();
    data.dispose();
  });

  it('a GATv2Conv on a batch gives exactly what it gives on the batch uploaded as one graph', async () => {
    const data = GpuGraphDataset.upload(gpu, mutag);
    const loader = new DataLoader(data, { batchSize: 16, shuffle: true, seed: 5 });
    const conv = new GATv2Conv(7, 4, { heads: 2 }).init(gpu, { seed: 9 }).eval();
    let count = 0;
    for (const b of loader) {
      if (count++ === 2) break;
      const got = await conv.forward(b.x, b.graphs).read();
      const host = Batch.fromGraphs(Array.from(b.indices, (g) => mutag.graphs[g]!));
      const whole = new GraphSet(gpu, host.edgeIndex, host.numNodes);
      const x = gpu.tensor('f32', [host.numNodes, 7], host.x);
      const want = await conv.forward(x, whole).read();
      assert.deepEqual(got, want);
      whole.dispose();
      x.dispose();
    }
    conv.dispose();
    loader.dispose();
    data.dispose();
  });

  it(
    'with edge features (batch-global edge ids): ' + 'GATv2Conv and GATConv on a batch equal them on the whole',
    async () => {
      const data = GpuGraphDataset.upload(gpu, mutag);
      const loader = new DataLoader(data, { batchSize: 8, shuffle: true, seed: 6 });
      const convs = [
        new GATv2Conv(7, 4, { heads: 2, edgeDim: 4 }).init(gpu, { seed: 10 }).eval(),
        new GATConv(7, 3, { heads: 2, edgeDim: 4, fillValue: 'max' }).init(gpu, { seed: 11 }).eval(),
      ];
      let count = 0;
      for (const b of loader) {
        if (count++ === 2) break;
        const host = Batch.fromGraphs(
          Array.from(b.indices, (g) => mutag.graphs[g]!),
          {
            numFeatures: 7,
            numEdgeFeatures: 4,
          },
        );
        const whole = new GraphSet(gpu, host.edgeIndex, host.numNodes);
        const x = gpu.tensor('f32', [host.numNodes, 7], host.x);
        const attr = gpu.tensor('f32', [host.numEdges, 4], host.edgeAttr!);
        for (const conv of convs) {
          const got = await conv.forward(b.x, b.graphs, b.edgeAttr!).read();
          assert.deepEqual(got, await conv.forward(x, whole, attr).read(), conv.constructor.name);
        }
        whole.dispose();
        x.dispose();
        attr.dispose();
      }
      for (const conv of convs) conv.dispose();
      loader.dispose();
      data.dispose();
    },
  );

  it('rejects bad options and graphs by name, holding no GPU memory after a refusal', () => {
    const inUse = gpu.pool.bytesInUse;
    const data = GpuGraphDataset.upload(gpu, mutag);
    const withData = gpu.pool.bytesInUse;
    assert.throws(() => new DataLoader(data, { batchSize: 0 }), /batchSize must be a positive integer, got 0/);
    assert.throws(
      () => new DataLoader(data, { indices: [0, 188] }),
      /indices\[1\] = 188 is not a graph index 0\.\.187/,
    );
    assert.throws(() => new DataLoader(data, { indices: [4, 4] }), /indices\[1\] = 4 appears twice/);
    assert.equal(gpu.pool.bytesInUse, withData, 'refused loaders hold nothing');
    const l = new DataLoader(data, { batchSize: 2, indices: [0, 1], selfLoops: [true] });
    assert.throws(() => l.form([0, 1, 2]), /A batch holds 1\.\.2 graphs, got 3/);
    assert.throws(() => l.form([0]).graphs.get(false), /prepares no graph without self loops/);
    const first = l.form([0]);
    l.form([1]);
    assert.throws(() => first.graphs.get(true), /Use of a batch after the loader formed the next one/);
    l.dispose();
    data.dispose();
    const g: GraphSample[] = [2, 3].map((n) => ({
      numNodes: n,
      numEdges: 1,
      x: new Float32Array(2 * n),
      edgeIndex: Int32Array.from([0, 1]),
      edgeAttr: null,
      y: 0,
    }));
    assert.throws(
      () => GpuGraphDataset.upload(gpu, { graphs: g, numFeatures: 3, numEdgeFeatures: 0 }),
      /graph 0: x has \d+ values, expected \d+ x 3 features/,
    );
    g[1]!.x[0] = NaN;
    assert.throws(
      () => GpuGraphDataset.upload(gpu, { graphs: g, numFeatures: 2, numEdgeFeatures: 0 }),
      /graph 1: x holds NaN/,
    );
    assert.throws(() => GpuGraphDataset.upload(gpu, { ...mutag, numClasses: 1 }), /y 1 is outside 0\.\.0/);
    const [a, b] = [gpu.empty('f32', [8]), gpu.empty('f32', [4])];
    assert.throws(() => gpu.copy(a, b, 0, 5, 4), /copy: 4 values from 5 are outside a tensor of 8/);
    assert.throws(() => gpu.copy(a, b, 1, 0, 4), /copy: 4 values do not fit at 1 in a tensor of 4/);
    assert.throws(() => gpu.copy(a, b, 0, -1, 1), /copy: srcOffset must be a non-negative integer, got -1/);
    a.dispose();
    b.dispose();
    assert.equal(gpu.pool.bytesInUse, inUse, 'refused uploads hold nothing; disposed loaders and datasets neither');
  });
});
