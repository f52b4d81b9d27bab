// The module API on the GPU against float64 references: every module's forward and backward, a Sequential of seven
// modules and a class with a skip connection and a jumping-knowledge concat (whole-model gradients), gradient
// accumulation, state dicts in PyTorch's names, strict and non-strict loading, stale buffers, predict.
import type { Gpu } from '../../src/gpu/gpu.ts';
import { fill } from '../../src/kernels/elementwise.ts';
import { uploadSparse, uploadSparseTranspose, type SparseRows } from '../../src/kernels/spmm.ts';
import { ELU, LeakyReLU, ReLU } from '../../src/nn/activations.ts';
import type { LayerGraphs } from '../../src/nn/conv.ts';
import { Dropout } from '../../src/nn/dropout.ts';
import { add, concat } from '../../src/nn/functional.ts';
import { GATConv } from '../../src/nn/gat-conv.ts';
import { GATv2Conv } from '../../src/nn/gatv2-conv.ts';
import { GraphSet } from '../../src/nn/graphs.ts';
import { Linear } from '../../src/nn/linear.ts';
import { Module } from '../../src/nn/module.ts';
import { Sequential } from '../../src/nn/sequential.ts';
import { Variable, type Features } from '../../src/nn/tape.ts';
import { crossEntropy } from '../../src/train/loss.ts';
import { Adam } from '../../src/train/optim.ts';
import { dropoutScale, leakyRelu, leakyReluGrad } from '../reference/common.ts';
import * as ew from '../reference/elementwise.ts';
import * as ref from '../reference/model.ts';
import * as mods from '../reference/modules.ts';
import {
  assert,
  assertClose,
  assertEqual,
  assertGradClose,
  assertThrows,
  randInt,
  randomArray,
  randomEdges,
  randomizeParameters,
  repeat,
  rng,
  type KernelCase,
} from './harness.ts';

type Params = Map<string, Float64Array>;
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

/** Every gradient poisoned with NaN, so that one the backward fails to write shows. */
function poisonGradients(gpu: Gpu, model: Module): void {
  fill(gpu, model.parameterStore.grads, NaN);
}

async function gradients(model: Module): Promise<Map<string, Float32Array>> {
  return model.parameterStore.readAll('grads');
}

/** Parameters of one child, names without its prefix (for the layer reference). */
const sub = (p: Params, prefix: string): Params =>
  new Map([...p].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));

function randomGraph(gpu: Gpu, rand: () => number, n: number): { graphs: GraphSet; edges: ref.Edges } {
  const [s, d] = randomEdges(rand, n, randInt(rand, n, 4 * n));
  const graphs = new GraphSet(gpu, [s, d], n);
  const g = graphs.hostGraph(true);
  return { graphs, edges: { numNodes: n, src: g.src, dst: g.dst } };
}

/** Runs `forward` twice (two passes over the same buffers), the output poisoned in between, and returns the second. */
function forwardTwice(gpu: Gpu, forward: () => Variable): Variable {
  fill(gpu, forward().dense(), NaN);
  return forward();
}

const maskOf = (seed: number, step: number, len: number, p: number) =>
  Float64Array.from({ length: len }, (_, i) => dropoutScale(seed, step, i, p));

async function checkLinear(gpu: Gpu, rand: () => number, input: 'dense' | 'sparse' | 'dropout'): Promise<void> {
  // Sizes from short lists: each product shape compiles its own matmul pipeline, which SwiftShader takes long over.
  const pick = (xs: number[]) => xs[randInt(rand, 0, xs.length)];
  const n = randInt(rand, 1, 70),
    fin = pick([1, 7, 33]),
    fout = pick([3, 16]),
    bias = rand() < 0.7;
  const lin = new Linear(fin, fout, { bias });
  const p = 0.3;
  const model = input === 'dropout' ? new Sequential([new Dropout(p), lin]) : lin;
  model.init(gpu, { seed: randInt(rand, 0, 100) });
  const params = randomizeParameters(model, rand);
  const prefix = input === 'dropout' ? '1.' : '';
  const x = randomArray(rand, n * fin).map((v) => (input === 'sparse' && rand() < 0.6 ? 0 : v));
  let features: Features;
  let leaf: Variable | null = null;
  if (input === 'sparse') {
    const rows: SparseRows = {
      rows: n,
      cols: fin,
      rowPtr: new Uint32Array(n + 1),
      colIdx: new Uint32Array(0),
      values: new Float32Array(0),
    };
    const cols: number[] = [],
      vals: number[] = [];
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < fin; c++) if (x[r * fin + c] !== 0) cols.push(c), vals.push(x[r * fin + c]);
      rows.rowPtr[r + 1] = cols.length;
    }
    rows.colIdx = Uint32Array.from(cols);
    rows.values = Float32Array.from(vals);
    features = { kind: 'sparse', x: uploadSparse(gpu, rows), xT: uploadSparseTranspose(gpu, rows) };
  } else {
    features = leaf = Variable.leaf(gpu.tensor('f32', [n, fin], x), { requiresGrad: true });
  }
  const out = forwardTwice(gpu, () => (model.forward as (x: Features) => Variable)(features));
  const step = model.stepCount;
  const xMask = input === 'dropout' ? maskOf(model.namedModules()[1][1].dropoutSeed, step, n * fin, p) : null;
  const xIn = xMask ? mods.times(x, xMask) : f64(x);
  const w = params.get(`${prefix}weight`)!,
    b = bias ? params.get(`${prefix}bias`)! : null;
  assertClose('Linear forward', await out.read(), mods.linearForward(xIn, w, b, n, fin, fout));
  const dy = randomArray(rand, n * fout);
  poisonGradients(gpu, model);
  out.backward(gpu.tensor('f32', [n, fout], dy));
  const want = mods.linearBackward(xIn, w, dy, n, fin, fout);
  const grads = await gradients(model);
  assertClose('d weight', grads.get(`${prefix}weight`)!, want.dw, 1e-5);
  if (bias) assertClose('d bias', grads.get(`${prefix}bias`)!, want.db, 1e-5);
  if (leaf) assertClose('d x', await leaf.grad!.read(), xMask ? mods.times(want.dx, xMask) : want.dx, 1e-5);
  leaf?.dispose();
  model.dispose();
}

async function checkActivation(
  gpu: Gpu,
  rand: () => number,
  kind: 'elu' | 'relu' | 'leaky',
  asMethod: boolean,
): Promise<void> {
  const n = randInt(rand, 1, 60),
    f = [5, 16][randInt(rand, 0, 2)];
  const slope = kind === 'relu' ? 0 : kind === 'leaky' ? rand() * 0.5 : 0;
  const alpha = 0.5 + rand();
  // A Linear in front, so that the activation's input gradient reaches a parameter as well as the leaf.
  const lin = new Linear(f, f);
  const act =
    kind === 'elu' ? new ELU({ alpha }) : kind === 'relu' ? new ReLU() : new LeakyReLU({ negativeSlope: slope });
  class Net extends Module {
    lin = lin;
    act = act;
    override forward(x: Features): Variable {
      const h = this.lin.forward(x);
      if (!asMethod) return this.act.forward(h);
      return kind === 'elu' ? h.elu(alpha) : kind === 'relu' ? h.relu() : h.leakyRelu(slope);
    }
  }
  const net = new Net().init(gpu);
  const params = randomizeParameters(net, rand);
  const x = randomArray(rand, n * f, -2, 2);
  const leaf = Variable.leaf(gpu.tensor('f32', [n, f], x), { requiresGrad: true });
  const out = forwardTwice(gpu, () => net.forward(leaf));
  const h = mods.linearForward(x, params.get('lin.weight')!, params.get('lin.bias')!, n, f, f);
  const y = kind === 'elu' ? ew.eluForward(h, alpha) : ew.leakyReluForward(h, slope);
  assertClose(`${kind} forward`, await out.read(), y);
  const dy = randomArray(rand, n * f);
  poisonGradients(gpu, net);
  out.backward(gpu.tensor('f32', [n, f], dy));
  const dh = kind === 'elu' ? ew.eluBackward(h, dy, alpha) : ew.leakyReluBackward(h, dy, slope);
  const want = mods.linearBackward(x, params.get('lin.weight')!, dh, n, f, f);
  assertClose(`${kind} d x`, await leaf.grad!.read(), want.dx, 1e-5);
  assertClose(`${kind} d weight`, (await gradients(net)).get('lin.weight')!, want.dw, 1e-5);
  leaf.dispose();
  net.dispose();
}

/** Dropout after a Linear: the mask in training, its backward, and the identity in evaluation. */
async function checkDropout(gpu: Gpu, rand: () => number): Promise<void> {
  const n = randInt(rand, 1, 80),
    f = randInt(rand, 1, 30),
    p = 0.1 + 0.8 * rand();
  const net = new Sequential([new Linear(f, f), new Dropout(p)]).init(gpu, { seed: randInt(rand, 0, 100) });
  const params = randomizeParameters(net, rand);
  const x = randomArray(rand, n * f);
  const leaf = Variable.leaf(gpu.tensor('f32', [n, f], x), { requiresGrad: true });
  const out = forwardTwice(gpu, () => net.forward(leaf));
  const mask = maskOf(net.layers[1].dropoutSeed, net.stepCount, n * f, p);
  const h = mods.linearForward(x, params.get('0.weight')!, params.get('0.bias')!, n, f, f);
  assertClose('dropout forward', await out.read(), mods.times(h, mask));
  const dy = randomArray(rand, n * f);
  out.backward(gpu.tensor('f32', [n, f], dy));
  const want = mods.linearBackward(x, params.get('0.weight')!, mods.times(dy, mask), n, f, f);
  assertClose('dropout d x', await leaf.grad!.read(), want.dx, 1e-5);
  net.eval();
  assertClose('evaluation: identity', await net.forward(leaf).read(), h);
  leaf.dispose();
  net.dispose();
}

/** add and concat in a class: y = concat([add(lin1(x), x), lin2(x), x]). */
async function checkAddConcat(gpu: Gpu, rand: () => number): Promise<void> {
  const n = randInt(rand, 1, 60),
    f = randInt(rand, 1, 20),
    g = randInt(rand, 1, 20);
  class Net extends Module {
    lin1 = new Linear(f, f);
    lin2 = new Linear(f, g);
    override forward(x: Features): Variable {
      return concat([add(this.lin1.forward(x), x), this.lin2.forward(x), x]);
    }
  }
  const net = new Net().init(gpu);
  const p = randomizeParameters(net, rand);
  const x = randomArray(rand, n * f);
  const leaf = Variable.leaf(gpu.tensor('f32', [n, f], x), { requiresGrad: true });
  const out = forwardTwice(gpu, () => net.forward(leaf));
  const a = mods.plus(mods.linearForward(x, p.get('lin1.weight')!, p.get('lin1.bias')!, n, f, f), x);
  const b = mods.linearForward(x, p.get('lin2.weight')!, p.get('lin2.bias')!, n, f, g);
  const W = 2 * f + g;
  assertClose('concat(add, lin2, x)', await out.read(), mods.concatColumns([a, b, x], [f, g, f], n));
  const dy = randomArray(rand, n * W);
  out.backward(gpu.tensor('f32', [n, W], dy));
  const da = mods.columns(dy, n, W, 0, f),
    db = mods.columns(dy, n, W, f, g),
    dxDirect = mods.columns(dy, n, W, f + g, f);
  const b1 = mods.linearBackward(x, p.get('lin1.weight')!, da, n, f, f);
  const b2 = mods.linearBackward(x, p.get('lin2.weight')!, db, n, f, g);
  // x feeds four consumers: lin1, the add, lin2 and the concat; its gradient is the sum.
  const dx = mods.plus(mods.plus(mods.plus(b1.dx, da), b2.dx), dxDirect);
  assertClose('d x (four consumers)', await leaf.grad!.read(), dx, 1e-5);
  const grads = await gradients(net);
  assertClose('d lin1.weight', grads.get('lin1.weight')!, b1.dw, 1e-5);
  assertClose('d lin2.bias', grads.get('lin2.bias')!, b2.db, 1e-5);
  leaf.dispose();
  net.dispose();
}

function layerSpec(
  kind: 'gatv2' | 'gat',
  fin: number,
  c: number,
  heads: number,
  concat: boolean,
  residual = false,
): ref.LayerSpec {
  return { kind, inChannels: fin, channels: c, heads, concat, slope: 0.2, bias: true, shareWeights: false, residual };
}

/**
 * Sequential(Dropout, GATv2Conv, ELU, Dropout, Linear, LeakyReLU, GATConv) with dropout everywhere, trained one
 * step with crossEntropy: loss, logits and every parameter gradient against float64.
 */
async function checkSequential(gpu: Gpu, rand: () => number): Promise<void> {
  const n = randInt(rand, 5, 50),
    fin = randInt(rand, 2, 20),
    classes = randInt(rand, 2, 6),
    p = 0.3,
    pa = 0.2;
  const model = new Sequential([
    new Dropout(p),
    new GATv2Conv(fin, 4, { heads: 2, dropout: pa, residual: true }),
    new ELU(),
    new Dropout(p),
    new Linear(8, 6),
    new LeakyReLU({ negativeSlope: 0.1 }),
    new GATConv(6, classes, { heads: 2, concat: false, dropout: pa }),
  ]).init(gpu, { seed: randInt(rand, 0, 1000) });
  const params = randomizeParameters(model, rand);
  const { graphs, edges } = randomGraph(gpu, rand, n);
  const x = randomArray(rand, n * fin);
  const labels = Int32Array.from({ length: n }, () => randInt(rand, 0, classes));
  const train = Uint8Array.from({ length: n }, (_, i) => (i === 0 || rand() < 0.6 ? 1 : 0));
  model.context.stepValue = randInt(rand, 0, 500);
  const out = model.forward(gpu.tensor('f32', [n, fin], x), graphs);
  const logits = await out.read();
  poisonGradients(gpu, model);
  const loss = crossEntropy(out, gpu.tensor('i32', [n], labels), { mask: train });
  loss.backward();

  const step = model.stepCount,
    E = edges.src.length;
  const seed = (i: number) => model.layers[i].dropoutSeed;
  const c1 = layerSpec('gatv2', fin, 4, 2, true, true),
    c6 = layerSpec('gat', 6, classes, 2, false);
  const m0 = maskOf(seed(0), step, n * fin, p),
    m3 = maskOf(seed(3), step, n * 8, p);
  const a1 = maskOf(seed(1), step, E * 2, pa),
    a6 = maskOf(seed(6), step, E * 2, pa);
  const x0 = mods.times(x, m0);
  const l1 = ref.layerForward(c1, sub(params, '1.'), x0, edges, a1);
  const h3 = mods.times(mods.elu(l1.out), m3);
  const z = mods.linearForward(h3, params.get('4.weight')!, params.get('4.bias')!, n, 8, 6);
  const a = Float64Array.from(z, (v) => leakyRelu(v, 0.1));
  const l6 = ref.layerForward(c6, sub(params, '6.'), a, edges, a6);
  const { loss: wantLoss, dlogits } = ref.nll(l6.out, labels, train, classes);
  assertClose('logits', logits, l6.out, 1e-5);
  assertClose('loss', [await loss.item()], [wantLoss], 1e-5);
  const b6 = ref.layerBackward(c6, sub(params, '6.'), l6.cache, edges, a6, dlogits);
  const dz = Float64Array.from(z, (v, i) => b6.dx[i] * leakyReluGrad(v, 0.1));
  const b4 = mods.linearBackward(h3, params.get('4.weight')!, dz, n, 8, 6);
  const dl1 = mods.eluGrad(l1.out, mods.times(b4.dx, m3));
  const b1 = ref.layerBackward(c1, sub(params, '1.'), l1.cache, edges, a1, dl1);
  const want = new Map<string, Float64Array>([
    ['4.weight', b4.dw],
    ['4.bias', b4.db],
  ]);
  for (const [k, v] of b1.grads) want.set(`1.${k}`, v);
  for (const [k, v] of b6.grads) want.set(`6.${k}`, v);
  const grads = await gradients(model);
  assertEqual(
    'gradients of every parameter',
    [...want.keys()].sort().map((k) => +grads.has(k)),
    [...want.keys()].map(() => 1),
  );
  for (const [name, g] of want) assertGradClose(`d ${name}`, grads.get(name)!, g, 1e-4);
  model.dispose();
  graphs.dispose();
}

/** h1 = ELU(conv1(x)); h2 = conv2(h1) + h1; out = lin([h1 | h2]) (the skip and jumping-knowledge class). */
class SkipJumpingKnowledgeNet extends Module {
  conv1: GATv2Conv;
  conv2: GATConv;
  lin: Linear;
  constructor(fin: number, hidden: number, heads: number, classes: number, dropout = 0) {
    super();
    this.conv1 = new GATv2Conv(fin, hidden, { heads, dropout });
    this.conv2 = new GATConv(hidden * heads, hidden, { heads, dropout });
    this.lin = new Linear(2 * hidden * heads, classes);
  }
  override forward(x: Features, graph: LayerGraphs): Variable {
    const h1 = this.conv1.forward(x, graph).elu();
    const h2 = add(this.conv2.forward(h1, graph), h1);
    return this.lin.forward(concat([h1, h2]));
  }
}

async function checkSkipClass(gpu: Gpu, rand: () => number): Promise<void> {
  const n = randInt(rand, 5, 50),
    fin = randInt(rand, 2, 16),
    classes = randInt(rand, 2, 6),
    heads = 2,
    hid = 3,
    pa = 0.25;
  const HC = heads * hid;
  const net = new SkipJumpingKnowledgeNet(fin, hid, heads, classes, pa).init(gpu, { seed: randInt(rand, 0, 1000) });
  const params = randomizeParameters(net, rand);
  const { graphs, edges } = randomGraph(gpu, rand, n);
  const x = randomArray(rand, n * fin);
  const leaf = Variable.leaf(gpu.tensor('f32', [n, fin], x), { requiresGrad: true });
  const labels = Int32Array.from({ length: n }, () => randInt(rand, 0, classes));
  const index = Int32Array.from({ length: n }, (_, i) => i).filter((i) => i === 0 || rand() < 0.5);
  const out = net.forward(leaf, graphs);
  const loss = crossEntropy(out, gpu.tensor('i32', [n], labels), { index });
  poisonGradients(gpu, net);
  loss.backward();

  const E = edges.src.length,
    step = net.stepCount;
  const a1 = maskOf(net.conv1.dropoutSeed, step, E * heads, pa),
    a2 = maskOf(net.conv2.dropoutSeed, step, E * heads, pa);
  const c1 = layerSpec('gatv2', fin, hid, heads, true),
    c2 = layerSpec('gat', HC, hid, heads, true);
  const l1 = ref.layerForward(c1, sub(params, 'conv1.'), f64(x), edges, a1);
  const h1 = mods.elu(l1.out);
  const l2 = ref.layerForward(c2, sub(params, 'conv2.'), h1, edges, a2);
  const h2 = mods.plus(l2.out, h1);
  const cat = mods.concatColumns([h1, h2], [HC, HC], n);
  const y = mods.linearForward(cat, params.get('lin.weight')!, params.get('lin.bias')!, n, 2 * HC, classes);
  const mask = new Uint8Array(n);
  index.forEach((i) => (mask[i] = 1));
  const { loss: wantLoss, dlogits } = ref.nll(y, labels, mask, classes);
  assertClose('loss', [await loss.item()], [wantLoss], 1e-5);
  const bl = mods.linearBackward(cat, params.get('lin.weight')!, dlogits, n, 2 * HC, classes);
  const dh1Cat = mods.columns(bl.dx, n, 2 * HC, 0, HC),
    dh2 = mods.columns(bl.dx, n, 2 * HC, HC, HC);
  const b2 = ref.layerBackward(c2, sub(params, 'conv2.'), l2.cache, edges, a2, dh2);
  // h1 feeds conv2, the skip and the concat.
  const dh1 = mods.plus(mods.plus(dh1Cat, dh2), b2.dx);
  const b1 = ref.layerBackward(c1, sub(params, 'conv1.'), l1.cache, edges, a1, mods.eluGrad(l1.out, dh1));
  const grads = await gradients(net);
  assertClose('d lin.weight', grads.get('lin.weight')!, bl.dw, 1e-4);
  assertClose('d lin.bias', grads.get('lin.bias')!, bl.db, 1e-4);
  for (const [k, v] of b2.grads) assertGradClose(`d conv2.${k}`, grads.get(`conv2.${k}`)!, v, 1e-4);
  for (const [k, v] of b1.grads) assertGradClose(`d conv1.${k}`, grads.get(`conv1.${k}`)!, v, 1e-4);
  assertClose('d x', await leaf.grad!.read(), b1.dx, 1e-4);
  leaf.dispose();
  net.dispose();
  graphs.dispose();
}

const PAPER_SEQUENTIAL_NAMES = [
  '1.att',
  '1.bias',
  '1.lin_l.weight',
  '1.lin_l.bias',
  '1.lin_r.weight',
  '1.lin_r.bias',
  '4.att',
  '4.bias',
  '4.lin_l.weight',
  '4.lin_l.bias',
  '4.lin_r.weight',
  '4.lin_r.bias',
];
const SKIP_NET_NAMES = [
  'conv1.att',
  'conv1.bias',
  'conv1.lin_l.weight',
  'conv1.lin_l.bias',
  'conv1.lin_r.weight',
  'conv1.lin_r.bias',
  'conv2.att_src',
  'conv2.att_dst',
  'conv2.bias',
  'conv2.lin.weight',
  'lin.weight',
  'lin.bias',
];

function paperSequential(fin: number, classes: number): Sequential {
  return new Sequential([
    new Dropout(0.6),
    new GATv2Conv(fin, 8, { heads: 8, dropout: 0.6 }),
    new ELU(),
    new Dropout(0.6),
    new GATv2Conv(64, classes, { heads: 1, concat: false, dropout: 0.6 }),
  ]);
}

function sameNames(label: string, got: readonly string[], want: readonly string[]): void {
  assert(got.join() === want.join(), `${label}: got [${got.join(', ')}], expected [${want.join(', ')}]`);
}

async function readValues(m: Module): Promise<Float32Array> {
  return (await m.parameterStore.values.read()) as Float32Array;
}

export const cases: KernelCase[] = [
  {
    name: 'Linear forward and backward match float64 (dense input)',
    run: (gpu) => repeat(4, 300, (r) => checkLinear(gpu, r, 'dense')),
  },
  {
    name: 'Linear on sparse features matches float64',
    run: (gpu) => repeat(3, 301, (r) => checkLinear(gpu, r, 'sparse')),
  },
  {
    name: 'Linear after Dropout (the mask applied as the product reads x) matches float64',
    run: (gpu) => repeat(3, 302, (r) => checkLinear(gpu, r, 'dropout')),
  },
  {
    name: 'ELU, ReLU and LeakyReLU (modules and Variable methods) forward and backward match float64',
    run: (gpu) => repeat(6, 303, (r, i) => checkActivation(gpu, r, (['elu', 'relu', 'leaky'] as const)[i % 3], i >= 3)),
  },
  {
    name: 'Dropout: the hashed mask in training, the same mask in its backward, the identity in evaluation',
    run: (gpu) => repeat(3, 304, (r) => checkDropout(gpu, r)),
  },
  {
    name: 'add and concat forward and backward match float64 (a leaf read by four consumers)',
    run: (gpu) => repeat(3, 305, (r) => checkAddConcat(gpu, r)),
  },
  {
    name: 'Sequential of 7 modules with dropout: loss and every gradient match float64',
    run: (gpu) => repeat(3, 306, (r) => checkSequential(gpu, r)),
  },
  {
    name: 'class with a skip (add) and a jumping-knowledge concat: loss, input and parameter gradients match float64',
    run: (gpu) => repeat(3, 307, (r) => checkSkipClass(gpu, r)),
  },
  {
    name: 'a module called twice in one forward gets both gradients; a second backward without zeroGrad adds to them',
    async run(gpu) {
      await repeat(2, 308, async (rand) => {
        const n = randInt(rand, 1, 40),
          f = randInt(rand, 1, 12);
        class Twice extends Module {
          lin = new Linear(f, f);
          override forward(x: Features): Variable {
            return this.lin.forward(this.lin.forward(x).relu());
          }
        }
        const net = new Twice().init(gpu);
        const p = randomizeParameters(net, rand);
        const w = p.get('lin.weight')!,
          b = p.get('lin.bias')!;
        const x = randomArray(rand, n * f),
          dy = randomArray(rand, n * f);
        const out = net.forward(gpu.tensor('f32', [n, f], x));
        const h = mods.linearForward(x, w, b, n, f, f),
          r = ew.leakyReluForward(h, 0);
        assertClose('twice forward', await out.read(), mods.linearForward(r, w, b, n, f, f));
        const outer = mods.linearBackward(r, w, dy, n, f, f);
        const inner = mods.linearBackward(x, w, ew.leakyReluBackward(h, outer.dx, 0), n, f, f);
        const dw = mods.plus(outer.dw, inner.dw);
        out.backward(gpu.tensor('f32', [n, f], dy));
        assertClose('d weight: sum over both calls', (await gradients(net)).get('lin.weight')!, dw, 1e-5);
        out.backward(gpu.tensor('f32', [n, f], dy));
        assertClose('a second backward adds', (await gradients(net)).get('lin.weight')!, mods.plus(dw, dw), 1e-5);
        net.zeroGrad();
        out.backward(gpu.tensor('f32', [n, f], dy));
        assertClose('after zeroGrad the backward overwrites', (await gradients(net)).get('lin.weight')!, dw, 1e-5);
        net.dispose();
      });
    },
  },
  {
    name: "state-dict names, shapes and order are PyTorch's for a Sequential and for a class",
    async run(gpu) {
      const seq = paperSequential(1433, 7);
      sameNames('Sequential names', [...seq.stateShapes().keys()], PAPER_SEQUENTIAL_NAMES);
      const net = new SkipJumpingKnowledgeNet(12, 8, 4, 5);
      sameNames('class names', [...net.stateShapes().keys()], SKIP_NET_NAMES);
      const shapes = net.stateShapes();
      assertEqual('conv1.att shape', shapes.get('conv1.att')!, [1, 4, 8]);
      assertEqual('conv1.lin_l.weight shape', shapes.get('conv1.lin_l.weight')!, [32, 12]);
      assertEqual('conv2.lin.weight shape', shapes.get('conv2.lin.weight')!, [32, 32]);
      assertEqual('lin.weight shape', shapes.get('lin.weight')!, [5, 64]);
      net.init(gpu);
      const sd = await net.stateDict();
      sameNames('stateDict() keys', Object.keys(sd), SKIP_NET_NAMES);
      for (const [k, s] of shapes) assertEqual(`${k} shape`, sd[k].shape, s);
      // Linear's state-dict weight is the transpose of the internal [in, out].
      const internal = (await net.parameterStore.readAll()).get('lin.weight')!;
      assertEqual('lin.weight [out, in]', sd['lin.weight'].data.slice(0, 3), [internal[0], internal[5], internal[10]]);
      net.dispose();
    },
  },
  {
    name:
      'loadStateDict: strict refuses missing and unexpected keys together, size and dtype errors; nothing ' +
      'half-applied; non-strict loads the rest',
    async run(gpu) {
      const a = paperSequential(20, 4).init(gpu, { seed: 1 }),
        b = paperSequential(20, 4).init(gpu, { seed: 2 });
      const sd = await a.stateDict();
      const before = await readValues(b);
      const missing = { ...sd, extra: { shape: [1], data: new Float32Array(1) } } as Record<
        string,
        { shape: number[]; data: Float32Array }
      >;
      delete missing['4.att'];
      assertThrows(
        'missing and unexpected',
        () => b.loadStateDict(missing),
        /Missing key\(s\) in state_dict: "4\.att"\. ?\n\tUnexpected key\(s\) in state_dict: "extra"\./,
      );
      const wrong = { ...sd, '1.att': { shape: [1, 4, 16], data: sd['1.att'].data } };
      assertThrows(
        'size mismatch',
        () => b.loadStateDict(wrong),
        new RegExp(
          'size mismatch for 1\\.att: copying a param with shape \\[1, 4, 16\\] from checkpoint, ' +
            'the shape in current model is \\[1, 8, 8\\]',
        ),
      );
      const f64Data = { ...sd, '4.bias': { shape: [4], data: new Float64Array(4) as unknown as Float32Array } };
      assertThrows(
        'dtype',
        () => b.loadStateDict(f64Data),
        /dtype mismatch for 4\.bias: copying a param with dtype F64/,
      );
      const labelled = { ...sd, '4.bias': { ...sd['4.bias'], dtype: 'F64' } };
      assertThrows(
        'dtype label',
        () => b.loadStateDict(labelled),
        /dtype mismatch for 4\.bias: copying a param with dtype F64/,
      );
      assertEqual('nothing applied after refusals', await readValues(b), before);
      const partial = { ...sd, extra: sd['4.bias'] } as Record<string, { shape: number[]; data: Float32Array }>;
      for (const k of Object.keys(partial)) if (k.startsWith('4.')) delete partial[k];
      const r = b.loadStateDict(partial, { strict: false });
      sameNames(
        'non-strict: missing keys',
        r.missing,
        PAPER_SEQUENTIAL_NAMES.filter((k) => k.startsWith('4.')),
      );
      sameNames('non-strict: unexpected keys', r.unexpected, ['extra']);
      const after = await b.stateDict();
      assertEqual('layer 1 loaded', after['1.lin_r.weight'].data, sd['1.lin_r.weight'].data);
      const old = new Map(Object.entries(await paperSequential(20, 4).init(gpu, { seed: 2 }).stateDict()));
      assertEqual('layer 4 kept', after['4.att'].data, old.get('4.att')!.data);
      b.loadStateDict(sd);
      assertEqual('strict round trip', await readValues(b), await readValues(a));
      a.dispose();
      b.dispose();
    },
  },
  {
    name:
      'a backward after a later forward reused the buffers is refused; predict gives the argmax of the ' +
      'evaluation logits',
    async run(gpu) {
      const rand = rng(309);
      const n = 30,
        fin = 6,
        classes = 3;
      const { graphs } = randomGraph(gpu, rand, n);
      const model = paperSequential(fin, classes).init(gpu);
      const x = gpu.tensor('f32', [n, fin], randomArray(rand, n * fin));
      const first = model.forward(x, graphs);
      model.forward(x, graphs);
      assertThrows(
        'stale backward',
        () => first.backward(gpu.tensor('f32', [n, classes], randomArray(rand, n * classes))),
        /reused by a later forward/,
      );
      model.eval();
      const logits = await model.forward(x, graphs).read();
      model.train();
      const pred = await model.predict(x, graphs);
      assert(model.training, 'predict restores training mode');
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
        assert(pred[i] === best, `node ${i}: predicted ${pred[i]}, argmax ${best}`);
      }
      assertThrows('uninitialised', () => new Linear(2, 2).forward(x), /call init\(gpu\)/);
      assertThrows('shape', () => new Linear(5, 2).init(gpu).forward(x), /input has 6 features, the layer expects 5/);
      assertThrows('missing graph', () => paperSequential(fin, 2).init(gpu).forward(x), /needs the graph/);
      model.dispose();
      graphs.dispose();
    },
  },
  {
    name:
      'Adam over a subset of the parameters updates those as the whole-model step does (one dispatch per ' +
      'parameter), and leaves the rest',
    async run(gpu) {
      const rand = rng(310);
      const make = () => new Sequential([new Linear(5, 4), new ReLU(), new Linear(4, 3)]).init(gpu, { seed: 3 });
      const whole = make(),
        part = make();
      const x = gpu.tensor('f32', [7, 5], randomArray(rand, 35));
      const dy = gpu.tensor('f32', [7, 3], randomArray(rand, 21));
      const optWhole = new Adam(whole.parameters(), { lr: 0.01, weightDecay: 0.1 });
      const optPart = new Adam(
        part.parameters().filter((p) => p.name.startsWith('2.')),
        { lr: 0.01, weightDecay: 0.1 },
      );
      const start = await part.parameterStore.readAll();
      // One step: later ones differ (in the whole model, layer 0 moves too and changes layer 2's gradients).
      for (let s = 0; s < 1; s++) {
        for (const [m, opt] of [
          [whole, optWhole],
          [part, optPart],
        ] as const) {
          opt.zeroGrad();
          m.forward(x).backward(dy);
          opt.step();
          gpu.flush();
        }
      }
      const w = await whole.parameterStore.readAll(),
        p = await part.parameterStore.readAll();
      assertEqual('2.weight as the whole step', p.get('2.weight')!, w.get('2.weight')!);
      assertEqual('2.bias as the whole step', p.get('2.bias')!, w.get('2.bias')!);
      assertEqual('0.weight untouched', p.get('0.weight')!, start.get('0.weight')!);
      [optWhole, optPart].forEach((o) => o.dispose());
      [whole, part].forEach((m) => m.dispose());
    },
  },
];
