// Graph readout modules and the graph classifier against float64 references: globalAddPool, globalMeanPool,
// globalMaxPool and AttentionalAggregation forward and backward on the tape (batches with one-node and empty
// graphs), the pooling weights, state-dict names, and a whole GATv2GraphClassifier's loss and every gradient.
import type { Gpu } from '../../src/gpu/gpu.ts';
import { fill } from '../../src/kernels/elementwise.ts';
import { GATv2GraphClassifier, type GraphReadout } from '../../src/nn/graph-classifier.ts';
import { BatchNorm1d } from '../../src/nn/batchnorm.ts';
import { GraphSet } from '../../src/nn/graphs.ts';
import { Linear } from '../../src/nn/linear.ts';
import type { Module } from '../../src/nn/module.ts';
import { AttentionalAggregation, globalAddPool, globalMaxPool, globalMeanPool } from '../../src/nn/pool.ts';
import { Variable } from '../../src/nn/tape.ts';
import { crossEntropy } from '../../src/train/loss.ts';
import * as refEdges from '../reference/edge-attr.ts';
import * as ref from '../reference/model.ts';
import * as mods from '../reference/modules.ts';
import * as pool from '../reference/pooling.ts';
import {
  assert,
  assertClose,
  assertGradClose,
  assertThrows,
  randInt,
  randomArray,
  randomizeParameters,
  repeat,
  segmentsOf,
  type KernelCase,
} from './harness.ts';

type Params = Map<string, Float64Array>;

/** Float64 BatchNorm1d in training mode on [n, f]: y, and what the backward needs. */
function batchNormRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number>,
  n: number,
  f: number,
  eps = 1e-5,
) {
  const mean = new Float64Array(f),
    variance = new Float64Array(f),
    xhat = new Float64Array(n * f),
    y = new Float64Array(n * f);
  for (let r = 0; r < n; r++) for (let c = 0; c < f; c++) mean[c] += x[r * f + c] / n;
  for (let r = 0; r < n; r++) for (let c = 0; c < f; c++) variance[c] += (x[r * f + c] - mean[c]) ** 2 / n;
  for (let i = 0; i < n * f; i++) {
    const c = i % f;
    xhat[i] = (x[i] - mean[c]) / Math.sqrt(variance[c] + eps);
    y[i] = xhat[i] * w[c] + b[c];
  }
  const backward = (dy: ArrayLike<number>) => {
    const db = new Float64Array(f),
      dw = new Float64Array(f),
      dx = new Float64Array(n * f);
    for (let i = 0; i < n * f; i++) (db[i % f] += dy[i]), (dw[i % f] += dy[i] * xhat[i]);
    for (let i = 0; i < n * f; i++) {
      const c = i % f;
      dx[i] = (w[c] / Math.sqrt(variance[c] + eps) / n) * (n * dy[i] - db[c] - xhat[i] * dw[c]);
    }
    return { dx, dw, db };
  };
  return { y, mean, variance, backward };
}
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

/** Sizes with a one-node graph (and an empty one when allowed) among them. */
function randomSizes(rand: () => number, graphs: number, allowEmpty: boolean): number[] {
  return Array.from({ length: graphs }, (_, g) => (g === 1 ? 1 : allowEmpty && g === 2 ? 0 : randInt(rand, 2, 12)));
}

async function checkGlobalPools(gpu: Gpu, rand: () => number): Promise<void> {
  const sizes = randomSizes(rand, randInt(rand, 3, 9), true);
  const { seg, ptr, dispose } = segmentsOf(gpu, sizes);
  const f = randInt(rand, 1, 40),
    n = seg.numNodes,
    b = seg.numGraphs;
  const x = randomArray(rand, n * f);
  for (const [mode, op] of [
    ['add', globalAddPool],
    ['mean', globalMeanPool],
    ['max', globalMaxPool],
  ] as const) {
    const leaf = Variable.leaf(gpu.tensor('f32', [n, f], x), { requiresGrad: true });
    // Twice, the output poisoned in between: the second pass must write every element again.
    fill(gpu, op(leaf, seg).dense(), NaN);
    const out = op(leaf, seg);
    const want = pool.globalPool(x, ptr, f, mode);
    assertClose(`${mode} forward`, await out.read(), want.out, 1e-5);
    const dy = randomArray(rand, b * f);
    out.backward(gpu.tensor('f32', [b, f], dy));
    assertClose(`${mode} d x`, await leaf.grad!.read(), pool.globalPoolBackward(dy, ptr, f, mode, want.argmax), 1e-5);
    leaf.dispose();
  }
  assertThrows(
    'rows that do not match the batch',
    () => globalAddPool(gpu.tensor('f32', [n + 1, f], new Float32Array((n + 1) * f)), seg),
    /features have \d+ rows, the batch has \d+ nodes/,
  );
  dispose();
}

/** AttentionalAggregation(Linear(F, G), nn = Linear(F, F2)?): output, beta, and every gradient against float64. */
async function checkAttentionalAggregation(
  gpu: Gpu,
  rand: () => number,
  withNN: boolean,
  perFeature: boolean,
): Promise<void> {
  const sizes = randomSizes(rand, randInt(rand, 2, 8), true);
  const { seg, ptr, dispose } = segmentsOf(gpu, sizes);
  const n = seg.numNodes,
    b = seg.numGraphs,
    f = randInt(rand, 2, 12);
  const f2 = withNN ? randInt(rand, 2, 10) : f;
  const g = perFeature ? f2 : 1;
  const agg = new AttentionalAggregation(new Linear(f, g), withNN ? new Linear(f, f2) : undefined).init(gpu, {
    seed: 1,
  });
  const names = [...agg.stateShapes().keys()].join();
  assert(
    names === (withNN ? 'gate_nn.weight,gate_nn.bias,nn.weight,nn.bias' : 'gate_nn.weight,gate_nn.bias'),
    `state-dict names: ${names}`,
  );
  const p = randomizeParameters(agg, rand);
  const x = randomArray(rand, n * f);
  const leaf = Variable.leaf(gpu.tensor('f32', [n, f], x), { requiresGrad: true });
  fill(gpu, agg.forward(leaf, seg).dense(), NaN);
  const out = agg.forward(leaf, seg);
  const gate = mods.linearForward(x, p.get('gate_nn.weight')!, p.get('gate_nn.bias')!, n, f, g);
  const h = withNN ? mods.linearForward(x, p.get('nn.weight')!, p.get('nn.bias')!, n, f, f2) : f64(x);
  const want = pool.attentionPool(h, gate, ptr, f2, g);
  assertClose('forward', await out.read(), want.out, 1e-5);
  const w = await agg.weights();
  assert(w !== null && w.columns === g, 'weights() after a forward');
  assertClose('beta', w.beta, want.beta, 1e-5);
  const dy = randomArray(rand, b * f2);
  out.backward(gpu.tensor('f32', [b, f2], dy));
  const back = pool.attentionPoolBackward(h, want.beta, dy, ptr, f2, g);
  const grads = await agg.parameterStore.readAll('grads');
  const bg = mods.linearBackward(x, p.get('gate_nn.weight')!, back.dgate, n, f, g);
  assertGradClose('d gate_nn.weight', grads.get('gate_nn.weight')!, bg.dw);
  assertGradClose('d gate_nn.bias', grads.get('gate_nn.bias')!, bg.db);
  let dx = bg.dx;
  if (withNN) {
    const bn = mods.linearBackward(x, p.get('nn.weight')!, back.dx, n, f, f2);
    assertGradClose('d nn.weight', grads.get('nn.weight')!, bn.dw);
    assertGradClose('d nn.bias', grads.get('nn.bias')!, bn.db);
    dx = mods.plus(dx, bn.dx);
  } else {
    dx = mods.plus(dx, back.dx);
  }
  assertGradClose('d x', await leaf.grad!.read(), dx);
  // A later forward reuses the buffers: the weights of the first are gone.
  agg.forward(leaf, seg);
  agg.forward(leaf, seg);
  leaf.dispose();
  agg.dispose();
  dispose();
}

/**
 * GATv2GraphClassifier (2 GATv2Conv layers, jumping knowledge 'cat', the readout, an MLP head) on a batch of
 * graphs, one training step: the loss and the gradient of every parameter against float64. With edgeDim, both
 * layers read the same edge attributes (a Variable asking for its gradient: the sum of both layers' parts).
 */
async function checkClassifier(gpu: Gpu, rand: () => number, readout: GraphReadout, edgeDim = 0): Promise<void> {
  const sizes = randomSizes(rand, randInt(rand, 3, 7), false);
  const { seg, ptr, dispose } = segmentsOf(gpu, sizes);
  const n = seg.numNodes,
    b = seg.numGraphs;
  // Edges within each graph only (block-diagonal), some nodes without any.
  const src: number[] = [],
    dst: number[] = [];
  sizes.forEach((s, gi) => {
    for (let k = 0; k < 2 * s; k++) {
      const i = randInt(rand, 0, s),
        j = randInt(rand, 0, s);
      if (i !== j) src.push(ptr[gi] + i), dst.push(ptr[gi] + j);
    }
  });
  const graphs = new GraphSet(gpu, [src, dst], n);
  const hg = graphs.hostGraph(true);
  const edges: ref.Edges = { numNodes: n, src: hg.src, dst: hg.dst };
  const fin = randInt(rand, 2, 8),
    hid = 3,
    heads = 2,
    classes = randInt(rand, 2, 4),
    HC = hid * heads;
  const model = new GATv2GraphClassifier({
    inChannels: fin,
    numClasses: classes,
    hiddenChannels: hid,
    heads,
    numLayers: 2,
    readout,
    dropout: 0,
    edgeDim,
  });
  model.init(gpu, { seed: 3 });
  const p = randomizeParameters(model, rand);
  const x = randomArray(rand, n * fin);
  const labels = Int32Array.from({ length: b }, () => randInt(rand, 0, classes));
  const attr = randomArray(rand, src.length * edgeDim);
  const edgeAttr = edgeDim
    ? Variable.leaf(gpu.tensor('f32', [src.length, edgeDim], attr), { requiresGrad: true })
    : undefined;
  const input = { src, dst, numNodes: n };
  const csrAttr = edgeDim ? refEdges.csrEdgeAttr(input, hg, attr, edgeDim, 'mean') : undefined;
  const xt = gpu.tensor('f32', [n, fin], x);
  if (edgeDim) {
    const why = new RegExp(`edgeDim is ${edgeDim}, but the batch has no edgeAttr`);
    assertThrows('no edgeAttr', () => model.forward(xt, { ...seg, graphs }), why);
    assertThrows('null edgeAttr', () => model.forward(xt, { ...seg, graphs, edgeAttr: null }), why);
  }
  const out = model.forward(xt, { ...seg, graphs, edgeAttr });
  const loss = crossEntropy(out, gpu.tensor('i32', [b], labels), { mask: new Uint8Array(b).fill(1) });
  fill(gpu, model.parameterStore.grads, NaN);
  loss.backward();

  const sub = (prefix: string): Params =>
    new Map([...p].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  const spec = (fi: number): ref.LayerSpec => ({
    kind: 'gatv2',
    inChannels: fi,
    channels: hid,
    heads,
    concat: true,
    slope: 0.2,
    bias: true,
    shareWeights: false,
    residual: true,
  });
  const none = new Float64Array(edges.src.length * heads).fill(1);
  const l1 = ref.layerForward(spec(fin), sub('convs.0.'), f64(x), edges, none, csrAttr);
  const h1 = mods.elu(l1.out);
  const l2 = ref.layerForward(spec(HC), sub('convs.1.'), h1, edges, none, csrAttr);
  const h2 = mods.elu(l2.out);
  const z = mods.concatColumns([h1, h2], [HC, HC], n);
  const W = 2 * HC;
  let gz: Float64Array,
    beta: Float64Array | null = null,
    gate: Float64Array | null = null,
    argmax: Int32Array | null = null;
  if (readout === 'attention') {
    gate = mods.linearForward(z, p.get('pool.gate_nn.weight')!, p.get('pool.gate_nn.bias')!, n, W, 1);
    const r = pool.attentionPool(z, gate, ptr, W, 1);
    [gz, beta] = [r.out, r.beta];
  } else {
    const r = pool.globalPool(z, ptr, W, readout);
    [gz, argmax] = [r.out, r.argmax];
  }
  const a = mods.linearForward(gz, p.get('head.0.weight')!, p.get('head.0.bias')!, b, W, HC);
  const bn = batchNormRef(a, p.get('head.1.weight')!, p.get('head.1.bias')!, b, HC);
  const ra = bn.y.map((v) => Math.max(v, 0));
  const logits = mods.linearForward(ra, p.get('head.4.weight')!, p.get('head.4.bias')!, b, HC, classes);
  const { loss: wantLoss, dlogits } = ref.nll(logits, labels, new Uint8Array(b).fill(1), classes);
  assertClose('loss', [await loss.item()], [wantLoss], 1e-5);

  const want: Params = new Map();
  const b4 = mods.linearBackward(ra, p.get('head.4.weight')!, dlogits, b, HC, classes);
  want.set('head.4.weight', b4.dw).set('head.4.bias', b4.db);
  const bb = bn.backward(b4.dx.map((v, i) => (bn.y[i] > 0 ? v : 0)));
  want.set('head.1.weight', bb.dw).set('head.1.bias', bb.db);
  const b1 = mods.linearBackward(gz, p.get('head.0.weight')!, bb.dx, b, W, HC);
  want.set('head.0.weight', b1.dw).set('head.0.bias', b1.db);
  let dz: Float64Array;
  if (readout === 'attention') {
    const r = pool.attentionPoolBackward(z, beta!, b1.dx, ptr, W, 1);
    const bgate = mods.linearBackward(z, p.get('pool.gate_nn.weight')!, r.dgate, n, W, 1);
    want.set('pool.gate_nn.weight', bgate.dw).set('pool.gate_nn.bias', bgate.db);
    dz = mods.plus(r.dx, bgate.dx);
  } else {
    dz = pool.globalPoolBackward(b1.dx, ptr, W, readout, argmax!);
  }
  const dh1z = mods.columns(dz, n, W, 0, HC),
    dh2 = mods.columns(dz, n, W, HC, HC);
  const c2 = ref.layerBackward(spec(HC), sub('convs.1.'), l2.cache, edges, none, mods.eluGrad(l2.out, dh2));
  for (const [k, v] of c2.grads) want.set(`convs.1.${k}`, v);
  const c1 = ref.layerBackward(
    spec(fin),
    sub('convs.0.'),
    l1.cache,
    edges,
    none,
    mods.eluGrad(l1.out, mods.plus(dh1z, c2.dx)),
  );
  for (const [k, v] of c1.grads) want.set(`convs.0.${k}`, v);
  const grads = await model.parameterStore.readAll('grads');
  assert(
    [...grads.keys()].sort().join() === [...want.keys()].sort().join(),
    `parameters: [${[...grads.keys()]}], reference [${[...want.keys()]}]`,
  );
  for (const [k, v] of want) assertGradClose(`d ${k}`, grads.get(k)!, v, 1e-4);
  if (edgeAttr) {
    const dcsr = mods.plus(c1.dEdgeAttr!, c2.dEdgeAttr!);
    const dattr = refEdges.csrEdgeAttrBackward(input, hg, attr, dcsr, edgeDim, 'mean');
    assertGradClose('d edge_attr', await edgeAttr.grad!.read(), dattr, 1e-4);
    edgeAttr.dispose();
  }
  model.dispose();
  graphs.dispose();
  dispose();
}

/** BatchNorm1d alone: training forward, running statistics, every gradient, evaluation forward, state dict. */
async function checkBatchNorm(gpu: Gpu, rand: () => number): Promise<void> {
  const n = randInt(rand, 2, 300),
    f = randInt(rand, 1, 70);
  const m = new BatchNorm1d(f).init(gpu);
  const p = randomizeParameters(m, rand);
  const x = randomArray(rand, n * f, -3, 5);
  const leaf = Variable.leaf(gpu.tensor('f32', [n, f], x), { requiresGrad: true });
  const out = m.forward(leaf);
  const want = batchNormRef(x, p.get('weight')!, p.get('bias')!, n, f);
  assertClose('training forward', await out.read(), want.y, 1e-4);
  const dy = randomArray(rand, n * f);
  fill(gpu, m.parameterStore.grads, NaN);
  out.backward(gpu.tensor('f32', [n, f], dy));
  const back = want.backward(dy);
  const grads = await m.parameterStore.readAll('grads');
  assertGradClose('d weight', grads.get('weight')!, back.dw);
  assertGradClose('d bias', grads.get('bias')!, back.db);
  assertGradClose('d x', await leaf.grad!.read(), back.dx);
  const rm = Float64Array.from(want.mean, (v) => 0.1 * v),
    rv = Float64Array.from(want.variance, (v) => 0.9 + (0.1 * v * n) / (n - 1));
  const sd = await m.stateDict();
  assert(
    Object.keys(sd).join() === 'weight,bias,running_mean,running_var,num_batches_tracked',
    `state-dict names: ${Object.keys(sd)}`,
  );
  assertClose('running_mean', sd.running_mean.data, rm, 1e-5);
  assertClose('running_var (unbiased)', sd.running_var.data, rv, 1e-5);
  assert(sd.num_batches_tracked.data[0] === 1, 'num_batches_tracked counts training forwards');
  m.eval();
  const ev = m.forward(leaf);
  const wantEval = Float64Array.from(
    x,
    (v, i) => ((v - rm[i % f]) / Math.sqrt(rv[i % f] + 1e-5)) * p.get('weight')![i % f] + p.get('bias')![i % f],
  );
  assertClose('evaluation forward (running statistics)', await ev.read(), wantEval, 1e-4);
  m.train();
  assertThrows(
    'one row in training',
    () => m.forward(gpu.tensor('f32', [1, f], new Float32Array(f))),
    /more than 1 value per channel/,
  );
  leaf.dispose();
  m.dispose();
}

export const cases: KernelCase[] = [
  {
    name:
      'BatchNorm1d: training forward, running statistics (unbiased), every gradient, evaluation forward and ' +
      'state dict match float64',
    run: (gpu) => repeat(4, 503, (r) => checkBatchNorm(gpu, r)),
  },
  {
    name: 'globalAddPool, globalMeanPool, globalMaxPool forward and backward match float64 (one-node and empty graphs)',
    run: (gpu) => repeat(3, 500, (r) => checkGlobalPools(gpu, r)),
  },
  {
    name:
      'AttentionalAggregation (gate per node or per feature, with and without nn): output, beta and every ' +
      'gradient match float64',
    run: (gpu) => repeat(4, 501, (r, i) => checkAttentionalAggregation(gpu, r, i % 2 === 1, i >= 2)),
  },
  {
    name:
      'GATv2GraphClassifier (2 residual layers, jumping knowledge, sum / max / attention readout, MLP head with ' +
      'BatchNorm1d): loss and every gradient match float64',
    run: (gpu) => repeat(3, 502, (r, i) => checkClassifier(gpu, r, (['add', 'max', 'attention'] as const)[i])),
  },
  {
    name: 'GATv2GraphClassifier with edge features (edgeDim): loss, every gradient and d edge_attr match float64',
    run: (gpu) => repeat(2, 504, (r, i) => checkClassifier(gpu, r, (['add', 'attention'] as const)[i], 1 + 3 * i)),
  },
  {
    name: 'GATv2GraphClassifier: PyTorch state-dict names, and bad options refused by name',
    run: async () => {
      const m = new GATv2GraphClassifier({ inChannels: 7, numClasses: 2, numLayers: 2, readout: 'attention' });
      const names = [...m.stateShapes().keys()];
      for (const k of [
        'convs.0.att',
        'convs.0.lin_l.weight',
        'convs.1.lin_r.bias',
        'pool.gate_nn.weight',
        'head.0.weight',
        'head.1.running_var',
        'head.1.num_batches_tracked',
        'head.4.bias',
      ]) {
        assert(names.includes(k), `state dict has no ${k}: [${names}]`);
      }
      const withEdges = new GATv2GraphClassifier({ inChannels: 7, numClasses: 2, numLayers: 2, edgeDim: 4 });
      const edgeNames = [...withEdges.stateShapes()].filter(([k]) => k.includes('lin_edge'));
      assert(
        JSON.stringify(edgeNames) ===
          JSON.stringify([
            ['convs.0.lin_edge.weight', [64, 4]],
            ['convs.1.lin_edge.weight', [64, 4]],
          ]),
        `lin_edge entries: ${JSON.stringify(edgeNames)}`,
      );
      assertThrows(
        'edgeDim',
        () => new GATv2GraphClassifier({ inChannels: 7, numClasses: 2, edgeDim: 1.5 }),
        /edgeDim must be a non-negative integer/,
      );
      assertThrows(
        'readout',
        () => new GATv2GraphClassifier({ inChannels: 7, numClasses: 2, readout: 'sum' as GraphReadout }),
        /readout must be/,
      );
      assertThrows(
        'numLayers',
        () => new GATv2GraphClassifier({ inChannels: 7, numClasses: 2, numLayers: 0 }),
        /numLayers must be a positive integer/,
      );
      assertThrows('gateNN', () => new AttentionalAggregation({} as Module), /gateNN must be a Module/);
    },
  },
];
