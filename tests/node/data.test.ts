// Data (one graph on the host, PyG's Data): every accepted form of each array, random good graphs, random bad
// inputs each refused with an error naming the array, and data.to(gpu) with nothing leaked when it is refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Data, type DataInit } from '../../src/data/data.ts';
import { Gpu } from '../../src/gpu/gpu.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
import type { SparseRows } from '../../src/kernels/spmm.ts';

let gpu: Gpu;
before(async () => {
  gpu = await Gpu.create();
});
after(() => gpu.destroy());

/** A random valid graph: dense or sparse x, class labels or float targets, masks or index lists, edge attributes. */
const goodInit = fc
  .record({
    n: fc.integer({ min: 1, max: 12 }),
    f: fc.integer({ min: 1, max: 5 }),
    e: fc.integer({ min: 0, max: 30 }),
    sparse: fc.boolean(),
    floatY: fc.boolean(),
    byIndex: fc.boolean(),
    edgeForm: fc.constantFrom('flat32', 'flatU32', 'flat64', 'rows', 'typedRows'),
    d: fc.integer({ min: 0, max: 3 }),
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
  })
  .map((p) => {
    let s = p.seed;
    const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const int = (k: number) => Math.floor(rnd() * k);
    const src = Array.from({ length: p.e }, () => int(p.n));
    const dst = Array.from({ length: p.e }, () => int(p.n));
    const dense = Float32Array.from({ length: p.n * p.f }, () => (rnd() < 0.5 ? 0 : rnd() - 0.5));
    const x = p.sparse ? toCsr(dense, p.n, p.f) : dense;
    const edgeIndex =
      p.edgeForm === 'flat32'
        ? Int32Array.from([...src, ...dst])
        : p.edgeForm === 'flatU32'
          ? Uint32Array.from([...src, ...dst])
          : p.edgeForm === 'flat64'
            ? BigInt64Array.from([...src, ...dst].map(BigInt))
            : p.edgeForm === 'rows'
              ? ([src, dst] as [number[], number[]])
              : ([Int32Array.from(src), Int32Array.from(dst)] as [Int32Array, Int32Array]);
    const masks = ['train', 'val', 'test'].map(() => Uint8Array.from({ length: p.n }, () => (rnd() < 0.4 ? 1 : 0)));
    const init: DataInit = {
      x,
      numFeatures: p.f,
      edgeIndex,
      y: p.floatY ? Float32Array.from({ length: p.n * 2 }, rnd) : Int32Array.from({ length: p.n }, () => int(3)),
    };
    if (!p.floatY) init.numClasses = 3;
    const splits = ['train', 'val', 'test'] as const;
    splits.forEach((split, k) => {
      if (p.byIndex) init[`${split}Index`] = [...masks[k].keys()].filter((i) => masks[k][i]);
      else init[`${split}Mask`] = masks[k];
    });
    if (p.d > 0) (init.edgeAttr = Float32Array.from({ length: p.e * p.d }, rnd)), (init.edgeDim = p.d);
    return { p, init, src, dst, dense, masks };
  });

function toCsr(dense: Float32Array, n: number, f: number): SparseRows {
  const rowPtr = new Uint32Array(n + 1);
  const cols: number[] = [],
    vals: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) if (dense[i * f + j] !== 0) cols.push(j), vals.push(dense[i * f + j]);
    rowPtr[i + 1] = cols.length;
  }
  return { rows: n, cols: f, rowPtr, colIdx: Uint32Array.from(cols), values: Float32Array.from(vals) };
}

test('random good graphs: every form of each array gives the same Data', () => {
  fc.assert(
    fc.property(goodInit, ({ p, init, src, dst, masks }) => {
      const data = new Data(init);
      assert.equal(data.numNodes, p.n);
      assert.equal(data.numFeatures, p.f);
      assert.equal(data.numEdges, p.e);
      assert.deepEqual([...data.edgeIndex], [...src, ...dst]);
      assert.deepEqual([...data.trainMask], [...masks[0]]);
      assert.deepEqual([...data.testMask], [...masks[2]]);
      assert.equal(data.numClasses, p.floatY ? 2 : 3);
      assert.equal(data.edgeDim, p.d);
    }),
    { numRuns: 200 },
  );
});

test('the node count and feature width follow from the arrays when not given', () => {
  const x = new Float32Array(12);
  assert.equal(new Data({ x, numFeatures: 3, edgeIndex: [] }).numNodes, 4);
  assert.equal(new Data({ x, numNodes: 6, edgeIndex: [] }).numFeatures, 2);
  const d = new Data({
    x,
    numFeatures: 4,
    edgeIndex: [
      [0, 1],
      [1, 2],
    ],
    y: Int32Array.from([0, 4, 1]),
    trainMask: [true, false, true],
  });
  assert.equal(d.numClasses, 5);
  assert.deepEqual([...d.trainMask], [1, 0, 1]);
  assert.deepEqual([...d.valMask], [0, 0, 0], 'a split that is not given is empty');
});

/** One way to break a good input, and the error it must give. */
type Breakage = { name: string; apply: (init: DataInit, n: number, e: number) => void; error: RegExp };
const BREAKAGES: Breakage[] = [
  { name: 'x missing', apply: (i) => delete (i as Partial<DataInit>).x, error: /Data: x \(node features\) is missing/ },
  {
    name: 'edgeIndex missing',
    apply: (i) => delete (i as Partial<DataInit>).edgeIndex,
    error: /Data: edgeIndex is missing/,
  },
  {
    name: 'x plain array NaN',
    apply: (i, n) => ((i.x = Array.from({ length: n }, () => NaN)), (i.numFeatures = 1)),
    error: /Data: NaN or infinite value in x at node 0, feature 0: NaN is not a finite number/,
  },
  {
    name: 'x beyond float32',
    apply: (i, n) => ((i.x = new Float64Array(n).fill(1e39)), (i.numFeatures = 1)),
    error: /Data: NaN or infinite value in x at node 0, feature 0: 1e\+39 is beyond the float32 range/,
  },
  {
    name: 'y plain array not integer',
    apply: (i, n) => (i.y = Array.from({ length: n }, () => 2.5)),
    error: /Data: y: 2\.5 at node 0 is not an integer class/,
  },
  {
    name: 'x wrong type',
    apply: (i) => (i.x = new Int32Array(4) as unknown as Float32Array),
    error: /Data: x must be a Float32Array/,
  },
  {
    name: 'x NaN',
    apply: (i, n) => ((i.x = new Float32Array(n * 2)), (i.x[n * 2 - 1] = NaN), (i.numFeatures = 2)),
    error: /Data: NaN or infinite value in x at node \d+, feature 1: NaN is not a finite number/,
  },
  {
    name: 'x wrong length',
    apply: (i, n) => ((i.x = new Float32Array(n * 2 + 1)), (i.numFeatures = 2), (i.numNodes = n)),
    error: /Data: x has \d+ values, expected numNodes x numFeatures/,
  },
  {
    name: 'dense x without numFeatures',
    apply: (i, n) => ((i.x = new Float32Array(n)), delete i.numFeatures),
    error: /give numFeatures/,
  },
  {
    name: 'edge out of range',
    apply: (i, n) => (i.edgeIndex = [[0], [n]]),
    error: /edge_index destination index \d+ at edge 0 is out of range/,
  },
  {
    name: 'edge negative',
    apply: (i) => (i.edgeIndex = Int32Array.from([-1, 0])),
    error: /edge_index source index -1 at edge 0 is negative/,
  },
  {
    name: 'edge int64 beyond 2^53',
    apply: (i) => (i.edgeIndex = BigInt64Array.from([0n, 2n ** 60n])),
    error: /edge_index destination index 1152921504606846976 at edge 0 is out of range/,
  },
  {
    name: 'edge [E, 2] layout',
    apply: (i) =>
      (i.edgeIndex = [
        [0, 0],
        [0, 0],
        [0, 0],
      ] as unknown as [number[], number[]]),
    error: /Data: edge_index .*looks like .*transpose it/,
  },
  {
    name: 'edge rows of different length',
    apply: (i) => (i.edgeIndex = [[0, 0], [0]]),
    error: /two rows have 2 and 1 entries/,
  },
  {
    name: 'edge odd flat length',
    apply: (i) => (i.edgeIndex = Int32Array.from([0, 0, 0])),
    error: /edge_index has the wrong shape/,
  },
  {
    name: 'edge wrong type',
    apply: (i) => (i.edgeIndex = 'abc' as unknown as Int32Array),
    error: /Data: edge_index .*(wrong type|must be an array).*string/,
  },
  {
    name: 'edge not an integer',
    apply: (i) => (i.edgeIndex = [0.5, 0]),
    error: /edge_index source index 0.5 at edge 0 is not an integer/,
  },
  {
    name: 'y wrong length',
    apply: (i, n) => (i.y = new Int32Array(n + 1)),
    error: /Data: y has \d+ labels for \d+ nodes/,
  },
  {
    name: 'y label out of range',
    apply: (i, n) => ((i.y = new Int32Array(n)), (i.y[n - 1] = 7), (i.numClasses = 3)),
    error: /y: label 7 at node \d+ is out of range for 3 classes/,
  },
  {
    name: 'y negative',
    apply: (i, n) => ((i.y = new Int32Array(n)), (i.y[0] = -1)),
    error: /y: label -1 at node 0 is negative/,
  },
  {
    name: 'y float NaN',
    apply: (i, n) => ((i.y = new Float32Array(n)), (i.y[0] = Infinity), delete i.numClasses),
    error: /Data: y: value Infinity at node 0, target 0 is not a finite number/,
  },
  {
    name: 'y float wrong shape',
    apply: (i, n) => ((i.y = new Float32Array(n > 1 ? n + 1 : 0)), delete i.numClasses),
    error: /float targets are \[numNodes, T\]/,
  },
  {
    name: 'y wrong type',
    apply: (i, n) => (i.y = new Uint8Array(n) as unknown as Int32Array),
    error: /Data: y must be an Int32Array/,
  },
  {
    name: 'mask wrong length',
    apply: (i, n) => ((i.trainMask = new Uint8Array(n + 2)), delete i.trainIndex),
    error: /Data: trainMask has \d+ entries for \d+ nodes/,
  },
  {
    name: 'mask holds 2',
    apply: (i, n) => ((i.valMask = new Uint8Array(n)), (i.valMask[n - 1] = 2), delete i.valIndex),
    error: /Data: valMask holds 2 at node \d+: a mask holds 0 or 1/,
  },
  {
    name: 'mask wrong type',
    apply: (i, n) => ((i.testMask = new Int32Array(n) as unknown as Uint8Array), delete i.testIndex),
    error: /Data: testMask must be a Uint8Array/,
  },
  {
    name: 'mask and index',
    apply: (i, n) => ((i.trainMask = new Uint8Array(n)), (i.trainIndex = [0])),
    error: /give trainMask or trainIndex, not both/,
  },
  {
    name: 'index out of range',
    apply: (i, n) => ((i.valIndex = [0, n]), delete i.valMask),
    error: /Data: valIndex\[1\] = \d+ is not a node index/,
  },
  {
    name: 'edgeAttr wrong length',
    apply: (i, _n, e) => ((i.edgeAttr = new Float32Array(e * 2 + 1)), (i.edgeDim = 2)),
    error: /Data: edgeAttr has \d+ values, expected E x D/,
  },
  {
    name: 'edgeAttr NaN',
    apply: (i, _n, _e) => ((i.edgeIndex = [[0], [0]]), (i.edgeAttr = Float32Array.of(1, NaN)), delete i.edgeDim),
    error: /Data: edgeAttr: value NaN at edge 0, column 1 is not a finite number/,
  },
  {
    name: 'snake_case key',
    apply: (i) => ((i as unknown as Record<string, unknown>).train_mask = new Uint8Array(1)),
    error: /unknown key 'train_mask' \(did you mean trainMask\?\)/,
  },
  {
    name: 'sparse x broken',
    apply: (i, n) =>
      (i.x = {
        rows: n,
        cols: 2,
        rowPtr: new Uint32Array(n + 1),
        colIdx: Uint32Array.of(5),
        values: Float32Array.of(1),
      }),
    error: /Data: x \(sparse\)/,
  },
];

test('random bad inputs: each refused with an error naming the array and the problem', () => {
  fc.assert(
    fc.property(goodInit, fc.constantFrom(...BREAKAGES), ({ p, init: good }, b) => {
      const init = { ...good }; // fast-check may hand the same value to several runs while shrinking
      b.apply(init, p.n, p.e);
      assert.throws(() => new Data(init), b.error, b.name);
    }),
    { numRuns: 300 },
  );
});

test('data.to(gpu) uploads every array as given', async () => {
  const x = Float32Array.from({ length: 5 * 3 }, (_, i) => i / 7);
  const data = new Data({
    x,
    numFeatures: 3,
    edgeIndex: [
      [0, 1, 4],
      [1, 2, 0],
    ],
    y: Int32Array.of(0, 1, 2, 1, 0),
    trainIndex: [0, 3],
    valMask: [false, true, false, false, false],
    edgeAttr: Float32Array.of(1, 2, 3, 4, 5, 6),
  });
  const b = data.to(gpu);
  try {
    assert.equal(b.x.kind, 'dense');
    assert.deepEqual(await (b.x as { x: Tensor }).x.read(), x);
    assert.deepEqual([...(await b.y!.read())], [0, 1, 2, 1, 0]);
    assert.deepEqual([...(await b.trainMask.read())], [1, 0, 0, 1, 0]);
    assert.deepEqual([...(await b.valMask.read())], [0, 1, 0, 0, 0]);
    assert.deepEqual(b.counts, { train: 2, val: 1, test: 0 });
    assert.deepEqual([...(await b.edgeAttr!.read())], [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(b.edgeAttr!.shape, [3, 2]);
    assert.equal(b.graph.get(true).numEdges, 3 + 5);
  } finally {
    b.dispose();
  }
});

test('data.to(gpu) refused at any allocation frees everything made before it', () => {
  const data = new Data({
    x: toCsr(Float32Array.of(1, 0, 0, 2, 3, 0), 3, 2),
    edgeIndex: [[0], [2]],
    y: Float32Array.of(1, 0, 1),
    trainMask: [true, true, false],
    edgeAttr: Float32Array.of(0.5),
  });
  const real = gpu.tensor.bind(gpu);
  let total = 0;
  gpu.tensor = ((...args: Parameters<Gpu['tensor']>) => (total++, real(...args))) as Gpu['tensor'];
  data.to(gpu).dispose();
  gpu.tensor = real;
  assert.ok(total >= 8);
  for (let failAt = 0; failAt < total; failAt++) {
    const made: Tensor[] = [];
    let calls = 0;
    gpu.tensor = ((...args: Parameters<Gpu['tensor']>) => {
      if (calls++ === failAt) throw new Error('out of memory (simulated)');
      const t = real(...args);
      made.push(t);
      return t;
    }) as Gpu['tensor'];
    try {
      assert.throws(() => data.to(gpu), /out of memory \(simulated\)/);
    } finally {
      gpu.tensor = real;
    }
    assert.equal(made.length, failAt);
    assert.ok(
      made.every((t) => t.isDisposed),
      `refused at allocation ${failAt}: every tensor made before is freed`,
    );
  }
});

test('withSparseX keeps every value and array, with x as CSR rows', () => {
  fc.assert(
    fc.property(goodInit, ({ p, init, dense }) => {
      if (p.sparse) return;
      const d = new Data(init);
      const s = d.withSparseX();
      assert.deepEqual(s.x, toCsr(dense, p.n, p.f));
      assert.deepEqual(s.edgeIndex, d.edgeIndex);
      assert.deepEqual(
        [s.y, s.numClasses, s.masks, s.edgeAttr, s.edgeDim],
        [d.y, d.numClasses, d.masks, d.edgeAttr, d.edgeDim],
      );
      assert.equal(s.withSparseX(), s);
    }),
    { numRuns: 100 },
  );
});

test("plain arrays for x and y are converted; errors can name a loader's source and keys", () => {
  const d = new Data({ x: [1, 2, 3, 4], numFeatures: 2, edgeIndex: [[0], [1]], y: [1, 0] });
  assert.deepEqual(d.x, Float32Array.of(1, 2, 3, 4));
  assert.deepEqual(d.y, Int32Array.of(1, 0));
  assert.throws(
    () =>
      new Data(
        { x: [1, 2], numFeatures: 1, edgeIndex: [], trainMask: Uint8Array.of(1, 5) },
        { source: 'g.npz', names: { trainMask: 'train_mask', trainIndex: 'train_index' } },
      ),
    /^Error: g\.npz: train_mask holds 5 at node 1: a mask holds 0 or 1 \(node indices go in train_index\)/,
  );
});

test('a Data without y uploads; reading its y says so', () => {
  const b = new Data({
    x: [1, 2, 3],
    numFeatures: 1,
    edgeIndex: [
      [0, 1],
      [1, 2],
    ],
  }).to(gpu);
  try {
    assert.equal(b.hasY, false);
    assert.throws(() => b.y, /Data: this graph has no y/);
    assert.throws(() => b.labels, /Data: this graph has no y/);
  } finally {
    b.dispose();
  }
});
