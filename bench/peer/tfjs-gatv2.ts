/*
 * The peer: the same two-layer GATv2 as ours (8 heads x 8 hidden, concat, ELU; output layer 1 head; PyG's
 * semantics: self loops removed then one per node added, dropout 0.6 on each layer's input and on alpha after the
 * softmax, Adam lr 0.005 with L2 weight decay 5e-4 added to every parameter's gradient as torch.optim.Adam does)
 * written with TensorFlow.js ops on its WebGPU backend and trained with tfjs autodiff (tf.variableGrads).
 *
 * Written to be competent on that backend, not idiomatic. Each choice below comes from profiling it (tf.profile,
 * `profile: true`) on the same device; the idiomatic versions were 5-50x slower per op:
 *
 * - Every edge-, nonzero- or node-indexed tensor is FLAT (1-D) and indexed through precomputed flat indices:
 *   gather(x, i) is tf.gather(x.flat, row * width + col) and a segment sum is tf.unsortedSegmentSum(v.flat,
 *   row * width + col, N * width). On 2-D tensors tfjs transposes the operand of both (and of the gather's
 *   gradient) to put the segment axis last; on 1-D tensors it runs one pass.
 * - Segment sums carry a custom gradient, a plain gather of dy (tfjs's own gradient clips negative ids with five
 *   extra full-size passes: zerosLike, maximum, greaterEqual, logicalAnd, select).
 * - Layouts are chosen so that neighbouring threads of a segment sum (tfjs: atomic add per element) hit different
 *   slots: layer 1 is [edge, channel * heads + head] (head fastest), layer 2's score path is [channel, edge].
 * - No matmul with a dimension of 8 or less and no per-row reduction (tfjs's MatMulPacked tiles 32x32 and its
 *   reduce runs one 64-thread workgroup per output row; both measured 10-50x slower than the flat ops here): the
 *   per-head score sum_c att[h,c] LeakyReLU(z)[h,c] is a flat segment sum over the channels, alpha reaches its
 *   head's channels by a gather, biases are added by a gather (so their gradients are flat segment sums, not
 *   column reductions), and weight decay is added to the gradients (no sum(p^2) reductions in the loss).
 * - Layer 1 keeps the bag-of-words input sparse (2,708 x 1,433, 49,216 nonzeros) and applies PyG's input dropout
 *   to its nonzeros: each step, the kept nonzeros (host RNG, as tfjs's own dropout masks are host-made) are
 *   listed and X [W_l | W_r] + b is segsum_row(gather(W, col) * value / (1 - p)) over them, the bias being one
 *   more always-kept "feature" per node. Its weight gradient comes out of autodiff as a flat segment sum.
 * - The softmax is shifted by each destination's self-loop score (every node has one; it lies in the same
 *   segment, so the denominator is >= 1 and nothing over- or underflows for any spread of scores within a
 *   segment below ~88), under a custom gradient that passes dy through: the shift cancels in the softmax, so
 *   that is the exact gradient. (tfjs has no segment max.)
 * - Layer 2 (1 head x 7 classes) is a dense matmul of [N, 64 | 1] by [65, 14] (the ones column carries its bias).
 * - Attention and hidden dropout masks come from tf.randomUniform each step; every index and constant tensor is
 *   made once; an epoch is one tf.variableGrads, one optimizer.applyGradients and one read of the loss.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgpu';
import { buildGraph } from '../../src/graph.ts';
import type { SparseRows } from '../../src/kernels/spmm.ts';
import type { NodeDataset } from '../../src/train/data.ts';
import { median } from '../report.ts';
import { seededRng } from '../synthetic.ts';

export interface PeerOptions {
  /** Epochs to train at most (200, as ours). */
  epochs: number;
  /** Epochs not timed at the start (shader compilation). */
  warmup: number;
  /** Stop early (fewer epochs) once this much wall time has gone into training. */
  budgetMs: number;
  heads?: number;
  hidden?: number;
  dropout?: number;
  lr?: number;
  weightDecay?: number;
  seed?: number;
  /** tf.env() flags to set first (e.g. WEBGPU_MATMUL_PROGRAM_TYPE). */
  tfjsFlags?: Record<string, number | boolean>;
  /** After training, profile one more step with tf.profile and log its kernels by time (for development). */
  profile?: boolean;
  log?: (m: string) => void;
}

export interface PeerResult {
  backend: string;
  epochsRun: number;
  /** Epochs whose time went into the median (epochsRun - warmup). */
  timedEpochs: number;
  msPerEpoch: number;
  epochMs: number[];
  stoppedByBudget: boolean;
  finalLoss: number;
  testAcc: number;
  valAcc: number;
  /** tf.memory().numTensors after everything was disposed, minus before (tfjs keeps a few cached constants). */
  leakedTensors: number;
}

type Ints = tf.Tensor1D;

/** Glorot-uniform values (as PyG's glorot) for `size` values with the given fans. */
function glorot(rng: () => number, size: number, fanIn: number, fanOut: number): Float32Array {
  const a = Math.sqrt(6 / (fanIn + fanOut));
  const w = new Float32Array(size);
  for (let i = 0; i < size; i++) w[i] = (rng() * 2 - 1) * a;
  return w;
}

/** Flat int32 indices: out[a * inner + b] = f(a, b) for a < outer, b < inner. */
function flat(outer: number, inner: number, f: (a: number, b: number) => number): Int32Array {
  const out = new Int32Array(outer * inner);
  for (let a = 0; a < outer; a++) for (let b = 0; b < inner; b++) out[a * inner + b] = f(a, b);
  return out;
}

export async function runTfjsPeer(d: NodeDataset, o: PeerOptions): Promise<PeerResult> {
  const H = o.heads ?? 8,
    C = o.hidden ?? 8,
    p = o.dropout ?? 0.6,
    lr = o.lr ?? 0.005,
    wd = o.weightDecay ?? 5e-4;
  const seed = o.seed ?? 0;
  const log = o.log ?? (() => {});
  for (const [flag, value] of Object.entries(o.tfjsFlags ?? {})) tf.env().set(flag, value);
  await tf.setBackend('webgpu');
  await tf.ready();
  const before = tf.memory().numTensors;

  if (d.features instanceof Float32Array) throw new Error('the tfjs peer expects sparse (bag-of-words) features');
  const x: SparseRows = d.features;
  const N = d.numNodes,
    F = d.numFeatures,
    K = d.numClasses,
    HC = H * C,
    P = 2 * HC;
  // Edges with self loops, in source order (consecutive edges rarely share a destination: fewer atomic clashes).
  const g = buildGraph(d.edgeIndex, N, { addSelfLoops: true });
  const E = g.numEdges;
  const src = new Int32Array(E),
    dst = new Int32Array(E);
  for (let q = 0; q < E; q++) (src[q] = g.src[g.perm[q]]), (dst[q] = g.dst[g.perm[q]]);
  const selfEdge = new Int32Array(N);
  for (let k = 0; k < E; k++) if (src[k] === dst[k]) selfEdge[dst[k]] = k;
  const nzRow = new Int32Array(x.colIdx.length);
  for (let r = 0; r < N; r++) for (let q = x.rowPtr[r]; q < x.rowPtr[r + 1]; q++) nzRow[q] = r;

  const ints = (a: Int32Array): Ints => tf.tensor1d(a, 'int32');
  // Layer 1: G1 [N, P] flat, column part * HC + j with j = c * H + h; per-edge tensors [E, HC] with j fastest.
  const ix1 = {
    xl: ints(flat(E, HC, (k, j) => src[k] * P + j)),
    xr: ints(flat(E, HC, (k, j) => dst[k] * P + HC + j)),
    attTile: ints(flat(E, HC, (_, j) => j)),
    headOf: ints(flat(E, HC, (k, j) => k * H + (j % H))),
    agg: ints(flat(E, HC, (k, j) => dst[k] * HC + j)),
    dstHead: ints(flat(E, H, (k, h) => dst[k] * H + h)),
    selfHead: ints(flat(E, H, (k, h) => selfEdge[dst[k]] * H + h)),
    biasTile: ints(flat(N, HC, (_, j) => j)),
  };
  // Layer 2: G2 [N, 2K] flat; the score path is [K, E] (edge fastest), the aggregation [E, K] (class fastest).
  const ix2 = {
    xlScore: ints(flat(K, E, (c, k) => src[k] * 2 * K + c)),
    xrScore: ints(flat(K, E, (c, k) => dst[k] * 2 * K + K + c)),
    attTile: ints(flat(K, E, (c) => c)),
    edgeOf: ints(flat(K, E, (_, k) => k)),
    dst: ints(dst),
    self: ints(flat(E, 1, (k) => selfEdge[dst[k]])),
    xlAgg: ints(flat(E, K, (k, c) => src[k] * 2 * K + c)),
    alphaTile: ints(flat(E, K, (k) => k)),
    agg: ints(flat(E, K, (k, c) => dst[k] * K + c)),
    biasTile: ints(flat(N, K, (_, c) => c)),
  };
  const trainRows = Array.from(d.trainMask).flatMap((on, i) => (on ? [i] : []));
  const trainIdx = ints(flat(trainRows.length, K, (t, c) => trainRows[t] * K + c));
  const trainOneHot = tf.tidy(() =>
    tf.oneHot(
      tf.tensor1d(
        trainRows.map((i) => d.labels[i]),
        'int32',
      ),
      K,
    ),
  );
  const onesColumn = tf.ones([N, 1]);

  /** A flat segment sum whose gradient is a plain gather. */
  const segsum = (ids: Ints, n: number) =>
    tf.customGrad((v) => ({
      value: tf.unsortedSegmentSum(v as tf.Tensor1D, ids, n),
      gradFunc: (dy) => tf.gather(dy, ids),
    }));
  const seg = {
    score1: segsum(ix1.headOf, E * H),
    denom1: segsum(ix1.dstHead, N * H),
    agg1: segsum(ix1.agg, N * HC),
    score2: segsum(ix2.edgeOf, E),
    denom2: segsum(ix2.dst, N),
    agg2: segsum(ix2.agg, N * K),
  };
  /** e - e[self loop of the destination], with the shift held constant (exact for the softmax). */
  const shift = (selfIdx: Ints) =>
    tf.customGrad((e) => ({ value: tf.sub(e as tf.Tensor, tf.gather(e as tf.Tensor, selfIdx)), gradFunc: (dy) => dy }));
  const shift1 = shift(ix1.selfHead),
    shift2 = shift(ix2.self);

  // Parameters, glorot (weights, attention) and zeros (biases) as PyG initialises them.
  const rng = seededRng(seed * 7919 + 17);
  /** [rows + 1, 2 * width]: lin_l and lin_r side by side, glorot each; the last row (the bias) zero. */
  const fused = (rows: number, width: number) => {
    const w = new Float32Array((rows + 1) * 2 * width);
    for (let part = 0; part < 2; part++) {
      const block = glorot(rng, rows * width, rows, width);
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < width; c++) w[r * 2 * width + part * width + c] = block[r * width + c];
    }
    return w;
  };
  const v = {
    w1: tf.variable(tf.tensor1d(fused(F, HC)), true, 'w1'), // flat [(F + 1) * P]
    att1: tf.variable(tf.tensor1d(glorot(rng, HC, H, C)), true, 'att1'),
    bias1: tf.variable(tf.zeros([HC]), true, 'bias1'),
    w2: tf.variable(tf.tensor2d(fused(HC, K), [HC + 1, 2 * K]), true, 'w2'),
    att2: tf.variable(tf.tensor1d(glorot(rng, K, 1, K)), true, 'att2'),
    bias2: tf.variable(tf.zeros([K]), true, 'bias2'),
  };
  const vars: tf.Variable[] = Object.values(v);

  let step = 0;
  const keep = (n: number, site: number) => {
    const r = tf.randomUniform([n], 0, 1, 'float32', seed * 1_000_003 + step * 17 + site);
    return tf.mul(tf.step(tf.sub(r, p)), 1 / (1 - p));
  };
  const dropRng = seededRng(seed * 31 + 5);

  /** The sparse input's kept nonzeros (and one bias entry per node) as flat gather / segment indices. */
  const sparseInput = (training: boolean) => {
    const keptNz: number[] = [];
    for (let q = 0; q < x.colIdx.length; q++) if (!training || dropRng() >= p) keptNz.push(q);
    const Q = keptNz.length + N;
    const cols = new Int32Array(Q),
      rows = new Int32Array(Q),
      vals = new Float32Array(Q);
    const scale = training ? 1 / (1 - p) : 1;
    keptNz.forEach((q, t) => ((cols[t] = x.colIdx[q]), (rows[t] = nzRow[q]), (vals[t] = x.values[q] * scale)));
    for (let i = 0; i < N; i++)
      (cols[keptNz.length + i] = F), (rows[keptNz.length + i] = i), (vals[keptNz.length + i] = 1);
    return {
      Q,
      wIdx: ints(flat(Q, P, (t, j) => cols[t] * P + j)),
      segIds: ints(flat(Q, P, (t, j) => rows[t] * P + j)),
      vals: tf.tensor2d(vals, [Q, 1]),
    };
  };

  const forward = (training: boolean, input: ReturnType<typeof sparseInput>): tf.Tensor => {
    // Layer 1: G1 = dropout(X) [W_l | W_r] + b.
    const gathered = tf.reshape(tf.mul(tf.reshape(tf.gather(v.w1, input.wIdx), [input.Q, P]), input.vals), [
      input.Q * P,
    ]);
    const g1 = segsum(input.segIds, N * P)(gathered);
    const xl = tf.gather(g1, ix1.xl);
    const z = tf.leakyRelu(tf.add(xl, tf.gather(g1, ix1.xr)), 0.2);
    const e = seg.score1(tf.mul(z, tf.gather(v.att1, ix1.attTile)));
    const ex = tf.exp(shift1(e));
    let alpha = tf.div(ex, tf.gather(seg.denom1(ex), ix1.dstHead));
    if (training) alpha = tf.mul(alpha, keep(E * H, 2));
    const agg = seg.agg1(tf.mul(xl, tf.gather(alpha, ix1.headOf)));
    let h = tf.elu(tf.add(agg, tf.gather(v.bias1, ix1.biasTile)));
    if (training) h = tf.mul(h, keep(N * HC, 3));
    // Layer 2: G2 = [dropout(h) | 1] W2, then one head of K channels (mean over one head = itself).
    const g2 = tf.reshape(tf.matMul(tf.concat([tf.reshape(h, [N, HC]), onesColumn], 1), v.w2), [N * 2 * K]);
    const z2 = tf.leakyRelu(tf.add(tf.gather(g2, ix2.xlScore), tf.gather(g2, ix2.xrScore)), 0.2);
    const e2 = seg.score2(tf.mul(z2, tf.gather(v.att2, ix2.attTile)));
    const ex2 = tf.exp(shift2(e2));
    let alpha2 = tf.div(ex2, tf.gather(seg.denom2(ex2), ix2.dst));
    if (training) alpha2 = tf.mul(alpha2, keep(E, 4));
    const agg2 = seg.agg2(tf.mul(tf.gather(g2, ix2.xlAgg), tf.gather(alpha2, ix2.alphaTile)));
    return tf.add(agg2, tf.gather(v.bias2, ix2.biasTile)); // logits [N * K]
  };

  const lossFn = (input: ReturnType<typeof sparseInput>) => () => {
    const logits = forward(true, input);
    return tf.losses.softmaxCrossEntropy(
      trainOneHot,
      tf.reshape(tf.gather(logits, trainIdx), [trainRows.length, K]),
    ) as tf.Scalar;
  };

  /** One training step: gradients, + weight decay, Adam; returns the loss. */
  const opt = tf.train.adam(lr, 0.9, 0.999, 1e-8);
  const trainStep = (): tf.Scalar => {
    const input = sparseInput(true);
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(lossFn(input), vars);
      opt.applyGradients(vars.map((w) => ({ name: w.name, tensor: tf.add(grads[w.name], tf.mul(w, wd)) })));
      return value;
    });
    [input.wIdx, input.segIds, input.vals].forEach((t) => t.dispose());
    return loss;
  };

  const evalInput = sparseInput(false);
  const accuracy = async (mask: Uint8Array) => {
    const pred = tf.tidy(() => tf.argMax(tf.reshape(forward(false, evalInput), [N, K]), 1));
    const labels = (await pred.data()) as Int32Array;
    pred.dispose();
    let hit = 0,
      count = 0;
    for (let i = 0; i < N; i++) if (mask[i]) count++, (hit += labels[i] === d.labels[i] ? 1 : 0);
    return hit / Math.max(1, count);
  };

  const epochMs: number[] = [];
  let finalLoss = NaN;
  let stoppedByBudget = false;
  let epochsRun = 0;
  const start = performance.now();
  for (step = 1; step <= o.epochs; step++) {
    const t0 = performance.now();
    const loss = trainStep();
    finalLoss = (await loss.data())[0];
    loss.dispose();
    epochsRun = step;
    if (step > o.warmup) epochMs.push(performance.now() - t0);
    if (step % 20 === 0 || step === o.warmup)
      log(`tfjs epoch ${step}: loss ${finalLoss.toFixed(4)}, ${(performance.now() - t0).toFixed(0)} ms`);
    if (performance.now() - start > o.budgetMs && step < o.epochs) {
      stoppedByBudget = true;
      break;
    }
  }
  if (o.profile) await profileStep(trainStep, log);
  const testAcc = await accuracy(d.testMask);
  const valAcc = await accuracy(d.valMask);
  const backend = tf.getBackend();
  opt.dispose();
  const constants = [
    ...Object.values(ix1),
    ...Object.values(ix2),
    trainIdx,
    trainOneHot,
    onesColumn,
    evalInput.wIdx,
    evalInput.segIds,
    evalInput.vals,
  ];
  [...vars, ...constants].forEach((t) => t.dispose());
  const leakedTensors = tf.memory().numTensors - before;
  return {
    backend,
    epochsRun,
    timedEpochs: epochMs.length,
    msPerEpoch: median(epochMs),
    epochMs,
    stoppedByBudget,
    finalLoss,
    testAcc,
    valAcc,
    leakedTensors,
  };
}

/** Logs the kernels of one call of `f` by total time (tf.profile). */
async function profileStep(f: () => tf.Scalar, log: (m: string) => void): Promise<void> {
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    const l = f();
    await l.data();
    return l;
  });
  const wall = performance.now() - t0;
  const by = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    const e = by.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.calls++;
    by.set(k.name, e);
  }
  const total = [...by.values()].reduce((a, e) => a + e.ms, 0);
  log(
    `tfjs profile: ${info.kernels.length} kernels, ${total.toFixed(0)} ms of kernel time, ${wall.toFixed(0)} ms wall`,
  );
  for (const [name, e] of [...by.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12))
    log(`  ${name.padEnd(22)} ${String(e.calls).padStart(3)} calls ${e.ms.toFixed(1)} ms`);
  const calls = info.kernels.map((k) => ({
    name: k.name,
    ms: typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0,
    shapes: JSON.stringify(k.inputShapes),
  }));
  for (const c of calls.sort((a, b) => b.ms - a.ms).slice(0, 15))
    log(`  call ${c.name.padEnd(20)} ${c.ms.toFixed(1)} ms ${c.shapes}`);
}
