// Float64 references for shaders/loss.wgsl: row-wise log-softmax, the masked mean NLL with its gradient, argmax.

type A = ArrayLike<number>;

/** First position of the row maximum (ties: the first). */
function rowArgmax(x: A, base: number, c: number): number {
  let at = 0;
  for (let j = 1; j < c; j++) if (x[base + j] > x[base + at]) at = j;
  return at;
}

/** log(sum_j exp(x[r, j])), max-subtracted. */
function rowLogSumExp(x: A, base: number, c: number): number {
  const mx = x[base + rowArgmax(x, base, c)];
  let s = 0;
  for (let j = 0; j < c; j++) s += Math.exp(x[base + j] - mx);
  return mx + Math.log(s);
}

export function logSoftmax(x: A, n: number, c: number): Float64Array {
  const out = new Float64Array(n * c);
  for (let r = 0; r < n; r++) {
    const lse = rowLogSumExp(x, r * c, c);
    for (let j = 0; j < c; j++) out[r * c + j] = x[r * c + j] - lse;
  }
  return out;
}

export function argmax(x: A, n: number, c: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let r = 0; r < n; r++) out[r] = rowArgmax(x, r * c, c);
  return out;
}

export interface Nll {
  loss: number;
  correct: number;
  dlogits: Float64Array;
}

/**
 * loss = -(1/count) sum_{r: mask[r] != 0} logp[r, y_r];  correct = #{masked r: argmax x[r, :] = y_r};
 * dlogits[r, :] = (softmax(x[r, :]) - onehot(y_r)) / count on masked rows, 0 elsewhere; count = 0 gives zeros.
 * A label outside [0, c) is clamped for reading (as the kernel does) and is never correct.
 */
export function nllLoss(x: A, labels: A, mask: A, n: number, c: number, count: number): Nll {
  const dlogits = new Float64Array(n * c);
  let sum = 0;
  let correct = 0;
  for (let r = 0; r < n; r++) {
    if (mask[r] === 0) continue;
    const base = r * c;
    const y = Math.min(Math.max(labels[r], 0), c - 1);
    const lse = rowLogSumExp(x, base, c);
    sum -= x[base + y] - lse;
    if (rowArgmax(x, base, c) === labels[r]) correct++;
    for (let j = 0; j < c; j++) dlogits[base + j] = (Math.exp(x[base + j] - lse) - (j === y ? 1 : 0)) / count;
  }
  return { loss: count > 0 ? sum / count : 0, correct, dlogits };
}
