// Losses (shaders/loss.wgsl): masked mean NLL of log-softmax with its gradient, argmax, log-softmax; binary
// cross-entropy with logits and mean squared error over masked rows, each with its gradient.
import code from '../../shaders/loss.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { groups, kernel, type Kernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { expectSize, expectTensor } from './check.ts';

/**
 * Threads of the single workgroup that sums the per-row losses: a power of two, small because barriers are costly
 * on the CPU driver (docs/kernels.md).
 */
const TOTAL_WG = 64;

const K = {
  nllRows: kernel({ name: 'nll_loss.rows', code, entryPoint: 'nll_rows' }),
  nllRowsInPlace: kernel({ name: 'nll_loss.rows', code, entryPoint: 'nll_rows', overrides: { IN_PLACE: true } }),
  nllTotal: kernel({ name: 'nll_loss.total', code, entryPoint: 'nll_total', workgroupSize: TOTAL_WG }),
  logSoftmax: kernel({ name: 'log_softmax', code, entryPoint: 'log_softmax' }),
  argmax: kernel({ name: 'argmax', code, entryPoint: 'argmax' }),
  bceRows: kernel({ name: 'bce_with_logits.rows', code, entryPoint: 'bce_rows' }),
  bceRowsInPlace: kernel({ name: 'bce_with_logits.rows', code, entryPoint: 'bce_rows', overrides: { IN_PLACE: true } }),
  mseRows: kernel({ name: 'mse_loss.rows', code, entryPoint: 'mse_rows' }),
  mseRowsInPlace: kernel({ name: 'mse_loss.rows', code, entryPoint: 'mse_rows', overrides: { IN_PLACE: true } }),
  // The per-row sums to a mean, with a scratch `correct` (these losses have no notion of correct).
  meanTotal: kernel({ name: 'elementwise_loss.total', code, entryPoint: 'nll_total', workgroupSize: TOTAL_WG }),
};

/** Uniform block of loss.wgsl. */
function params(n: number, c: number, count = 0) {
  return { n, c, count, inv_count: count > 0 ? 1 / count : 0 };
}
type Params = ReturnType<typeof params>;

export interface NllResult {
  /** f32 [1]: mean over masked rows. */
  loss: Tensor;
  /** f32 [1]: number of masked rows whose argmax equals the label. */
  correct: Tensor;
  /** f32 [N,C] */
  dlogits: Tensor;
}

/** Throws unless every label is in [0, numClasses). */
export function validateLabels(labels: Int32Array, numClasses: number): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y < 0 || y >= numClasses) throw new Error(`label ${y} at node ${i} is out of range for ${numClasses} classes`);
  }
}

/** Throws unless count, the number of masked rows, is an integer in [0, n]. */
function expectCount(op: string, count: number, n: number): void {
  if (!Number.isInteger(count) || count < 0 || count > n) {
    throw new Error(`${op}: count must be the number of masked rows, an integer in [0, ${n}], got ${count}`);
  }
}

/** The single workgroup that sums the row_stats of the uniforms' n rows into loss (and correct). */
function total(
  gpu: Gpu,
  k: Kernel,
  bindings: Record<'row_stats' | 'loss' | 'correct', Tensor>,
  uniforms: Params,
): void {
  const { n } = uniforms;
  gpu.dispatch(k, {
    bindings,
    uniforms,
    workgroups: 1,
    cost: { bytes: n * 8 + 8, flops: 2 * n },
  });
}

/** Checks logits [N, C] with C >= 1 and returns [N, C]. */
function rowsAndClasses(op: string, x: Tensor, what = 'logits'): [number, number] {
  expectTensor(op, what, x, 'f32', [-1, -1]);
  const [n, c] = x.shape;
  if (c < 1) throw new Error(`${op}: ${what} must have at least one class (column), got shape [${x.shape}]`);
  return [n, c];
}

/**
 * log-softmax over each row (max-subtracted) + negative log-likelihood over the rows where mask[r] != 0.
 * loss = -(1/count) sum_{r in mask} logp[r, label[r]];
 * dlogits[r,:] = (softmax(logits[r,:]) - onehot(label[r])) / count
 * on masked rows, 0 on the others. count = number of masked rows (the caller passes it: masks are static); with
 * count = 0 the loss and the gradient are 0. labels i32 [N], mask u32 [N]. A label outside [0, C) on a masked row is
 * clamped into range for reading and never counts as correct (check host labels with validateLabels).
 * `dlogits` may be `logits` itself: the gradient then overwrites the logits.
 */
export function nllLoss(
  gpu: Gpu,
  logits: Tensor,
  labels: Tensor,
  mask: Tensor,
  count: number,
  opts: { dlogits?: Tensor; loss?: Tensor; correct?: Tensor } = {},
): NllResult {
  const [n, c] = rowsAndClasses('nllLoss', logits);
  expectSize('nllLoss', 'labels', labels, 'i32', n);
  expectSize('nllLoss', 'mask', mask, 'u32', n);
  expectCount('nllLoss', count, n);
  const dlogits = opts.dlogits ?? gpu.empty('f32', [n, c]);
  const loss = opts.loss ?? gpu.empty('f32', [1]);
  const correct = opts.correct ?? gpu.empty('f32', [1]);
  expectTensor('nllLoss', 'dlogits', dlogits, 'f32', [n, c]);
  expectSize('nllLoss', 'loss', loss, 'f32', 1);
  expectSize('nllLoss', 'correct', correct, 'f32', 1);

  const rowStats = gpu.empty('f32', [Math.max(n, 1), 2]); // vec2f per row; at least one for the binding
  const uniforms = params(n, c, count);
  const inPlace = dlogits === logits; // the gradient overwrites the logits, read from `out`; `logits` is then not read
  gpu.dispatch(inPlace ? K.nllRowsInPlace : K.nllRows, {
    bindings: { logits: inPlace ? gpu.unread('f32') : logits, labels, mask, out: dlogits, row_stats: rowStats },
    uniforms,
    workgroups: groups(n, K.nllRows.workgroupSize),
    cost: { bytes: n * (2 * c * 4 + 8 + 8), flops: n * c * 6 },
  });
  total(gpu, K.nllTotal, { row_stats: rowStats, loss, correct }, uniforms);
  // Dispatches run in recording order, so the scratch buffer may go back to the pool now.
  rowStats.dispose();
  return { loss, correct, dlogits };
}

/** pred[r] = argmax_c x[r,c] (first maximum on ties), u32 [N]. */
export function argmax(gpu: Gpu, x: Tensor, out?: Tensor): Tensor {
  const [n, c] = rowsAndClasses('argmax', x, 'x');
  if (out) expectSize('argmax', 'out', out, 'u32', n);
  else out = gpu.empty('u32', [n]);
  gpu.dispatch(K.argmax, {
    bindings: { logits: x, pred: out },
    uniforms: params(n, c),
    workgroups: groups(n, K.argmax.workgroupSize),
    cost: { bytes: n * (c + 1) * 4, flops: n * c },
  });
  return out;
}

/** logp = log_softmax(x) per row (for returning log-probabilities to users). */
export function logSoftmax(gpu: Gpu, x: Tensor, out?: Tensor): Tensor {
  const [n, c] = rowsAndClasses('logSoftmax', x, 'x');
  if (out) expectTensor('logSoftmax', 'out', out, 'f32', [n, c]);
  else out = gpu.empty('f32', [n, c]);
  gpu.dispatch(K.logSoftmax, {
    bindings: { logits: x, out },
    uniforms: params(n, c),
    workgroups: groups(n, K.logSoftmax.workgroupSize),
    cost: { bytes: n * c * 8, flops: n * c * 5 },
  });
  return out;
}

/**
 * A node mask from an index (PyG's `train_idx`): mask[i] = 1 for each listed node, and the count. Throws on an index
 * out of range or listed twice (a mask counts each node once).
 */
export function maskFromIndex(index: ArrayLike<number>, numNodes: number): { mask: Uint32Array; count: number } {
  const mask = new Uint32Array(numNodes);
  for (let k = 0; k < index.length; k++) {
    const i = index[k];
    if (!Number.isInteger(i) || i < 0 || i >= numNodes)
      throw new Error(`index ${i} at position ${k} is out of range for ${numNodes} nodes`);
    if (mask[i]) throw new Error(`index ${i} at position ${k} is listed twice`);
    mask[i] = 1;
  }
  return { mask, count: index.length };
}

export interface ElementLossResult {
  /** f32 [1]: mean over the elements of the masked rows. */
  loss: Tensor;
  /** f32 [N, C]: d loss / d input (0 on rows off the mask). */
  dinput: Tensor;
}

/** The arguments of the two losses below: input and target [N, C], mask u32 [N], count of masked rows. */
type ElementLoss = (
  gpu: Gpu,
  input: Tensor,
  target: Tensor,
  mask: Tensor,
  count: number,
  opts?: { dinput?: Tensor; loss?: Tensor },
) => ElementLossResult;

/** A loss over the elements of masked rows: its name in errors, its row pipelines (plain, in place), its cost. */
const elementLossFor =
  (op: string, rows: [Kernel, Kernel], flopsPerElement: number): ElementLoss =>
  (gpu, input, target, mask, count, opts = {}) => {
    expectTensor(op, 'input', input, 'f32', [-1, -1]);
    const [n, c] = input.shape;
    expectTensor(op, 'target', target, 'f32', [n, c]);
    expectSize(op, 'mask', mask, 'u32', n);
    expectCount(op, count, n);
    const dinput = opts.dinput ?? gpu.empty('f32', [n, c]);
    const loss = opts.loss ?? gpu.empty('f32', [1]);
    expectTensor(op, 'dinput', dinput, 'f32', [n, c]);
    expectSize(op, 'loss', loss, 'f32', 1);
    if (dinput === target) throw new Error(`${op}: dinput must not be the target (it may be the input)`);

    // The mean is over elements: count rows of C each (none when C is 0).
    const elements = count * c;
    const rowStats = gpu.empty('f32', [Math.max(n, 1), 2]);
    const scratch = gpu.empty('f32', [1]);
    const uniforms = params(n, c, elements);
    const inPlace = dinput === input;
    gpu.dispatch(inPlace ? rows[1] : rows[0], {
      bindings: {
        logits: inPlace ? gpu.unread('f32') : input,
        mask,
        out: dinput,
        row_stats: rowStats,
        targets: target,
      },
      uniforms,
      workgroups: groups(n, K.bceRows.workgroupSize),
      cost: { bytes: n * (3 * c * 4 + 4 + 8), flops: n * c * flopsPerElement },
    });
    total(gpu, K.meanTotal, { row_stats: rowStats, loss, correct: scratch }, uniforms);
    rowStats.dispose();
    scratch.dispose();
    return { loss, dinput };
  };

/**
 * Binary cross-entropy with logits (multi-label), PyTorch's `binary_cross_entropy_with_logits` in its numerically
 * stable form, averaged over every element of the rows where mask[r] != 0:
 *   loss = 1/(count C) sum_{r in mask} sum_c [(1 - y) x - log_sigmoid(x)],  dinput = (sigmoid(x) - y) / (count C)
 * on masked rows, 0 on the others. input (logits) and target (in [0, 1]) f32 [N, C], mask u32 [N], count = masked
 * rows (masks are static: the caller passes it; see maskFromIndex). count = 0 gives loss 0 and zero gradients.
 * `dinput` may be `input` itself: the gradient then overwrites the logits.
 */
export const bceWithLogitsLoss: ElementLoss = elementLossFor('bceWithLogitsLoss', [K.bceRows, K.bceRowsInPlace], 12);

/**
 * Mean squared error, PyTorch's `mse_loss` (reduction 'mean') over every element of the rows where mask[r] != 0:
 *   loss = 1/(count C) sum_{r in mask} sum_c (x - y)^2,  dinput = 2 (x - y) / (count C) on masked rows, 0 elsewhere.
 * Arguments as bceWithLogitsLoss; `dinput` may be `input` itself.
 */
export const meanSquaredErrorLoss: ElementLoss = elementLossFor(
  'meanSquaredErrorLoss',
  [K.mseRows, K.mseRowsInPlace],
  5,
);
