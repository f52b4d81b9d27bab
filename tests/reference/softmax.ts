// Float64 references for shaders/softmax.wgsl: softmax over the edges that share a destination, per head.
import type { EdgeList } from './edge-scores.ts';

type A = ArrayLike<number>;

/** alpha[k,h] = exp(e[k,h] - m[dst_k,h]) / sum_{k' : dst_k' = dst_k} exp(e[k',h] - m[dst_k,h]) */
export function segmentSoftmax(g: EdgeList, e: A, heads: number): Float64Array {
  const E = g.dst.length;
  const max = new Float64Array(g.numNodes * heads).fill(-Infinity);
  const sum = new Float64Array(g.numNodes * heads);
  for (let k = 0; k < E; k++) {
    for (let h = 0; h < heads; h++) max[g.dst[k] * heads + h] = Math.max(max[g.dst[k] * heads + h], e[k * heads + h]);
  }
  for (let k = 0; k < E; k++) {
    for (let h = 0; h < heads; h++) sum[g.dst[k] * heads + h] += Math.exp(e[k * heads + h] - max[g.dst[k] * heads + h]);
  }
  const alpha = new Float64Array(E * heads);
  for (let k = 0; k < E; k++) {
    for (let h = 0; h < heads; h++) {
      const seg = g.dst[k] * heads + h;
      alpha[k * heads + h] = Math.exp(e[k * heads + h] - max[seg]) / sum[seg];
    }
  }
  return alpha;
}

/** ds[k,h] = alpha[k,h] * (dalpha[k,h] - sum_{k' : dst_k' = dst_k} alpha[k',h] * dalpha[k',h]) */
export function segmentSoftmaxBackward(g: EdgeList, alpha: A, dalpha: A, heads: number): Float64Array {
  const E = g.dst.length;
  const dot = new Float64Array(g.numNodes * heads);
  for (let k = 0; k < E; k++) {
    for (let h = 0; h < heads; h++) dot[g.dst[k] * heads + h] += alpha[k * heads + h] * dalpha[k * heads + h];
  }
  const ds = new Float64Array(E * heads);
  for (let k = 0; k < E; k++) {
    for (let h = 0; h < heads; h++) {
      ds[k * heads + h] = alpha[k * heads + h] * (dalpha[k * heads + h] - dot[g.dst[k] * heads + h]);
    }
  }
  return ds;
}
