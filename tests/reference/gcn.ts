// Float64 reference for GCNConv: PyG's gcn_norm written out on a dense matrix, and the layer's forward and
// backward, out = A_hat (x W) + b.
import { matmul, matmulBackward } from './matmul.ts';

type A = ArrayLike<number>;

export interface GcnNormSpec {
  addSelfLoops: boolean;
  improved: boolean;
  normalize: boolean;
  edgeWeight?: A;
}

/**
 * Dense A_hat [n, n], row = target, column = source (duplicate edges add up), as PyG builds it:
 * add_remaining_self_loops (non-loop edges kept, then one loop per node weighing fill, or the weight of the node's
 * last existing loop), deg over the targets, norm = deg[src]^-1/2 w deg[dst]^-1/2 (inf -> 0).
 */
export function gcnNormDense(src: A, dst: A, n: number, spec: GcnNormSpec): Float64Array {
  const s: number[] = [],
    d: number[] = [],
    w: number[] = [];
  const loops = spec.normalize && spec.addSelfLoops;
  const loopWeight = new Array<number>(n).fill(spec.improved ? 2 : 1);
  for (let k = 0; k < src.length; k++) {
    const wk = spec.edgeWeight ? spec.edgeWeight[k] : 1;
    if (loops && src[k] === dst[k]) {
      loopWeight[src[k]] = wk;
      continue;
    }
    s.push(src[k]), d.push(dst[k]), w.push(wk);
  }
  if (loops) for (let i = 0; i < n; i++) s.push(i), d.push(i), w.push(loopWeight[i]);
  const deg = new Float64Array(n);
  for (let k = 0; k < s.length; k++) deg[d[k]] += w[k];
  const inv = Array.from(deg, (x) => (x === 0 ? 0 : x ** -0.5));
  const a = new Float64Array(n * n);
  for (let k = 0; k < s.length; k++) a[d[k] * n + s[k]] += spec.normalize ? inv[s[k]] * w[k] * inv[d[k]] : w[k];
  return a;
}

export interface GcnShape {
  n: number;
  fin: number;
  c: number;
}

/** out [n, c] = A (x W) + b, with x [n, fin], W [fin, c] (the internal layout), b [c] or none. */
export function gcnForward(a: A, x: A, w: A, b: A | null, s: GcnShape): Float64Array {
  const xw = matmul(x, w, { m: s.n, n: s.c, k: s.fin });
  const out = matmul(a, xw, { m: s.n, n: s.c, k: s.n });
  if (b) for (let i = 0; i < out.length; i++) out[i] += b[i % s.c];
  return out;
}

/** Gradients of gcnForward for an upstream dout [n, c]: dW [fin, c], db [c], dx [n, fin]. */
export function gcnBackward(
  a: A,
  x: A,
  w: A,
  dout: A,
  s: GcnShape,
): { dw: Float64Array; db: Float64Array; dx: Float64Array } {
  const xw = matmul(x, w, { m: s.n, n: s.c, k: s.fin });
  const dxw = matmulBackward(a, xw, dout, s.n, s.n, s.c).db; // A^T dout
  const { da: dx, db: dw } = matmulBackward(x, w, dxw, s.n, s.fin, s.c);
  const db = new Float64Array(s.c);
  for (let i = 0; i < dout.length; i++) db[i % s.c] += dout[i];
  return { dw, db, dx };
}
