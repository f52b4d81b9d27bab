// Float64 references for the modules (Linear, concat) and for whole models built with them: forward and
// hand-written backward in plain loops. Linear weights use the library's internal layout W [in, out].
import { matmul } from './matmul.ts';

type A = ArrayLike<number>;

/** y [n, out] = x [n, in] W [in, out] + b */
export function linearForward(x: A, w: A, b: A | null, n: number, fin: number, fout: number): Float64Array {
  const y = matmul(x, w, { m: n, k: fin, n: fout });
  if (b) for (let i = 0; i < y.length; i++) y[i] += b[i % fout];
  return y;
}

/** dW [in, out] = x^T dy, db = column sums of dy, dx [n, in] = dy W^T */
export function linearBackward(
  x: A,
  w: A,
  dy: A,
  n: number,
  fin: number,
  fout: number,
): { dw: Float64Array; db: Float64Array; dx: Float64Array } {
  const dw = matmul(x, dy, { m: fin, k: n, n: fout, transA: true });
  const db = new Float64Array(fout);
  for (let i = 0; i < n * fout; i++) db[i % fout] += dy[i];
  const dx = matmul(dy, w, { m: n, k: fout, n: fin, transB: true });
  return { dw, db, dx };
}

/** [x_0 | x_1 | ...] of row-major [n, widths[i]] matrices. */
export function concatColumns(xs: A[], widths: number[], n: number): Float64Array {
  const total = widths.reduce((a, b) => a + b, 0);
  const out = new Float64Array(n * total);
  let at = 0;
  xs.forEach((x, i) => {
    for (let r = 0; r < n; r++) for (let c = 0; c < widths[i]; c++) out[r * total + at + c] = x[r * widths[i] + c];
    at += widths[i];
  });
  return out;
}

/** The column block [offset, offset + width) of a row-major [n, total] matrix. */
export function columns(x: A, n: number, total: number, offset: number, width: number): Float64Array {
  const out = new Float64Array(n * width);
  for (let r = 0; r < n; r++) for (let c = 0; c < width; c++) out[r * width + c] = x[r * total + offset + c];
  return out;
}

export const elu = (x: A) => Float64Array.from(x, (v) => (v > 0 ? v : Math.expm1(v)));
export const eluGrad = (x: A, dy: A) => Float64Array.from(x, (v, i) => dy[i] * (v > 0 ? 1 : Math.exp(v)));
export const times = (a: A, b: A) => Float64Array.from(a, (v, i) => v * b[i]);
export const plus = (a: A, b: A) => Float64Array.from(a, (v, i) => v + b[i]);
