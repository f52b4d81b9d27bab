// Graph readout modules and the graph classifier against float64 references: globalAddPool, globalMeanPool,
// globalMaxPool and AttentionalAggregation forward and backward on the tape (batches with one-node and empty
// graphs), the pooling weights, state-dict names, and a whole GATv2GraphClassifier's loss and every gradient.
import type { Gpu } from '../../src/gpu/gpu.ts';
import { fill } from '../../src/kernels/elementwise.ts';
import type { GraphSegments } from '../../src/kernels/pooling.ts';
import { GATv2GraphClassifier, type GraphReadout } from '../../src/nn/graph-classifier.ts';
import { GraphSet } from '../../src/nn/graphs.ts';
import { Linear } from '../../src/nn/linear.ts';
import type { Module } from '../../src/nn/module.ts';
import { AttentionalAggregation, globalAddPool, globalMaxPool, globalMeanPool } from '../../src/nn/pool.ts';
import { Variable } from '../../src/nn/tape.ts';
import { crossEntropy } from '../../src/train/loss.ts';
import * as ref from '../reference/model.ts';
import * as mods from '../reference/modules.ts';
import * as pool from '../reference/pooling.ts';
import { assert, assertClose, assertGradClose, assertThrows, randInt, randomArray, repeat, type KernelCase } from './harness.ts';

type Params = Map<string, Float64Array>;
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

function randomizeParameters(model: Module, rand: () => number): Params {
  const out: Params = new Map();
  for (const [name, p] of model.namedParameters()) {
    const v = randomArray(rand, p.value.size);
    p.value.write(v);
    out.set(name, f64(v));
  }
  return out;
}

/** A batch of graphs of the given sizes: segments on the GPU, and host ptr. */
function segmentsOf(gpu: Gpu, sizes: readonly number[]): { seg: GraphSegments; ptr: Uint32Array; dispose(): void } {
  const ptr = new Uint32Array(sizes.length + 1);
  sizes.forEach((s, g) => (ptr[g + 1] = ptr[g] + s));
  const n = ptr[sizes.length];
  const batch = new Uint32Array(n);
  sizes.forEach((_, g) => batch.fill(g, ptr[g], ptr[g + 1]));
  const t = { ptr: gpu.tensor('u32', [sizes.length + 1], ptr), batch: gpu.tensor('u32', [n], batch) };
  return { seg: { numGraphs: sizes.length, numNodes: n, ...t }, ptr, dispose: () => (t.ptr.dispose(), t.batch.dispose()) };
}

/** Sizes with a one-node graph (and an empty one when allowed) among them. */
function randomSizes(rand: () => number, graphs: number, allowEmpty: boolean): number[] {
  return Array.from({ length: graphs }, (_, g) => (g === 1 ? 1 : allowEmpty && g === 2 ? 0 : randInt(rand, 2, 12)));
}

async function checkGlobalPools(gpu: Gpu, rand: () => number): Promise<void> {
  const sizes = randomSizes(rand, randInt(rand, 3, 9), true);
  const { seg, ptr, dispose } = segmentsOf(gpu, sizes);
  const f = randInt(rand, 1, 40), n = seg.numNodes, b = seg.numGraphs;
  const x = randomArray(rand, n * f);
  for (const [mode, op] of [['add', globalAddPool], ['mean', globalMeanPool], ['max', globalMaxPool]] as const) {
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
  assertThrows('rows that do not match the batch', () => globalAddPool(gpu.tensor('f32', [n + 1, f], new Float32Array((n + 1) * f)), seg), /features have \d+ rows, the batch has \d+ nodes/);
  dispose();
}

/** AttentionalAggregation(Linear(F, G), nn = Linear(F, F2)?): output, beta, and every gradient against float64. */
async function checkAttentionalAggregation(gpu: Gpu, rand: () => number, withNN: boolean, perFeature: boolean): Promise<void> {
  const sizes = randomSizes(rand, randInt(rand, 2, 8), true);
  const { seg, ptr, dispose } = segmentsOf(gpu, sizes);
  const n = seg.numNodes, b = seg.numGraphs, f = randInt(rand, 2, 12);
  const f2 = withNN ? randInt(rand, 2, 10) : f;
  const g = perFeature ? f2 : 1;
  const agg = new AttentionalAggregation(new Linear(f, g), withNN ? new Linear(f, f2) : undefined).init(gpu, { seed: 1 });
  const names = [...agg.stateShapes().keys()].join();
  assert(names === (withNN ? 'gate_nn.weight,gate_nn.bias,nn.weight,nn.bias' : 'gate_nn.weight,gate_nn.bias'), `state-dict names: ${names}`);
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
 * graphs, one training step: the loss and the gradient of every parameter against float64.
 */
async function checkClassifier(gpu: Gpu, rand: () => number, readout: GraphReadout): Promise<void> {
  const sizes = randomSizes(rand, randInt(rand, 2, 6), false);
  const { seg, ptr, dispose } = segmentsOf(gpu, sizes);
  const n = seg.numNodes, b = seg.numGraphs;
  // Edges within each graph only (block-diagonal), some nodes without any.
  const src: number[] = [], dst: number[] = [];
  sizes.forEach((s, gi) => {
    for (let k = 0; k < 2 * s; k++) {
      const i = randInt(rand, 0, s), j = randInt(rand, 0, s);
      if (i !== j) src.push(ptr[gi] + i), dst.push(ptr[gi] + j);
    }
  });
  const graphs = new GraphSet(gpu, [src, dst], n);
  const hg = graphs.hostGraph(true);
  const edges: ref.Edges = { numNodes: n, src: hg.src, dst: hg.dst };
  const fin = randInt(rand, 2, 8), hid = 3, heads = 2, classes = randInt(rand, 2, 4), HC = hid * heads;
  const model = new GATv2GraphClassifier({ inChannels: fin, numClasses: classes, hiddenChannels: hid, heads, numLayers: 2, readout, dropout: 0 });
  model.init(gpu, { seed: 3 });
  const p = randomizeParameters(model, rand);
  const x = randomArray(rand, n * fin);
  const labels = Int32Array.from({ length: b }, () => randInt(rand, 0, classes));
  const out = model.forward(gpu.tensor('f32', [n, fin], x), { ...seg, graphs });
  const loss = crossEntropy(out, gpu.tensor('i32', [b], labels), { mask: new Uint8Array(b).fill(1) });
  fill(gpu, model.parameterStore.grads, NaN);
  loss.backward();

  const sub = (prefix: string): Params => new Map([...p].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  const spec = (fi: number): ref.LayerSpec => ({ kind: 'gatv2', inChannels: fi, channels: hid, heads, concat: true, slope: 0.2, bias: true, shareWeights: false, residual: true });
  const none = new Float64Array(edges.src.length * heads).fill(1);
  const l1 = ref.layerForward(spec(fin), sub('convs.0.'), f64(x), edges, none);
  const h1 = mods.elu(l1.out);
  const l2 = ref.layerForward(spec(HC), sub('convs.1.'), h1, edges, none);
  const h2 = mods.elu(l2.out);
  const z = mods.concatColumns([h1, h2], [HC, HC], n);
  const W = 2 * HC;
  let gz: Float64Array, beta: Float64Array | null = null, gate: Float64Array | null = null, argmax: Int32Array | null = null;
  if (readout === 'attention') {
    gate = mods.linearForward(z, p.get('pool.gate_nn.weight')!, p.get('pool.gate_nn.bias')!, n, W, 1);
    const r = pool.attentionPool(z, gate, ptr, W, 1);
    [gz, beta] = [r.out, r.beta];
  } else {
    const r = pool.globalPool(z, ptr, W, readout);
    [gz, argmax] = [r.out, r.argmax];
  }
  const a = mods.linearForward(gz, p.get('head.1.weight')!, p.get('head.1.bias')!, b, W, HC);
  const ra = a.map((v) => Math.max(v, 0));
  const logits = mods.linearForward(ra, p.get('head.3.weight')!, p.get('head.3.bias')!, b, HC, classes);
  const { loss: wantLoss, dlogits } = ref.nll(logits, labels, new Uint8Array(b).fill(1), classes);
  assertClose('loss', [await loss.item()], [wantLoss], 1e-5);

  const want: Params = new Map();
  const b3 = mods.linearBackward(ra, p.get('head.3.weight')!, dlogits, b, HC, classes);
  want.set('head.3.weight', b3.dw).set('head.3.bias', b3.db);
  const b1 = mods.linearBackward(gz, p.get('head.1.weight')!, b3.dx.map((v, i) => (a[i] > 0 ? v : 0)), b, W, HC);
  want.set('head.1.weight', b1.dw).set('head.1.bias', b1.db);
  let dz: Float64Array;
  if (readout === 'attention') {
    const r = pool.attentionPoolBackward(z, beta!, b1.dx, ptr, W, 1);
    const bgate = mods.linearBackward(z, p.get('pool.gate_nn.weight')!, r.dgate, n, W, 1);
    want.set('pool.gate_nn.weight', bgate.dw).set('pool.gate_nn.bias', bgate.db);
    dz = mods.plus(r.dx, bgate.dx);
  } else {
    dz = pool.globalPoolBackward(b1.dx, ptr, W, readout, argmax!);
  }
  const dh1z = mods.columns(dz, n, W, 0, HC), dh2 = mods.columns(dz, n, W, HC, HC);
  const c2 = ref.layerBackward(spec(HC), sub('convs.1.'), l2.cache, edges, none, mods.eluGrad(l2.out, dh2));
  for (const [k, v] of c2.grads) want.set(`convs.1.${k}`, v);
  const c1 = ref.layerBackward(spec(fin), sub('convs.0.'), l1.cache, edges, none, mods.eluGrad(l1.out, mods.plus(dh1z, c2.dx)));
  for (const [k, v] of c1.grads) want.set(`convs.0.${k}`, v);
  const grads = await model.parameterStore.readAll('grads');
  assert([...grads.keys()].sort().join() === [...want.keys()].sort().join(), `parameters: [${[...grads.keys()]}], reference [${[...want.keys()]}]`);
  for (const [k, v] of want) assertGradClose(`d ${k}`, grads.get(k)!, v, 1e-4);
  model.dispose();
  graphs.dispose();
  dispose();
}

export const cases: KernelCase[] = [
  { name: 'globalAddPool, globalMeanPool, globalMaxPool forward and backward match float64 (one-node and empty graphs)', run: (gpu) => repeat(3, 500, (r) => checkGlobalPools(gpu, r)) },
  {
    name: 'AttentionalAggregation (gate per node or per feature, with and without nn): output, beta and every gradient match float64',
    run: (gpu) => repeat(4, 501, (r, i) => checkAttentionalAggregation(gpu, r, i % 2 === 1, i >= 2)),
  },
  {
    name: 'GATv2GraphClassifier (2 residual layers, jumping knowledge, sum / max / attention readout, MLP head): loss and every gradient match float64',
    run: (gpu) => repeat(3, 502, (r, i) => checkClassifier(gpu, r, (['add', 'max', 'attention'] as const)[i])),
  },
  {
    name: 'GATv2GraphClassifier: PyTorch state-dict names, and bad options refused by name',
    run: async () => {
      const m = new GATv2GraphClassifier({ inChannels: 7, numClasses: 2, numLayers: 2, readout: 'attention' });
      const names = [...m.stateShapes().keys()];
      for (const k of ['convs.0.att', 'convs.0.lin_l.weight', 'convs.1.lin_r.bias', 'pool.gate_nn.weight', 'head.1.weight', 'head.3.bias']) {
        assert(names.includes(k), `state dict has no ${k}: [${names}]`);
      }
      assertThrows('edgeDim', () => new GATv2GraphClassifier({ inChannels: 7, numClasses: 2, edgeDim: 4 }), /edgeDim: edge features in attention are not available yet/);
      assertThrows('readout', () => new GATv2GraphClassifier({ inChannels: 7, numClasses: 2, readout: 'sum' as GraphReadout }), /readout must be/);
      assertThrows('numLayers', () => new GATv2GraphClassifier({ inChannels: 7, numClasses: 2, numLayers: 0 }), /numLayers must be a positive integer/);
      assertThrows('gateNN', () => new AttentionalAggregation({} as Module), /gateNN must be a Module/);
    },
  },
];
