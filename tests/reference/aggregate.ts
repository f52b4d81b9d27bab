// Float64 references for shaders/aggregate.wgsl. x and out are contiguous [N, H*C]; alpha [E, H].
import type { EdgeList } from './edge-scores.ts';
import { dropoutScale } from './common.ts';

type A = ArrayLike<number>;

/** Dropout on the attention coefficients: multiplier of (edge k, head h) is dropoutScale(seed, step, k*H + h, p). */
export interface EdgeDropout {
  p: number;
  seed: number;
  step: number;
}

export function dropMask(E: number, heads: number, d?: EdgeDropout): Float64Array {
  return Float64Array.from({ length: E * heads }, (_, i) => (d ? dropoutScale(d.seed, d.step, i, d.p) : 1));
}

/** out[i,h,c] = sum_{k : dst_k = i} alpha[k,h] * drop(k,h) * x[src_k,h,c] */
export function aggregate(
  g: EdgeList,
  alpha: A,
  x: A,
  heads: number,
  channels: number,
  dropout?: EdgeDropout,
): Float64Array {
  const HC = heads * channels,
    E = g.src.length;
  const drop = dropMask(E, heads, dropout);
  const out = new Float64Array(g.numNodes * HC);
  for (let k = 0; k < E; k++) {
    for (let col = 0; col < HC; col++) {
      const kh = k * heads + Math.floor(col / channels);
      out[g.dst[k] * HC + col] += alpha[kh] * drop[kh] * x[g.src[k] * HC + col];
    }
  }
  return out;
}

/**
 * dalpha[k,h] = drop(k,h) * sum_c dout[dst_k,h,c] * x[src_k,h,c];  dx[j,h,c] = sum_{k : src_k = j} alpha[k,h] *
 * drop(k,h) * dout[dst_k,h,c]
 */
export function aggregateBackward(
  g: EdgeList,
  alpha: A,
  x: A,
  dout: A,
  heads: number,
  channels: number,
  dropout?: EdgeDropout,
): { dalpha: Float64Array; dx: Float64Array } {
  const HC = heads * channels,
    E = g.src.length;
  const drop = dropMask(E, heads, dropout);
  const dalpha = new Float64Array(E * heads);
  const dx = new Float64Array(g.numNodes * HC);
  for (let k = 0; k < E; k++) {
    for (let col = 0; col < HC; col++) {
      const kh = k * heads + Math.floor(col / channels);
      dalpha[kh] += drop[kh] * dout[g.dst[k] * HC + col] * x[g.src[k] * HC + col];
      dx[g.src[k] * HC + col] += alpha[kh] * drop[kh] * dout[g.dst[k] * HC + col];
    }
  }
  return { dalpha, dx };
}
