// GATConv / GATv2Conv modules and the two-layer model (GATModel, a Sequential) on the GPU against the float64
// reference (tests/reference/model.ts), whose own gradients are checked here by finite differences.
import fc from 'fast-check';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { buildGraph } from '../../src/graph.ts';
import { fill as fillTensor } from '../../src/kernels/elementwise.ts';
import type { FillValue } from '../../src/kernels/edge-attr.ts';
import { uploadSparse, uploadSparseTranspose, type SparseRows } from '../../src/kernels/spmm.ts';
import { GATConv } from '../../src/nn/gat-conv.ts';
import { GATv2Conv } from '../../src/nn/gatv2-conv.ts';
import { GraphSet } from '../../src/nn/graphs.ts';
import { GATModel, type NodeFeatures } from '../../src/nn/model.ts';
import { Variable } from '../../src/nn/tape.ts';
import { crossEntropy } from '../../src/train/loss.ts';
import { dropoutScale } from '../reference/common.ts';
import * as refEdges from '../reference/edge-attr.ts';
import { checkVjp } from '../reference/fd.ts';
import * as ref from '../reference/model.ts';
import {
  assert,
  assertClose,
  assertGradClose,
  assertThrows,
  randInt,
  randomArray,
  randomEdges,
  repeat,
  rng,
  type KernelCase,
} from './harness.ts';

type Kind = 'gatv2' | 'gat';

interface LayerOpts {
  kind: Kind;
  heads: number;
  concat: boolean;
  shareWeights: boolean;
  residual: boolean;
  addSelfLoops: boolean;
  bias: boolean;
  /** Edge features of this width, self loops filled with fillValue (default 'mean'). */
  edgeDim?: number;
  fillValue?: FillValue;
}

function specOf(o: LayerOpts, fin: number, c: number): ref.LayerSpec {
  return {
    kind: o.kind,
    inChannels: fin,
    channels: c,
    heads: o.heads,
    concat: o.concat,
    slope: 0.2,
    bias: o.bias,
    shareWeights: o.shareWeights,
    residual: o.residual,
  };
}

function toF64(m: Map<string, Float32Array>, prefix = ''): ref.Params {
  return new Map(
    [...m].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), Float64Array.from(v)]),
  );
}

/** Edges of a layer's graph in the GPU's CSR order. */
function edgesOf(graphs: GraphSet, addSelfLoops: boolean): ref.Edges {
  const g = graphs.hostGraph(addSelfLoops);
  return { numNodes: g.numNodes, src: g.src, dst: g.dst };
}

/**
 * One layer, dense input, random upstream gradient: output, every parameter gradient and the input gradient; with
 * edgeDim also the gradient of the edge attributes (a Variable that asks for one).
 */
async function checkLayer(gpu: Gpu, o: LayerOpts, rand: () => number): Promise<void> {
  const n = randInt(rand, 2, 40),
    fin = randInt(rand, 1, 12),
    c = randInt(rand, 1, 6);
  const [s, d] = randomEdges(rand, n, randInt(rand, 0, 4 * n));
  const edgeOpts = o.edgeDim ? { edgeDim: o.edgeDim, fillValue: o.fillValue ?? 'mean' } : {};
  const conv =
    o.kind === 'gat'
      ? new GATConv(fin, c, {
          heads: o.heads,
          concat: o.concat,
          residual: o.residual,
          addSelfLoops: o.addSelfLoops,
          bias: o.bias,
          dropout: 0.3,
          ...edgeOpts,
        })
      : new GATv2Conv(fin, c, {
          heads: o.heads,
          concat: o.concat,
          residual: o.residual,
          addSelfLoops: o.addSelfLoops,
          bias: o.bias,
          shareWeights: o.shareWeights,
          dropout: 0.3,
          ...edgeOpts,
        });
  conv.init(gpu, { seed: randInt(rand, 0, 1000) });
  const store = conv.parameterStore;
  conv.dropoutSeed = randInt(rand, 0, 2 ** 31);
  // Biases start at zero in PyG; give them random values so that their paths are exercised.
  for (const slot of store.slots) store.write(slot.name, randomArray(rand, slot.size));
  const stepValue = randInt(rand, 1, 100);
  conv.context.stepValue = stepValue - 1; // the next training forward is step `stepValue`
  const graphs = new GraphSet(gpu, [s, d], n);
  const x = randomArray(rand, n * fin);
  const xv = Variable.leaf(gpu.tensor('f32', [n, fin], x), { requiresGrad: true });
  const D = o.edgeDim ?? 0;
  const attr = randomArray(rand, s.length * D);
  const ev = D ? Variable.leaf(gpu.tensor('f32', [s.length, D], attr), { requiresGrad: true }) : undefined;
  const out = conv.forward(xv, graphs, ev);
  const dout = randomArray(rand, out.rows * out.cols);
  out.backward(gpu.tensor('f32', out.shape, dout));
  const dx = xv.grad!;

  const host = graphs.hostGraph(o.addSelfLoops);
  const edges = edgesOf(graphs, o.addSelfLoops);
  const input = { src: s, dst: d, numNodes: n };
  const fillValue = o.fillValue ?? 'mean';
  const csrAttr = D ? refEdges.csrEdgeAttr(input, host, attr, D, fillValue) : undefined;
  const mask = Float64Array.from({ length: edges.src.length * o.heads }, (_, i) =>
    dropoutScale(conv.dropoutSeed, stepValue, i, 0.3),
  );
  const p = toF64(await store.readAll());
  const want = ref.layerForward(specOf(o, fin, c), p, Float64Array.from(x), edges, mask, csrAttr);
  assertClose('layer output', await out.read(), want.out, 1e-5);
  const back = ref.layerBackward(specOf(o, fin, c), p, want.cache, edges, mask, Float64Array.from(dout));
  const grads = await store.readAll('grads');
  assert(
    [...grads.keys()].sort().join() === [...back.grads.keys()].sort().join(),
    `parameters [${[...grads.keys()]}], reference [${[...back.grads.keys()]}]`,
  );
  for (const [name, g] of back.grads) assertGradClose(`d ${name}`, grads.get(name)!, g, 1e-4);
  assertClose('d x', await dx.read(), back.dx, 1e-4);
  if (ev) {
    const dattr = refEdges.csrEdgeAttrBackward(input, host, attr, back.dEdgeAttr!, D, fillValue);
    assertGradClose('d edge_attr', await ev.grad!.read(), dattr, 1e-4);
    ev.dispose();
  }
  conv.dispose();
  xv.dispose();
  graphs.dispose();
}

const combos: LayerOpts[] = [];
for (const kind of ['gatv2', 'gat'] as Kind[])
  for (const heads of [1, 4])
    for (const concat of [true, false])
      for (const residual of [false, true]) {
        combos.push({ kind, heads, concat, residual, shareWeights: false, addSelfLoops: true, bias: true });
      }
combos.push({
  kind: 'gatv2',
  heads: 4,
  concat: true,
  residual: false,
  shareWeights: true,
  addSelfLoops: true,
  bias: true,
});
combos.push({
  kind: 'gatv2',
  heads: 2,
  concat: false,
  residual: true,
  shareWeights: true,
  addSelfLoops: false,
  bias: false,
});
combos.push({
  kind: 'gatv2',
  heads: 4,
  concat: true,
  residual: false,
  shareWeights: false,
  addSelfLoops: false,
  bias: true,
});
combos.push({
  kind: 'gat',
  heads: 4,
  concat: true,
  residual: false,
  shareWeights: false,
  addSelfLoops: false,
  bias: false,
});
// With edge features: every fill kind, the option combinations above.
const base = { shareWeights: false, addSelfLoops: true, bias: true, residual: false, concat: true };
combos.push({ ...base, kind: 'gatv2', heads: 4, edgeDim: 3 });
combos.push({ ...base, kind: 'gatv2', heads: 1, residual: true, edgeDim: 1, fillValue: 'add' });
combos.push({
  ...base,
  kind: 'gatv2',
  heads: 2,
  concat: false,
  residual: true,
  shareWeights: true,
  edgeDim: 5,
  fillValue: 'max',
});
combos.push({ ...base, kind: 'gatv2', heads: 4, addSelfLoops: false, bias: false, edgeDim: 2 });
combos.push({ ...base, kind: 'gat', heads: 4, edgeDim: 3 });
combos.push({ ...base, kind: 'gat', heads: 2, concat: false, residual: true, edgeDim: 4, fillValue: 'min' });
combos.push({ ...base, kind: 'gat', heads: 1, bias: false, edgeDim: 2, fillValue: -0.5 });
combos.push({ ...base, kind: 'gat', heads: 2, addSelfLoops: false, residual: true, edgeDim: 3 });
const label = (o: LayerOpts) =>
  `${o.kind} heads=${o.heads} ` +
  `${o.concat ? 'concat' : 'mean'}${o.residual ? ' residual' : ''}${o.shareWeights ? ' shareWeights' : ''}` +
  `${o.addSelfLoops ? '' : ' no-self-loops'}${o.bias ? '' : ' no-bias'}` +
  (o.edgeDim ? ` edgeDim=${o.edgeDim} fill=${o.fillValue ?? 'mean'}` : '');

/** The float64 model reference's gradients against central finite differences of its own loss. */
function checkReferenceGradients(kind: Kind, seed: number): void {
  const rand = rng(seed);
  const n = 7,
    fin = 5,
    hid = 3,
    heads = 2,
    classes = 3;
  const [s, d] = randomEdges(rand, n, 14);
  const withLoops = buildGraph([s, d], n, { addSelfLoops: true });
  const g: ref.Edges = { numNodes: n, src: withLoops.src, dst: withLoops.dst };
  const E = withLoops.numEdges;
  const mask = (len: number) => Float64Array.from({ length: len }, () => (rand() < 0.3 ? 0 : 1 / 0.7));
  const conv1: ref.LayerSpec = {
    kind,
    inChannels: fin,
    channels: hid,
    heads,
    concat: true,
    slope: 0.2,
    bias: true,
    shareWeights: false,
    residual: true,
  };
  const conv2: ref.LayerSpec = {
    kind,
    inChannels: hid * heads,
    channels: classes,
    heads: 1,
    concat: false,
    slope: 0.2,
    bias: true,
    shareWeights: false,
    residual: false,
  };
  const m: ref.ModelSpec = {
    conv1,
    conv2,
    graph1: g,
    graph2: g,
    inputMask: mask(n * fin),
    hiddenMask: mask(n * hid * heads),
    alphaMask1: mask(E * heads),
    alphaMask2: mask(E),
    labels: Array.from({ length: n }, () => randInt(rand, 0, classes)),
    trainMask: Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : 1)),
    classes,
  };
  const shapes = new Map<string, number>();
  const v2 = kind === 'gatv2';
  shapes.set('conv1.lin.weight', fin * (v2 ? 2 : 1) * hid * heads);
  if (v2) shapes.set('conv1.lin.bias', 2 * hid * heads);
  if (v2) shapes.set('conv1.att', hid * heads);
  else shapes.set('conv1.att_src', hid * heads), shapes.set('conv1.att_dst', hid * heads);
  shapes.set('conv1.bias', hid * heads);
  shapes.set('conv1.res', fin * hid * heads);
  shapes.set('conv2.lin.weight', hid * heads * (v2 ? 2 : 1) * classes);
  if (v2) shapes.set('conv2.lin.bias', 2 * classes);
  if (v2) shapes.set('conv2.att', classes);
  else shapes.set('conv2.att_src', classes), shapes.set('conv2.att_dst', classes);
  shapes.set('conv2.bias', classes);
  const p: ref.Params = new Map([...shapes].map(([k, len]) => [k, Float64Array.from(randomArray(rand, len))]));
  const x = Float64Array.from(randomArray(rand, n * fin));
  const { grads } = ref.modelLossAndGrads(m, p, x);
  for (const [name, value] of p) {
    const lossAt = (v: Float64Array) => [ref.modelLossAndGrads(m, new Map([...p, [name, v]]), x).loss];
    checkVjp(`${kind} d loss / d ${name}`, lossAt, value, [1], grads.get(name)!, { tol: 1e-5 });
  }
}

/**
 * The float64 layer reference with edge features: d lin_edge.weight, d att_edge and d edge attributes by finite
 * differences.
 */
function checkReferenceEdgeGradients(kind: Kind, seed: number): void {
  const rand = rng(seed);
  const n = 6,
    fin = 4,
    C = 3,
    H = 2,
    D = 3;
  const [s, d] = randomEdges(rand, n, 12);
  const host = buildGraph([s, d], n, { addSelfLoops: true });
  const g: ref.Edges = { numNodes: n, src: host.src, dst: host.dst };
  const E = host.numEdges;
  const L: ref.LayerSpec = {
    kind,
    inChannels: fin,
    channels: C,
    heads: H,
    concat: true,
    slope: 0.2,
    bias: true,
    shareWeights: false,
    residual: false,
  };
  const P = (kind === 'gatv2' ? 2 : 1) * H * C;
  const p: ref.Params = new Map([
    ['lin.weight', Float64Array.from(randomArray(rand, fin * P))],
    ['lin.bias', Float64Array.from(randomArray(rand, P))],
    ['bias', Float64Array.from(randomArray(rand, H * C))],
    ['lin_edge.weight', Float64Array.from(randomArray(rand, D * H * C))],
    ...(kind === 'gatv2'
      ? [['att', Float64Array.from(randomArray(rand, H * C))] as const]
      : (['att_src', 'att_dst', 'att_edge'] as const).map(
          (k) => [k, Float64Array.from(randomArray(rand, H * C))] as const,
        )),
  ]);
  const x = Float64Array.from(randomArray(rand, n * fin));
  const attr = Float64Array.from(randomArray(rand, E * D));
  const mask = new Float64Array(E * H).fill(1);
  const dout = Float64Array.from(randomArray(rand, n * H * C));
  const want = ref.layerForward(L, p, x, g, mask, attr);
  const back = ref.layerBackward(L, p, want.cache, g, mask, dout);
  const names = kind === 'gatv2' ? ['lin_edge.weight'] : ['lin_edge.weight', 'att_edge'];
  for (const name of names) {
    const f = (v: Float64Array) => ref.layerForward(L, new Map([...p, [name, v]]), x, g, mask, attr).out;
    checkVjp(`${kind} d ${name}`, f, p.get(name)!, dout, back.grads.get(name)!);
  }
  checkVjp(`${kind} d edge attributes`, (v) => ref.layerForward(L, p, x, g, mask, v).out, attr, dout, back.dEdgeAttr!);
}

/** The whole model on the GPU (sparse or dense input) against the reference: loss and every gradient. */
async function checkModel(gpu: Gpu, kind: Kind, sparse: boolean, rand: () => number): Promise<void> {
  const n = randInt(rand, 5, 60),
    fin = randInt(rand, 2, 30),
    classes = randInt(rand, 2, 6);
  const [s, d] = randomEdges(rand, n, randInt(rand, n, 5 * n));
  const model = new GATModel({
    model: kind,
    inChannels: fin,
    hiddenChannels: 4,
    heads: 3,
    outChannels: classes,
    dropout: 0.4,
    residual: rand() < 0.5,
  }).init(gpu, { seed: randInt(rand, 0, 1000) });
  // Dense features with about 70% zeros; the sparse path sees the same values as CSR.
  const x = randomArray(rand, n * fin).map((v) => (rand() < 0.7 ? 0 : v));
  const rows: SparseRows = {
    rows: n,
    cols: fin,
    rowPtr: new Uint32Array(n + 1),
    colIdx: new Uint32Array(0),
    values: new Float32Array(0),
  };
  const cols: number[] = [],
    vals: number[] = [],
    nzOf = new Int32Array(n * fin).fill(-1);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < fin; c++)
      if (x[r * fin + c] !== 0) (nzOf[r * fin + c] = cols.length), cols.push(c), vals.push(x[r * fin + c]);
    rows.rowPtr[r + 1] = cols.length;
  }
  rows.colIdx = Uint32Array.from(cols);
  rows.values = Float32Array.from(vals);
  const features: NodeFeatures = sparse
    ? { kind: 'sparse', x: uploadSparse(gpu, rows), xT: uploadSparseTranspose(gpu, rows) }
    : { kind: 'dense', x: gpu.tensor('f32', [n, fin], x) };
  const graphs = new GraphSet(gpu, [s, d], n);
  const labels = Int32Array.from({ length: n }, () => randInt(rand, 0, classes));
  const train = Uint32Array.from({ length: n }, () => (rand() < 0.6 ? 1 : 0));
  train[0] = 1;
  const count = train.reduce((a, b) => a + b, 0);
  const stepValue = randInt(rand, 1, 500);
  model.context.stepValue = stepValue - 1;

  const logits = model.forward(features, graphs);
  const logitValues = await logits.read();
  const loss = crossEntropy(logits, gpu.tensor('i32', [n], labels), { mask: gpu.tensor('u32', [n], train), count });
  loss.backward();

  const seeds = {
    input: model.layers[0].dropoutSeed,
    hidden: model.layers[3].dropoutSeed,
    alpha1: model.conv1.dropoutSeed,
    alpha2: model.conv2.dropoutSeed,
  };
  const p = 0.4;
  const edges = edgesOf(graphs, true);
  const E = edges.src.length;
  const spec: ref.ModelSpec = {
    conv1: specOf(
      {
        kind,
        heads: 3,
        concat: true,
        residual: model.config.residual,
        shareWeights: false,
        addSelfLoops: true,
        bias: true,
      },
      fin,
      4,
    ),
    conv2: specOf(
      {
        kind,
        heads: 1,
        concat: false,
        residual: model.config.residual,
        shareWeights: false,
        addSelfLoops: true,
        bias: true,
      },
      12,
      classes,
    ),
    graph1: edges,
    graph2: edges,
    // The input mask hashes the element index (dense) or the nonzero's index (sparse).
    inputMask: Float64Array.from({ length: n * fin }, (_, i) =>
      dropoutScale(seeds.input, stepValue, sparse ? Math.max(nzOf[i], 0) : i, p),
    ),
    hiddenMask: Float64Array.from({ length: n * 12 }, (_, i) => dropoutScale(seeds.hidden, stepValue, i, p)),
    alphaMask1: Float64Array.from({ length: E * 3 }, (_, i) => dropoutScale(seeds.alpha1, stepValue, i, p)),
    alphaMask2: Float64Array.from({ length: E }, (_, i) => dropoutScale(seeds.alpha2, stepValue, i, p)),
    labels,
    trainMask: train,
    classes,
  };
  // Sequential names its children 1. and 4.; the reference calls them conv1. and conv2.
  const refName = (k: string) => k.replace(/^1\./, 'conv1.').replace(/^4\./, 'conv2.');
  const rename = (m: Map<string, Float32Array>) => new Map([...m].map(([k, v]) => [refName(k), v]));
  const params = toF64(rename(await model.parameterStore.readAll()));
  const want = ref.modelLossAndGrads(spec, params, Float64Array.from(x));
  assertClose('logits', logitValues, want.logits, 1e-5);
  assertClose('loss', [await loss.item()], [want.loss], 1e-5);
  const grads = rename(await model.parameterStore.readAll('grads'));
  for (const [name, g] of want.grads) assertClose(`d ${name}`, grads.get(name)!, g, 1e-4);
  model.dispose();
  graphs.dispose();
}

/** Bad edgeDim, fillValue and edgeAttr (generated) are refused with errors naming them. */
async function checkEdgeRefusals(gpu: Gpu): Promise<void> {
  const goodFills = new Set<unknown>(['mean', 'add', 'max', 'min']);
  fc.assert(
    fc.property(
      fc.oneof(fc.integer({ max: 0 }), fc.double({ noInteger: true }), fc.constantFrom(NaN, Infinity, '3', true)),
      fc.oneof(
        fc.string().filter((v) => !goodFills.has(v)),
        fc.constantFrom(NaN, Infinity, -Infinity, [1]),
      ),
      fc.constantFrom('GATConv', 'GATv2Conv'),
      (edgeDim, fillValue, kind) => {
        const Conv = kind === 'GATConv' ? GATConv : GATv2Conv;
        assertThrows(
          `edgeDim ${String(edgeDim)}`,
          () => new Conv(3, 2, { edgeDim: edgeDim as number }),
          /^edgeDim must be a positive integer/,
        );
        assertThrows(
          `fillValue ${String(fillValue)}`,
          () => new Conv(3, 2, { edgeDim: 2, fillValue: fillValue as FillValue }),
          /^fillValue must be 'mean', 'add', 'max', 'min' or a finite number/,
        );
      },
    ),
    { seed: 11, numRuns: 100 },
  );
  const edges: [number[], number[]] = [
    [0, 1, 2, 2],
    [1, 2, 0, 2],
  ]; // 4 edges, one a self loop
  const graphs = new GraphSet(gpu, edges, 3);
  const x = gpu.tensor('f32', [3, 3], randomArray(Math.random, 9));
  const plain = new GATv2Conv(3, 2).init(gpu);
  const convs = [new GATv2Conv(3, 2, { edgeDim: 2 }).init(gpu), new GATConv(3, 2, { edgeDim: 2, heads: 2 }).init(gpu)];
  try {
    const attr = gpu.tensor('f32', [4, 2], new Float32Array(8));
    assertThrows(
      'no edgeDim',
      () => plain.forward(x, graphs, attr),
      /GATv2Conv: forward was given edgeAttr, but the layer has no edgeDim/,
    );
    for (const conv of convs) {
      const name = conv.constructor.name;
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 5 }), (rows, cols) => {
          fc.pre(rows !== 4 || cols !== 2);
          const bad = gpu.tensor('f32', [rows, cols], new Float32Array(rows * cols));
          try {
            const why =
              cols !== 2
                ? `edgeAttr has ${cols} features per edge, the layer's edgeDim is 2`
                : `edgeAttr has ${rows} rows, the graph 4 edges`;
            assertThrows(`[${rows}, ${cols}]`, () => conv.forward(x, graphs, bad), new RegExp(`^${name}: ${why}`));
          } finally {
            bad.dispose();
          }
        }),
        { seed: 12, numRuns: 20 },
      );
      const ints = gpu.tensor('u32', [4, 2], new Uint32Array(8));
      assertThrows(
        'u32 edgeAttr',
        () => conv.forward(x, graphs, ints),
        new RegExp(`^${name}: edgeAttr must be an f32 tensor or Variable \\[edges, edgeDim\\], got u32`),
      );
      ints.dispose();
      // Without edgeAttr a layer with edgeDim attends without the edge term, as PyG's; lin_edge gets no gradient.
      const out = conv.forward(x, graphs);
      fillTensor(gpu, conv.parameterStore.grads, NaN);
      out.backward(gpu.full('f32', out.shape, 1));
      const grads = await conv.parameterStore.readAll('grads');
      for (const [k, g] of grads) {
        if (/lin_edge|att_edge/.test(k))
          assert(
            g.every((v) => v === 0),
            `${name}: d ${k} is not 0 without edgeAttr`,
          );
        else assert(g.every(Number.isFinite), `${name}: d ${k} is not written`);
      }
    }
    attr.dispose();
  } finally {
    x.dispose();
    plain.dispose();
    for (const conv of convs) conv.dispose();
    graphs.dispose();
  }
}

export const cases: KernelCase[] = [
  ...combos.map(
    (o, i): KernelCase => ({
      name: `layer forward and backward match float64: ${label(o)}`,
      run: (gpu) => repeat(3, 100 + i, (rand) => checkLayer(gpu, o, rand)),
    }),
  ),
  {
    name: 'reference model gradients match finite differences: gatv2',
    run: async () => checkReferenceGradients('gatv2', 7),
  },
  {
    name: 'reference model gradients match finite differences: gat',
    run: async () => checkReferenceGradients('gat', 8),
  },
  {
    name: 'reference layer edge-feature gradients match finite differences: gatv2',
    run: async () => checkReferenceEdgeGradients('gatv2', 9),
  },
  {
    name: 'reference layer edge-feature gradients match finite differences: gat',
    run: async () => checkReferenceEdgeGradients('gat', 10),
  },
  { name: 'edge features: bad edgeDim, fillValue and edgeAttr refused by name', run: (gpu) => checkEdgeRefusals(gpu) },
  {
    name: 'whole GATv2 model gradients match float64 (sparse input)',
    run: (gpu) => repeat(5, 200, (rand) => checkModel(gpu, 'gatv2', true, rand)),
  },
  {
    name: 'whole GATv2 model gradients match float64 (dense input)',
    run: (gpu) => repeat(5, 201, (rand) => checkModel(gpu, 'gatv2', false, rand)),
  },
  {
    name: 'whole GAT model gradients match float64 (sparse input)',
    run: (gpu) => repeat(5, 202, (rand) => checkModel(gpu, 'gat', true, rand)),
  },
];
