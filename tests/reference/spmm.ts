// Float64 references for shaders/spmm.wgsl. Written against dense matrices where that is clearer.
import { dropoutScale } from './common.ts';

type A = ArrayLike<number>;

/** CSR matrix with plain arrays (the same fields as src/kernels/spmm.ts's SparseRows). */
export interface Csr {
  rows: number;
  cols: number;
  rowPtr: A;
  colIdx: A;
  values: A;
}

export interface Dropout {
  p: number;
  seed: number;
  step: number;
}

/** The dropout multiplier of each nonzero of `a`, keyed by its position p in `a`. */
export function nonzeroScales(a: Csr, drop?: Dropout): Float64Array {
  const nnz = a.colIdx.length;
  return Float64Array.from({ length: nnz }, (_, p) => (drop ? dropoutScale(drop.seed, drop.step, p, drop.p) : 1));
}

/** Dense [rows, cols] copy of A ∘ mask (duplicate entries add up). */
export function toDense(a: Csr, drop?: Dropout): Float64Array {
  const scale = nonzeroScales(a, drop);
  const d = new Float64Array(a.rows * a.cols);
  for (let r = 0; r < a.rows; r++) {
    for (let p = a.rowPtr[r]; p < a.rowPtr[r + 1]; p++) d[r * a.cols + a.colIdx[p]] += a.values[p] * scale[p];
  }
  return d;
}

/** Transpose of a dense [rows, cols] matrix. */
export function transposeDense(d: A, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = d[r * cols + c];
  return t;
}

/** Y[rows, n] = (A ∘ mask) B (+ y when given), B [cols, n], straight from the CSR rows. */
export function spmm(a: Csr, b: A, n: number, drop?: Dropout, y?: A): Float64Array {
  const scale = nonzeroScales(a, drop);
  const out = new Float64Array(a.rows * n);
  for (let r = 0; r < a.rows; r++) {
    for (let j = 0; j < n; j++) {
      let s = y ? y[r * n + j] : 0;
      for (let p = a.rowPtr[r]; p < a.rowPtr[r + 1]; p++) s += a.values[p] * scale[p] * b[a.colIdx[p] * n + j];
      out[r * n + j] = s;
    }
  }
  return out;
}

/**
 * Backward of Y = (A ∘ mask) B with respect to B: dB[cols, n] = (A ∘ mask)^T dY, i.e. each nonzero (r, c) adds
 * value * mask * dY[r, :] to dB[c, :].
 */
export function spmmBackwardB(a: Csr, dy: A, n: number, drop?: Dropout): Float64Array {
  const scale = nonzeroScales(a, drop);
  const db = new Float64Array(a.cols * n);
  for (let r = 0; r < a.rows; r++) {
    for (let p = a.rowPtr[r]; p < a.rowPtr[r + 1]; p++) {
      const c = a.colIdx[p];
      for (let j = 0; j < n; j++) db[c * n + j] += a.values[p] * scale[p] * dy[r * n + j];
    }
  }
  return db;
}
