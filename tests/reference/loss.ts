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

export interface ElementLoss {
  loss: number;
  dinput: Float64Array;
}

/** Sum over the masked rows' elements of f(x, y), averaged over count * c elements, and its gradient. */
function maskedElementMean(
  x: A,
  target: A,
  mask: A,
  n: number,
  c: number,
  count: number,
  f: (x: number, y: number) => number,
  df: (x: number, y: number) => number,
): ElementLoss {
  const dinput = new Float64Array(n * c);
  const elements = count * c;
  let sum = 0;
  for (let r = 0; r < n; r++) {
    if (mask[r] === 0) continue;
    for (let j = r * c; j < (r + 1) * c; j++) {
      sum += f(x[j], target[j]);
      dinput[j] = df(x[j], target[j]) / elements;
    }
  }
  return { loss: elements > 0 ? sum / elements : 0, dinput };
}

const logSigmoid = (x: number) => Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));
const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** PyTorch's binary_cross_entropy_with_logits, mean over the masked rows' elements: (1 - y) x - log_sigmoid(x). */
export function bceWithLogits(x: A, target: A, mask: A, n: number, c: number, count: number): ElementLoss {
  return maskedElementMean(
    x,
    target,
    mask,
    n,
    c,
    count,
    (v, y) => (1 - y) * v - logSigmoid(v),
    (v, y) => sigmoid(v) - y,
  );
}

/** PyTorch's mse_loss, mean over the masked rows' elements: (x - y)^2. */
export function mse(x: A, target: A, mask: A, n: number, c: number, count: number): ElementLoss {
  return maskedElementMean(
    x,
    target,
    mask,
    n,
    c,
    count,
    (v, y) => (v - y) ** 2,
    (v, y) => 2 * (v - y),
  );
}
