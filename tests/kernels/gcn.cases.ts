// gcnNorm (PyG's gcn_norm on the host) and the GCNConv layer on the GPU against the float64 reference
// (tests/reference/gcn.ts), whose own gradients are checked here by finite differences.
import fc from 'fast-check';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { gcnNorm, type Graph } from '../../src/graph.ts';
import { fill } from '../../src/kernels/elementwise.ts';
import { uploadSparse, uploadSparseTranspose, type SparseRows } from '../../src/kernels/spmm.ts';
import { GCNConv, type GCNConvOptions, type GcnGraphs } from '../../src/nn/gcn-conv.ts';
import { GraphSet } from '../../src/nn/graphs.ts';
import { Sequential } from '../../src/nn/sequential.ts';
import type { ParameterStore } from '../../src/nn/params.ts';
import { Variable } from '../../src/nn/tape.ts';
import { checkVjp } from '../reference/fd.ts';
import * as ref from '../reference/gcn.ts';
import { toDense, transposeDense } from '../reference/spmm.ts';
import {
  assert,
  assertBitIdentical,
  assertClose,
  assertEqual,
  assertThrows,
  randInt,
  randomArray,
  randomEdges,
  repeat,
  rng,
  type KernelCase,
} from './harness.ts';

const CASES = 20;

/** Random edges among n nodes with extra self loops (some repeated) and some nodes left isolated. */
function randomGraph(rand: () => number, n: number): [number[], number[]] {
  const [s, d] = randomEdges(rand, n, n === 0 ? 0 : randInt(rand, 0, 4 * n));
  for (let k = 0; k < randInt(rand, 0, 3) && n > 0; k++) {
    const i = randInt(rand, 0, n);
    s.push(i, i), d.push(i, i);
  }
  return [s, d];
}

function randomNormOptions(rand: () => number, edges: number) {
  return {
    addSelfLoops: rand() < 0.7,
    improved: rand() < 0.3,
    normalize: rand() < 0.8,
    edgeWeight: rand() < 0.4 ? Array.from({ length: edges }, () => 0.1 + 2 * rand()) : undefined,
  };
}

/** A layer with its own parameters (random values, biases included, so that every path is exercised). */
function makeLayer(gpu: Gpu, rand: () => number, fin: number, c: number, opts: GCNConvOptions) {
  const conv = new GCNConv(fin, c, opts).init(gpu, { seed: randInt(rand, 0, 1000) });
  const store = conv.parameterStore;
  for (const slot of store.slots) store.write(slot.name, randomArray(rand, slot.size));
  return { conv, store };
}

/** Dense node features as the model's input, with a gradient. */
function leaf(gpu: Gpu, n: number, f: number, x: Float32Array): Variable {
  return Variable.leaf(gpu.tensor('f32', [n, f], x), { requiresGrad: true });
}

async function readParams(store: ParameterStore, which: 'values' | 'grads' = 'values') {
  const all = await store.readAll(which);
  return { w: all.get('lin.weight')!, b: all.get('bias') ?? null };
}

/** One layer on a random graph and dense input: output, parameter gradients and the input gradient. */
async function checkLayer(gpu: Gpu, rand: () => number, i: number): Promise<void> {
  const n = i === 0 ? 1 : randInt(rand, 1, 60),
    fin = randInt(rand, 1, 12);
  // Multiples of 4 take SpMM's vec4 path; 33 spreads a row over several threads. (Few widths: each new shape
  // compiles new pipelines, which dominates the time on the CPU driver.)
  const c = i === 2 ? 33 : [3, 8][i % 2];
  const [s, d] = i === 1 ? [[], []] : randomGraph(rand, n);
  const opts: GCNConvOptions = {
    addSelfLoops: rand() < 0.8,
    improved: rand() < 0.3,
    normalize: rand() < 0.8,
    bias: rand() < 0.8,
    cached: rand() < 0.5,
  };
  const { conv, store } = makeLayer(gpu, rand, fin, c, opts);
  const graphs = new GraphSet(gpu, [s, d], n);
  // A first forward on other values: an element the second forward fails to write would keep a stale value.
  conv.forward(leaf(gpu, n, fin, randomArray(rand, n * fin)), graphs);
  const x = randomArray(rand, n * fin);
  const input = leaf(gpu, n, fin, x);
  const out = conv.forward(input, graphs);
  const dout = randomArray(rand, n * c);
  fill(gpu, store.grads, NaN);
  out.backward(gpu.tensor('f32', [n, c], dout));
  const dx = input.grad!;

  const a = ref.gcnNormDense(s, d, n, {
    addSelfLoops: !!opts.addSelfLoops,
    improved: !!opts.improved,
    normalize: !!opts.normalize,
  });
  const { w, b } = await readParams(store);
  const shape = { n, fin, c };
  assertClose('output', await out.read(), ref.gcnForward(a, x, w, b, shape), 1e-5);
  const want = ref.gcnBackward(a, x, w, dout, shape);
  const got = await readParams(store, 'grads');
  assertClose('d lin.weight', got.w, want.dw, 1e-5);
  if (opts.bias) assertClose('d bias', got.b!, want.db, 1e-5);
  assertClose('d x', await dx.read(), want.dx, 1e-5);
  conv.dispose();
  input.dispose();
  graphs.dispose();
}

/** A GraphSet that counts how often its host graph is asked for (that is, how often A_hat is built). */
function countingGraphs(
  gpu: Gpu,
  edges: [number[], number[]],
  n: number,
): { graphs: GcnGraphs; builds: () => number; dispose(): void } {
  const set = new GraphSet(gpu, edges, n);
  let count = 0;
  const graphs: GcnGraphs = {
    get: (loops: boolean) => set.get(loops),
    hostGraph: (loops: false): Graph => (count++, set.hostGraph(loops)),
  };
  return { graphs, builds: () => count, dispose: () => set.dispose() };
}

export const cases: KernelCase[] = [
  {
    name: "gcnNorm matches PyG's gcn_norm (float64): duplicates, self loops, isolated nodes, weights, every option",
    async run() {
      await repeat(CASES * 2, 51, async (rand, i) => {
        const n = i === 0 ? 0 : randInt(rand, 1, 40);
        const [s, d] = randomGraph(rand, n);
        const o = randomNormOptions(rand, s.length);
        const { matrix, transpose } = gcnNorm([s, d], n, o);
        const want = ref.gcnNormDense(s, d, n, o);
        assertClose('A_hat', toDense(matrix), want, 1e-6);
        assertClose('A_hat^T', toDense(transpose), transposeDense(want, n, n), 1e-6);
        const loops = o.normalize && o.addSelfLoops;
        const kept = s.filter((v, k) => !loops || v !== d[k]).length;
        assertEqual('nonzeros', [matrix.colIdx.length], [kept + (loops ? n : 0)]);
        // Row i lists the edges into i in edge_index order, the added self loop last.
        for (let r = 0; r < n; r++) {
          const expected = s.filter((v, k) => d[k] === r && (!loops || v !== r));
          if (loops) expected.push(r);
          assertEqual(`row ${r} sources`, matrix.colIdx.slice(matrix.rowPtr[r], matrix.rowPtr[r + 1]), expected);
        }
        const again = gcnNorm([s, d], n, o);
        assertBitIdentical('deterministic', again.matrix.values, matrix.values);
      });
    },
  },
  {
    name: 'gcnNorm on a hand-computed graph: self loops replaced, deg^-1/2 on both sides, weighted loops kept',
    async run() {
      // Path 0 - 1 - 2 (both directions) with the self loop 1 -> 1 twice. Loops replaced: in-degrees 2, 3, 2.
      const s = [0, 1, 1, 2, 1, 1],
        d = [1, 0, 2, 1, 1, 1];
      const { matrix } = gcnNorm([s, d], 3);
      const r6 = 1 / Math.sqrt(6);
      assertEqual('rowPtr', matrix.rowPtr, [0, 2, 5, 7]);
      assertEqual('colIdx', matrix.colIdx, [1, 0, 0, 2, 1, 1, 2]);
      assertEqual('values', matrix.values, Float32Array.of(r6, 1 / 2, r6, r6, 1 / 3, r6, 1 / 2));
      // With weights, node 1's loop keeps the weight of its last existing loop (7): deg 1 = 1 + 1 + 7 = 9.
      const w = gcnNorm([s, d], 3, { edgeWeight: [1, 1, 1, 1, 5, 7] }).matrix;
      assertEqual('weighted row 1', w.values.slice(2, 5), Float32Array.of(1 / Math.sqrt(18), 1 / Math.sqrt(18), 7 / 9));
      // improved: added loops weigh 2, but node 1's existing loop keeps weight 1 (as in PyG): deg 3, 3, 3.
      assertEqual(
        'improved row 0',
        gcnNorm([s, d], 3, { improved: true }).matrix.values.slice(0, 2),
        Float32Array.of(1 / 3, 2 / 3),
      );
      assertEqual(
        'improved row 1',
        gcnNorm([s, d], 3, { improved: true }).matrix.values.slice(2, 5),
        Float32Array.of(1 / 3, 1 / 3, 1 / 3),
      );
      // No normalisation: the plain adjacency with its own loops.
      const plain = gcnNorm([s, d], 3, { normalize: false }).matrix;
      assertEqual('plain colIdx', plain.colIdx, [1, 0, 2, 1, 1, 1]);
      assertEqual('plain values', plain.values, new Float32Array(6).fill(1));
      // Without self loops, node 0's only in-edge comes from node 1 (deg 2): 1 / sqrt(1 * 2); a node with no
      // in-edges has deg 0 and contributes 0 (deg^-1/2 = inf is set to 0).
      const noLoops = gcnNorm(
        [
          [1, 2],
          [0, 0],
        ],
        3,
        { addSelfLoops: false },
      ).matrix;
      assertEqual('no loops', noLoops.values, Float32Array.of(0, 0));
      const chain = gcnNorm(
        [
          [0, 1],
          [1, 2],
        ],
        3,
        { addSelfLoops: false },
      ).matrix;
      assertEqual('chain', chain.values, Float32Array.of(0, 1));
    },
  },
  {
    name: 'GCNConv forward, parameter and input gradients match float64 (every option, isolated nodes, no edges)',
    async run(gpu) {
      await repeat(12, 52, async (rand, i) => checkLayer(gpu, rand, i));
    },
  },
  {
    name: "GCNConv on sparse input: output and weight gradient equal the dense input's",
    async run(gpu) {
      await repeat(4, 53, async (rand) => {
        const n = randInt(rand, 5, 50),
          fin = randInt(rand, 2, 30),
          c = randInt(rand, 1, 9);
        const [s, d] = randomGraph(rand, n);
        const x = randomArray(rand, n * fin).map((v) => (rand() < 0.7 ? 0 : v));
        const rowPtr = new Uint32Array(n + 1),
          cols: number[] = [],
          vals: number[] = [];
        for (let r = 0; r < n; r++) {
          for (let j = 0; j < fin; j++) if (x[r * fin + j] !== 0) cols.push(j), vals.push(x[r * fin + j]);
          rowPtr[r + 1] = cols.length;
        }
        const m: SparseRows = {
          rows: n,
          cols: fin,
          rowPtr,
          colIdx: Uint32Array.from(cols),
          values: Float32Array.from(vals),
        };
        const { conv, store } = makeLayer(gpu, rand, fin, c, {});
        const graphs = new GraphSet(gpu, [s, d], n);
        const out = conv.forward(
          { kind: 'sparse', x: uploadSparse(gpu, m), xT: uploadSparseTranspose(gpu, m) },
          graphs,
        );
        const dout = randomArray(rand, n * c);
        out.backward(gpu.tensor('f32', [n, c], dout));
        const a = ref.gcnNormDense(s, d, n, { addSelfLoops: true, improved: false, normalize: true });
        const { w, b } = await readParams(store);
        assertClose('output', await out.read(), ref.gcnForward(a, x, w, b, { n, fin, c }));
        const want = ref.gcnBackward(a, x, w, dout, { n, fin, c });
        assertClose('d lin.weight', (await readParams(store, 'grads')).w, want.dw);
        conv.dispose(), graphs.dispose();
      });
    },
  },
  {
    name: "GCNConv cached: A_hat built once per graph object (not PyG's first graph only); uncached: every forward",
    async run(gpu) {
      const rand = rng(54);
      const n = 30,
        fin = 5,
        c = 4;
      const ga = countingGraphs(gpu, randomGraph(rand, n), n);
      const edgesB = randomGraph(rand, n);
      const gb = countingGraphs(gpu, edgesB, n);
      const x = randomArray(rand, n * fin);
      for (const cached of [true, false]) {
        const { conv, store } = makeLayer(gpu, rng(55), fin, c, { cached });
        conv.eval();
        const input = gpu.tensor('f32', [n, fin], x);
        const before = [ga.builds(), gb.builds()];
        conv.forward(input, ga.graphs);
        conv.forward(input, ga.graphs);
        const outB = await conv.forward(input, gb.graphs).read();
        conv.forward(input, gb.graphs);
        const builds = [ga.builds() - before[0], gb.builds() - before[1]];
        assertEqual(`builds per graph (cached ${cached})`, builds, cached ? [1, 1] : [2, 2]);
        const a = ref.gcnNormDense(edgesB[0], edgesB[1], n, { addSelfLoops: true, improved: false, normalize: true });
        const { w, b } = await readParams(store);
        assertClose(`graph B after graph A (cached ${cached})`, outB, ref.gcnForward(a, x, w, b, { n, fin, c }));
        conv.dispose(), input.dispose();
      }
      ga.dispose(), gb.dispose();
    },
  },
  {
    name: "GCNConv is deterministic; its state dict has PyG's names and shapes, round-trips; glorot and zeros",
    async run(gpu) {
      const n = 200,
        fin = 9,
        c = 6;
      const [s, d] = randomGraph(rng(56), n);
      const x = randomArray(rng(57), n * fin),
        dout = randomArray(rng(58), n * c);
      const results: Float32Array[] = [];
      for (let run = 0; run < 2; run++) {
        const model = new Sequential([new GCNConv(fin, c)]).init(gpu, { seed: 59 });
        const graphs = new GraphSet(gpu, [s, d], n);
        const out = model.forward(gpu.tensor('f32', [n, fin], x), graphs);
        out.backward(gpu.tensor('f32', [n, c], dout));
        results.push((await out.read()) as Float32Array, (await model.parameterStore.grads.read()) as Float32Array);
        const sd = await model.stateDict();
        assert(Object.keys(sd).join() === '0.lin.weight,0.bias', `names ${Object.keys(sd)}`);
        assertEqual('lin.weight shape', sd['0.lin.weight'].shape, [c, fin]);
        assertEqual('bias shape', sd['0.bias'].shape, [c]);
        // PyTorch's [out, in] is the transpose of the internal [in, out].
        const internal = (await model.parameterStore.readAll()).get('0.lin.weight')!;
        for (let o = 0; o < c; o++)
          for (let k = 0; k < fin; k++)
            assert(sd['0.lin.weight'].data[o * fin + k] === internal[k * c + o], 'lin.weight transposed');
        const bound = Math.sqrt(6 / (fin + c));
        assert(internal.every((v) => Math.abs(v) <= bound) && internal.some((v) => v !== 0), 'lin.weight is glorot');
        assertEqual('bias starts at zero', sd['0.bias'].data, new Float32Array(c));
        // Round trip through new values.
        const newW = randomArray(rng(60), c * fin),
          newB = randomArray(rng(61), c);
        model.loadStateDict(
          { '0.lin.weight': { shape: [c, fin], data: newW }, '0.bias': { shape: [c], data: newB } },
          { strict: true },
        );
        const back = await model.stateDict();
        assertEqual('round trip weight', back['0.lin.weight'].data, newW);
        assertEqual('round trip bias', back['0.bias'].data, newB);
        model.dispose(), graphs.dispose();
      }
      assertBitIdentical('output', results[0], results[2]);
      assertBitIdentical('gradients', results[1], results[3]);
      assertEqual('no bias', [new GCNConv(3, 2, { bias: false }).stateSpecs().length], [1]);
    },
  },
  {
    name: 'reference GCN backward matches finite differences',
    async run() {
      const rand = rng(62);
      const n = 6,
        fin = 4,
        c = 3;
      const [s, d] = randomGraph(rand, n);
      const a = ref.gcnNormDense(s, d, n, { addSelfLoops: true, improved: false, normalize: true });
      const x = Float64Array.from(randomArray(rand, n * fin)),
        w = Float64Array.from(randomArray(rand, fin * c)),
        b = Float64Array.from(randomArray(rand, c));
      const g = Float64Array.from(randomArray(rand, n * c));
      const shape = { n, fin, c };
      const want = ref.gcnBackward(a, x, w, g, shape);
      checkVjp('d x', (v) => ref.gcnForward(a, v, w, b, shape), x, g, want.dx);
      checkVjp('d W', (v) => ref.gcnForward(a, x, v, b, shape), w, g, want.dw);
      checkVjp('d b', (v) => ref.gcnForward(a, x, w, v, shape), b, g, want.db);
    },
  },
  {
    name: "gcnNorm on generated edge lists, good and bad: the reference's matrix, or an error naming the bad entry",
    async run() {
      // Node ids and weights drawn mostly valid, sometimes not (out of range, negative, fractional, NaN, infinite).
      const id = (n: number) =>
        fc.oneof(
          { weight: 8, arbitrary: fc.integer({ min: 0, max: Math.max(n - 1, 0) }) },
          { weight: 1, arbitrary: fc.constantFrom(-1, n, n + 7, 0.5, NaN) },
        );
      const weight = fc.oneof(
        { weight: 8, arbitrary: fc.double({ min: 0.01, max: 4, noNaN: true }) },
        { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity) },
      );
      const problem = fc.integer({ min: 1, max: 12 }).chain((n) =>
        fc.record({
          n: fc.constant(n),
          edges: fc.array(fc.tuple(id(n), id(n), weight), { maxLength: 30 }),
          weighted: fc.boolean(),
          addSelfLoops: fc.boolean(),
          improved: fc.boolean(),
          normalize: fc.boolean(),
        }),
      );
      fc.assert(
        fc.property(problem, (p) => {
          const s = p.edges.map((e) => e[0]),
            d = p.edges.map((e) => e[1]);
          const edgeWeight = p.weighted ? p.edges.map((e) => e[2]) : undefined;
          const o = { addSelfLoops: p.addSelfLoops, improved: p.improved, normalize: p.normalize, edgeWeight };
          const badId = [...s, ...d].find((v) => !(Number.isInteger(v) && v >= 0 && v < p.n));
          const badWeight = edgeWeight?.find((w) => !Number.isFinite(w));
          let result: ReturnType<typeof gcnNorm>;
          try {
            result = gcnNorm([s, d], p.n, o);
          } catch (err) {
            const msg = (err as Error).message;
            const why = '(is not an integer|is negative|is out of range)';
            if (badId !== undefined)
              return new RegExp(`^edge_index (source|destination) index \\S+ at edge \\d+ ${why}`).test(msg);
            if (badWeight !== undefined)
              return /^edge_weight at edge \d+ is (NaN|Infinity|-Infinity) \(weights must be finite\)$/.test(msg);
            throw err;
          }
          if (badId !== undefined || badWeight !== undefined) return false; // bad input must not pass
          assertClose('A_hat', toDense(result.matrix), ref.gcnNormDense(s, d, p.n, o), 1e-6);
          return true;
        }),
        { numRuns: 300, seed: 64 },
      );
    },
  },
  {
    name: 'gcnNorm and GCNConv: bad input throws an error that names the problem',
    async run(gpu) {
      assertThrows(
        'weights length',
        () =>
          gcnNorm(
            [
              [0, 1],
              [1, 0],
            ],
            2,
            { edgeWeight: [1] },
          ),
        /^edge_weight has 1 entries, expected one per edge \(2\)$/,
      );
      assertThrows(
        'weight NaN',
        () =>
          gcnNorm(
            [
              [0, 1],
              [1, 0],
            ],
            2,
            { edgeWeight: [1, NaN] },
          ),
        /^edge_weight at edge 1 is NaN/,
      );
      assertThrows(
        'negative degree',
        () =>
          gcnNorm(
            [
              [0, 1],
              [1, 0],
            ],
            2,
            { edgeWeight: [-3, 1] },
          ),
        /edge_weight gives node 1 a negative weighted degree \(-2\)/,
      );
      assertThrows(
        'edge index',
        () =>
          gcnNorm(
            [
              [0, 5],
              [1, 0],
            ],
            2,
          ),
        /edge_index source index 5 at edge 1 is out of range for 2 nodes/,
      );
      assertThrows('in channels', () => new GCNConv(0, 3), /GCNConv: inChannels must be a positive integer, got 0/);
      assertThrows(
        'out channels',
        () => new GCNConv(3, 1.5),
        /GCNConv: outChannels must be a positive integer, got 1.5/,
      );
      const { conv } = makeLayer(gpu, rng(63), 4, 3, {});
      const graphs = new GraphSet(
        gpu,
        [
          [0, 1],
          [1, 2],
        ],
        5,
      );
      assertThrows(
        'features',
        () => conv.forward(gpu.empty('f32', [5, 3]), graphs),
        /GCNConv: shape mismatch: input has 3 features, the layer expects 4/,
      );
      assertThrows(
        'nodes',
        () => conv.forward(gpu.empty('f32', [6, 4]), graphs),
        /GCNConv: the graph has 5 nodes, the features 6 rows/,
      );
      assertThrows(
        'no graph',
        () => (conv.forward as (x: unknown) => unknown)(gpu.empty('f32', [5, 4])),
        /GCNConv: the second argument must be the graph/,
      );
      assertThrows(
        'not initialised',
        () => new GCNConv(4, 3).forward(gpu.empty('f32', [5, 4]), graphs),
        /call init\(gpu\) on the model before its forward/,
      );
      conv.dispose(), graphs.dispose();
    },
  },
];
