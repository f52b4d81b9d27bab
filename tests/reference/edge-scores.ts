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

/** e[k,h] = sum_c att[h,c] * LeakyReLU(xl[src_k,h,c] + xr[dst_k,h,c]) */
export function gatv2Score(g: EdgeList, xl: A, xr: A, att: A, d: ScoreDims): Float64Array {
  const { heads: H, channels: C } = d, E = g.src.length;
  const e = new Float64Array(E * H);
  for (let k = 0; k < E; k++) {
    for (let h = 0; h < H; h++) {
      let s = 0;
      for (let c = 0; c < C; c++) {
        const col = h * C + c;
        s += att[col] * leakyRelu(xl[g.src[k] * H * C + col] + xr[g.dst[k] * H * C + col], d.slope);
      }
      e[k * H + h] = s;
    }
  }
  return e;
}

export function gatv2ScoreBackward(g: EdgeList, xl: A, xr: A, att: A, de: A, d: ScoreDims): { dxl: Float64Array; dxr: Float64Array; datt: Float64Array } {
  const { heads: H, channels: C } = d, HC = H * C, E = g.src.length;
  const dxl = new Float64Array(g.numNodes * HC);
  const dxr = new Float64Array(g.numNodes * HC);
  const datt = new Float64Array(HC);
  for (let k = 0; k < E; k++) {
    const j = g.src[k], i = g.dst[k];
    for (let h = 0; h < H; h++) {
      for (let c = 0; c < C; c++) {
        const col = h * C + c;
        const z = xl[j * HC + col] + xr[i * HC + col];
        const dz = de[k * H + h] * att[col] * leakyReluGrad(z, d.slope);
        dxl[j * HC + col] += dz;
        dxr[i * HC + col] += dz;
        datt[col] += de[k * H + h] * leakyRelu(z, d.slope);
      }
    }
  }
  return { dxl, dxr, datt };
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

export function headDotBackward(x: A, att: A, da: A, rows: number, heads: number, channels: number): { dx: Float64Array; datt: Float64Array } {
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

/** e[k,h] = LeakyReLU(as[src_k,h] + ad[dst_k,h]) */
export function gatScore(g: EdgeList, as: A, ad: A, heads: number, slope: number): Float64Array {
  const E = g.src.length;
  const e = new Float64Array(E * heads);
  for (let k = 0; k < E; k++) {
    for (let h = 0; h < heads; h++) e[k * heads + h] = leakyRelu(as[g.src[k] * heads + h] + ad[g.dst[k] * heads + h], slope);
  }
  return e;
}

export function gatScoreBackward(g: EdgeList, as: A, ad: A, de: A, heads: number, slope: number): { das: Float64Array; dad: Float64Array } {
  const das = new Float64Array(g.numNodes * heads);
  const dad = new Float64Array(g.numNodes * heads);
  for (let k = 0; k < g.src.length; k++) {
    const j = g.src[k], i = g.dst[k];
    for (let h = 0; h < heads; h++) {
      const dz = de[k * heads + h] * leakyReluGrad(as[j * heads + h] + ad[i * heads + h], slope);
      das[j * heads + h] += dz;
      dad[i * heads + h] += dz;
    }
  }
  return { das, dad };
}
