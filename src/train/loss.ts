// Losses: a value on the GPU and a backward() that runs the tape from it.
//
//   crossEntropy: mean over the selected nodes of -log softmax(logits)[y],
//                 d logits = (softmax(logits) - onehot(y)) / count on the selected rows, 0 elsewhere.
import type { Gpu } from '../gpu/gpu.ts';
import { Tensor } from '../gpu/tensor.ts';
import { nllLoss } from '../kernels/loss.ts';
import { asVariable, opScope, record, runBackward, Variable, type Features, type Scope } from '../nn/tape.ts';

/** A loss: its value (f32 [1]) on the GPU and backward(), which runs the backward of everything that led to it. */
export class Loss {
  constructor(
    /** f32 [1]: the loss. */
    readonly value: Tensor,
    private readonly root: Variable,
    /** f32 [1]: for classification losses, how many selected rows the argmax got right. */
    readonly correct: Tensor | null = null,
  ) {}

  backward(): void {
    runBackward(this.root, this.value, false);
  }

  /** The loss on the host (submits pending work and waits for it). */
  async item(): Promise<number> {
    return ((await this.value.read()) as Float32Array)[0];
  }
}

/**
 * Records a loss whose gradients were computed with its value: `grads[i]` is d loss / d inputs[i] (tensors in the
 * loss's scope). The building block of every loss here.
 */
export function recordLoss(
  scope: Scope,
  label: string,
  value: Tensor,
  inputs: Variable[],
  grads: Tensor[],
  correct: Tensor | null = null,
): Loss {
  const root = new Variable({ value: value.reshape([1, 1]), scope });
  record(root, {
    label,
    inputs,
    backward: (_dy, ctx) => inputs.forEach((v, i) => ctx.deliver(v, grads[i])),
  });
  return new Loss(value, root, correct);
}

/** Rows a loss averages over: a 0/1 mask (host array, or a u32 GPU tensor with its count) or node indices. */
export interface RowSelection {
  /** Nodes to average over: a host 0/1 or boolean array, or a u32 [N] GPU tensor (give `count` with it). */
  mask?: Uint8Array | Uint32Array | readonly boolean[] | readonly number[] | Tensor;
  /** The number of nonzero entries of a GPU mask. */
  count?: number;
  /** Nodes to average over, as indices (host array). */
  index?: Int32Array | Uint32Array | readonly number[];
}

const hostMasks = new WeakMap<object, { gpu: Gpu; mask: Tensor; count: number }>();
const knownCounts = new WeakMap<Tensor, number>();

/** Notes how many nonzero entries a GPU mask holds, so that losses need no `count` with it. */
export function noteMaskCount(mask: Tensor, count: number): void {
  knownCounts.set(mask, count);
}

/** The u32 [n] mask tensor and its count for a selection (host arrays are uploaded once and cached). */
export function resolveRows(gpu: Gpu, op: string, n: number, sel: RowSelection): { mask: Tensor; count: number } {
  if (sel.mask !== undefined && sel.index !== undefined) throw new Error(`${op}: give a mask or an index, not both`);
  const m = sel.mask ?? sel.index;
  if (m === undefined) throw new Error(`${op}: give the rows to average over: { mask } or { index }`);
  if (m instanceof Tensor) {
    const t = m;
    if (t.dtype !== 'u32' || t.size !== n)
      throw new Error(`${op}: mask must be u32 [${n}], got ${t.dtype} [${t.shape}]`);
    const count = sel.count ?? knownCounts.get(t);
    if (count === undefined)
      throw new Error(`${op}: with a GPU mask, give { mask, count } (the number of selected nodes)`);
    if (!Number.isInteger(count) || count < 0 || count > n)
      throw new Error(`${op}: count must be an integer in [0, ${n}], got ${count}`);
    return { mask: t, count };
  }
  const cached = hostMasks.get(m);
  if (cached && cached.gpu === gpu && cached.mask.size === n && !cached.mask.isDisposed) return cached;
  const mask = new Uint32Array(n);
  if (sel.index !== undefined) {
    const idx = sel.index;
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k];
      if (!Number.isInteger(i) || i < 0 || i >= n)
        throw new Error(`${op}: index ${i} at position ${k} is out of range for ${n} nodes`);
      mask[i] = 1;
    }
  } else {
    const a = sel.mask as ArrayLike<number | boolean>;
    if (a.length !== n) throw new Error(`${op}: mask has ${a.length} entries for ${n} nodes`);
    for (let i = 0; i < n; i++) mask[i] = a[i] ? 1 : 0;
  }
  const entry = { gpu, mask: gpu.tensor('u32', [n], mask), count: mask.reduce((s, v) => s + v, 0) };
  hostMasks.set(m, entry);
  return entry;
}

/**
 * Cross-entropy of logits [N, C] against class labels y (i32 [N]) over the selected nodes (torch's cross_entropy
 * on logits[mask]). `reuseLogits` writes the gradient over the logits, saving a buffer; the logits can then no
 * longer be read.
 */
export function crossEntropy(logits: Features, y: Tensor, sel: RowSelection & { reuseLogits?: boolean }): Loss {
  const v = asVariable(logits);
  const gpu = v.gpu;
  const [n, c] = v.shape;
  if (y.dtype !== 'i32' || y.size !== n)
    throw new Error(`crossEntropy: y must be i32 class labels [${n}], got ${y.dtype} [${y.shape}]`);
  const { mask, count } = resolveRows(gpu, 'crossEntropy', n, sel);
  const scope = opScope(gpu, 'cross_entropy');
  const x = v.dense();
  const reuse = !!sel.reuseLogits && !v.dropped;
  const r = nllLoss(gpu, x, y, mask, count, {
    dlogits: reuse ? x : scope.get('dlogits', [n, c]),
    loss: scope.get('loss', [1]),
    correct: scope.get('correct', [1]),
  });
  if (reuse) v.stale = 'overwritten';
  return recordLoss(scope, 'crossEntropy', r.loss, [v], [r.dlogits], r.correct);
}
