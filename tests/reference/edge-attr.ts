// Float64 reference of kernels/edge-attr.ts, written from PyG's definition rather than from the CSR: remove self
// loops, compute each node's loop attribute over the remaining edges into it (in edge_index order), then look up
// each CSR position by its edge id.
import type { FillValue } from '../../src/kernels/edge-attr.ts';

export interface EdgeList {
  src: ArrayLike<number>;
  dst: ArrayLike<number>;
  numNodes: number;
}

/** The self-loop attribute of every node [N, D], and for 'max' / 'min' the edge holding each extreme (-1: none). */
export function loopAttr(g: EdgeList, attr: ArrayLike<number>, D: number, fill: FillValue) {
  const N = g.numNodes;
  const out = new Float64Array(N * D);
  const arg = new Int32Array(N * D).fill(-1);
  const count = new Float64Array(N);
  for (let k = 0; k < g.src.length; k++) {
    if (g.src[k] === g.dst[k]) continue;
    const i = g.dst[k];
    count[i]++;
    for (let d = 0; d < D; d++) {
      const v = attr[k * D + d];
      const at = i * D + d;
      if (fill === 'mean' || fill === 'add') out[at] += v;
      else if (fill === 'max' || fill === 'min') {
        if (arg[at] < 0 || (fill === 'max' ? v > out[at] : v < out[at])) (out[at] = v), (arg[at] = k);
      }
    }
  }
  for (let i = 0; i < N; i++) {
    for (let d = 0; d < D; d++) {
      if (typeof fill === 'number') out[i * D + d] = fill;
      else if (fill === 'mean' && count[i] > 0) out[i * D + d] /= count[i];
    }
  }
  return { out, arg, count };
}

/** out[p] = attr[edgeId[p]], or the loop attribute of dst[p] where edgeId[p] = -1. */
export function csrEdgeAttr(
  g: EdgeList,
  csr: { edgeId: ArrayLike<number>; dst: ArrayLike<number> },
  attr: ArrayLike<number>,
  D: number,
  fill: FillValue,
): Float64Array {
  const loops = loopAttr(g, attr, D, fill).out;
  const E = csr.edgeId.length;
  const out = new Float64Array(E * D);
  for (let p = 0; p < E; p++) {
    const k = csr.edgeId[p];
    for (let d = 0; d < D; d++) out[p * D + d] = k >= 0 ? attr[k * D + d] : loops[csr.dst[p] * D + d];
  }
  return out;
}

export function csrEdgeAttrBackward(
  g: EdgeList,
  csr: { edgeId: ArrayLike<number>; dst: ArrayLike<number> },
  attr: ArrayLike<number>,
  dout: ArrayLike<number>,
  D: number,
  fill: FillValue,
): Float64Array {
  const { arg, count } = loopAttr(g, attr, D, fill);
  const dattr = new Float64Array(g.src.length * D);
  for (let p = 0; p < csr.edgeId.length; p++) {
    const k = csr.edgeId[p];
    if (k >= 0) {
      for (let d = 0; d < D; d++) dattr[k * D + d] += dout[p * D + d];
      continue;
    }
    const i = csr.dst[p];
    for (let k2 = 0; k2 < g.src.length; k2++) {
      if (g.dst[k2] !== i || g.src[k2] === i) continue;
      for (let d = 0; d < D; d++) {
        const gl = dout[p * D + d];
        if (fill === 'add') dattr[k2 * D + d] += gl;
        else if (fill === 'mean') dattr[k2 * D + d] += gl / count[i];
        else if ((fill === 'max' || fill === 'min') && arg[i * D + d] === k2) dattr[k2 * D + d] += gl;
      }
    }
  }
  return dattr;
}
