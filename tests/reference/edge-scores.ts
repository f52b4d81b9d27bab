// Float64 references for shaders/edge-scores.wgsl. Node matrices are contiguous [N, H*C] (head h, channel c at
// column h*C + c); per-edge values [E, H] in the graph's edge order. Gradients are accumulated edge by edge, so
// these loops do not share the kernels' CSR / CSC bookkeeping.
import { leakyRelu, leakyReluGrad } from './common.ts';

type A = ArrayLike<number>;

/** The part of a graph the references need: edge k goes from src[k] to dst[k]. */
export interface EdgeList {
  numNodes: number;
  src: A;
  dst: A;
}

export interface ScoreDims {
  heads: number;
  channels: number;
  slope: number;
}

/** e[k,h] = sum_c att[h,c] * LeakyReLU(xl[src_k,h,c] + xr[dst_k,h,c] (+ edge[k,h*C+c])), edge [E, H*C] */
export function gatv2Score(g: EdgeList, xl: A, xr: A, att: A, d: ScoreDims, edge?: A): Float64Array {
  const { heads: H, channels: C } = d,
    E = g.src.length;
  const e = new Float64Array(E * H);
  for (let k = 0; k < E; k++) {
    for (let h = 0; h < H; h++) {
      let s = 0;
      for (let c = 0; c < C; c++) {
        const col = h * C + c;
        const z = xl[g.src[k] * H * C + col] + xr[g.dst[k] * H * C + col] + (edge ? edge[k * H * C + col] : 0);
        s += att[col] * leakyRelu(z, d.slope);
      }
      e[k * H + h] = s;
    }
  }
  return e;
}

/** dxl, dxr, datt and (with an edge term) dedge [E, H*C] of gatv2Score. */
export function gatv2ScoreBackward(
  g: EdgeList,
  xl: A,
  xr: A,
  att: A,
  de: A,
  d: ScoreDims,
  edge?: A,
): { dxl: Float64Array; dxr: Float64Array; datt: Float64Array; dedge: Float64Array } {
  const { heads: H, channels: C } = d,
    HC = H * C,
    E = g.src.length;
  const dxl = new Float64Array(g.numNodes * HC);
  const dxr = new Float64Array(g.numNodes * HC);
  const datt = new Float64Array(HC);
  const dedge = new Float64Array(E * HC);
  for (let k = 0; k < E; k++) {
    const j = g.src[k],
      i = g.dst[k];
    for (let h = 0; h < H; h++) {
      for (let c = 0; c < C; c++) {
        const col = h * C + c;
        const z = xl[j * HC + col] + xr[i * HC + col] + (edge ? edge[k * HC + col] : 0);
        const dz = de[k * H + h] * att[col] * leakyReluGrad(z, d.slope);
        dxl[j * HC + col] += dz;
        dxr[i * HC + col] += dz;
        dedge[k * HC + col] = dz;
        datt[col] += de[k * H + h] * leakyRelu(z, d.slope);
      }
    }
  }
  return { dxl, dxr, datt, dedge };
}

/** a[n,h] = sum_c x[n,h,c] * att[h,c] */
export function headDot(x: A, att: A, rows: number, heads: number, channels: number): Float64Array {
  const a = new Float64Array(rows * heads);
  for (let n = 0; n < rows; n++) {
    for (let h = 0; h < heads; h++) {
      let s = 0;
      for (let c = 0; c < channels; c++) s += x[(n * heads + h) * channels + c] * att[h * channels + c];
      a[n * heads + h] = s;
    }
  }
  return a;
}

export function headDotBackward(
  x: A,
  att: A,
  da: A,
  rows: number,
  heads: number,
  channels: number,
): { dx: Float64Array; datt: Float64Array } {
  const HC = heads * channels;
  const dx = new Float64Array(rows * HC);
  const datt = new Float64Array(HC);
  for (let n = 0; n < rows; n++) {
    for (let col = 0; col < HC; col++) {
      const g = da[n * heads + Math.floor(col / channels)];
      dx[n * HC + col] = g * att[col];
      datt[col] += g * x[n * HC + col];
    }
  }
  return { dx, datt };
}

/** e[k,h] = LeakyReLU(as[src_k,h] + ad[dst_k,h] (+ edge[k,h])), edge [E, H] */
export function gatScore(g: EdgeList, as: A, ad: A, heads: number, slope: number, edge?: A): Float64Array {
  const E = g.src.length;
  const e = new Float64Array(E * heads);
  for (let k = 0; k < E; k++) {
    for (let h = 0; h < heads; h++) {
      const s = as[g.src[k] * heads + h] + ad[g.dst[k] * heads + h] + (edge ? edge[k * heads + h] : 0);
      e[k * heads + h] = leakyRelu(s, slope);
    }
  }
  return e;
}

/** das, dad and (with an edge term) dedge [E, H] of gatScore. */
export function gatScoreBackward(
  g: EdgeList,
  as: A,
  ad: A,
  de: A,
  heads: number,
  slope: number,
  edge?: A,
): { das: Float64Array; dad: Float64Array; dedge: Float64Array } {
  const das = new Float64Array(g.numNodes * heads);
  const dad = new Float64Array(g.numNodes * heads);
  const dedge = new Float64Array(g.src.length * heads);
  for (let k = 0; k < g.src.length; k++) {
    const j = g.src[k],
      i = g.dst[k];
    for (let h = 0; h < heads; h++) {
      const s = as[j * heads + h] + ad[i * heads + h] + (edge ? edge[k * heads + h] : 0);
      const dz = de[k * heads + h] * leakyReluGrad(s, slope);
      das[j * heads + h] += dz;
      dad[i * heads + h] += dz;
      dedge[k * heads + h] = dz;
    }
  }
  return { das, dad, dedge };
}
