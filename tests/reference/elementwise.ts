// Float64 references for shaders/elementwise.wgsl.
import { dropoutScale, leakyRelu, leakyReluGrad } from './common.ts';

type A = ArrayLike<number>;
const map = (n: number, f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));

export const biasAdd = (x: A, b: A) => map(x.length, (i) => x[i] + b[i % b.length]);
export const add = (a: A, b: A) => map(a.length, (i) => a[i] + b[i]);
export const eluForward = (x: A, alpha: number) => map(x.length, (i) => (x[i] > 0 ? x[i] : alpha * Math.expm1(x[i])));
export const eluBackward = (x: A, dy: A, alpha: number) =>
  map(x.length, (i) => dy[i] * (x[i] > 0 ? 1 : alpha * Math.exp(x[i])));
export const leakyReluForward = (x: A, s: number) => map(x.length, (i) => leakyRelu(x[i], s));
export const leakyReluBackward = (x: A, dy: A, s: number) => map(x.length, (i) => dy[i] * leakyReluGrad(x[i], s));
export const reluForward = (x: A) => map(x.length, (i) => Math.max(x[i], 0));
export const reluBackward = (x: A, dy: A) => map(x.length, (i) => (x[i] > 0 ? dy[i] : 0));
export const dropout = (x: A, p: number, seed: number, step: number) =>
  map(x.length, (i) => x[i] * dropoutScale(seed, step, i, p));

/** x: [rows, heads, cols] -> [rows, cols] */
export function headMeanForward(x: A, rows: number, heads: number, cols: number): Float64Array {
  return map(rows * cols, (i) => {
    const r = Math.floor(i / cols),
      c = i % cols;
    let s = 0;
    for (let h = 0; h < heads; h++) s += x[(r * heads + h) * cols + c];
    return s / heads;
  });
}

export function headMeanBackward(dy: A, rows: number, heads: number, cols: number): Float64Array {
  return map(rows * heads * cols, (i) => dy[Math.floor(i / (heads * cols)) * cols + (i % cols)] / heads);
}
