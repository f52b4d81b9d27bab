// Float64 references for shaders/matmul.wgsl.

type A = ArrayLike<number>;

export interface MatmulShape {
  m: number;
  n: number;
  k: number;
  /** A is stored [K, M] (else [M, K]). */
  transA?: boolean;
  /** B is stored [N, K] (else [K, N]). */
  transB?: boolean;
}

/** op(A)[i, p] of a row-major A. */
function opA(a: A, s: MatmulShape, i: number, p: number): number {
  return s.transA ? a[p * s.m + i] : a[i * s.k + p];
}

/** op(B)[p, j] of a row-major B. */
function opB(b: A, s: MatmulShape, p: number, j: number): number {
  return s.transB ? b[j * s.k + p] : b[p * s.n + j];
}

/** C[M, N] = op(A) op(B) (+ c when given). */
export function matmul(a: A, b: A, s: MatmulShape, c?: A): Float64Array {
  const out = new Float64Array(s.m * s.n);
  for (let i = 0; i < s.m; i++) {
    for (let j = 0; j < s.n; j++) {
      let sum = c ? c[i * s.n + j] : 0;
      for (let p = 0; p < s.k; p++) sum += opA(a, s, i, p) * opB(b, s, p, j);
      out[i * s.n + j] = sum;
    }
  }
  return out;
}

/**
 * Backward of C = A B (no transposes; A [M, K], B [K, N]) for an upstream dC [M, N]:
 * dA = dC B^T [M, K] and dB = A^T dC [K, N].
 */
export function matmulBackward(
  a: A,
  b: A,
  dc: A,
  m: number,
  k: number,
  n: number,
): { da: Float64Array; db: Float64Array } {
  return {
    da: matmul(dc, b, { m, n: k, k: n, transB: true }),
    db: matmul(a, dc, { m: k, n, k: m, transA: true }),
  };
}
