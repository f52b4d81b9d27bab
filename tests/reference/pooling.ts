// Float64 references for graph readout (src/kernels/pooling.ts). Graph g owns nodes ptr[g] .. ptr[g + 1] - 1.

export function globalPool(
  x: ArrayLike<number>,
  ptr: ArrayLike<number>,
  f: number,
  mode: 'add' | 'mean' | 'max',
): { out: Float64Array; argmax: Int32Array } {
  const b = ptr.length - 1;
  const out = new Float64Array(b * f);
  const argmax = new Int32Array(b * f).fill(-1);
  for (let g = 0; g < b; g++) {
    const count = ptr[g + 1] - ptr[g];
    for (let j = 0; j < f; j++) {
      let s = 0;
      let best = 0;
      for (let n = ptr[g]; n < ptr[g + 1]; n++) {
        const v = x[n * f + j];
        s += v;
        if (argmax[g * f + j] < 0 || v > best) (best = v), (argmax[g * f + j] = n);
      }
      out[g * f + j] = mode === 'max' ? best : mode === 'mean' && count > 0 ? s / count : s;
    }
  }
  return { out, argmax };
}

export function globalPoolBackward(
  dout: ArrayLike<number>,
  ptr: ArrayLike<number>,
  f: number,
  mode: 'add' | 'mean' | 'max',
  argmax: Int32Array,
): Float64Array {
  const b = ptr.length - 1;
  const n = ptr[b];
  const dx = new Float64Array(n * f);
  for (let g = 0; g < b; g++) {
    const count = ptr[g + 1] - ptr[g];
    for (let i = ptr[g]; i < ptr[g + 1]; i++) {
      for (let j = 0; j < f; j++) {
        const up = dout[g * f + j];
        dx[i * f + j] = mode === 'max' ? (argmax[g * f + j] === i ? up : 0) : mode === 'mean' ? up / count : up;
      }
    }
  }
  return dx;
}

/** beta = softmax over each graph's nodes of every gate column; out[g, f] = sum_n beta[n, f % G] x[n, f]. */
export function attentionPool(
  x: ArrayLike<number>,
  gate: ArrayLike<number>,
  ptr: ArrayLike<number>,
  f: number,
  gw: number,
): { beta: Float64Array; out: Float64Array } {
  const b = ptr.length - 1;
  const n = ptr[b];
  const beta = new Float64Array(n * gw);
  for (let g = 0; g < b; g++) {
    for (let j = 0; j < gw; j++) {
      let m = -Infinity;
      for (let i = ptr[g]; i < ptr[g + 1]; i++) m = Math.max(m, gate[i * gw + j]);
      let s = 0;
      for (let i = ptr[g]; i < ptr[g + 1]; i++) s += Math.exp(gate[i * gw + j] - m);
      for (let i = ptr[g]; i < ptr[g + 1]; i++) beta[i * gw + j] = Math.exp(gate[i * gw + j] - m) / s;
    }
  }
  const out = new Float64Array(b * f);
  for (let g = 0; g < b; g++) {
    for (let c = 0; c < f; c++) {
      let s = 0;
      for (let i = ptr[g]; i < ptr[g + 1]; i++) s += beta[i * gw + (c % gw)] * x[i * f + c];
      out[g * f + c] = s;
    }
  }
  return { beta, out };
}

export function attentionPoolBackward(
  x: ArrayLike<number>,
  beta: ArrayLike<number>,
  dout: ArrayLike<number>,
  ptr: ArrayLike<number>,
  f: number,
  gw: number,
): { dx: Float64Array; dgate: Float64Array } {
  const b = ptr.length - 1;
  const n = ptr[b];
  const dx = new Float64Array(n * f);
  const dbeta = new Float64Array(n * gw);
  for (let g = 0; g < b; g++) {
    for (let i = ptr[g]; i < ptr[g + 1]; i++) {
      for (let c = 0; c < f; c++) {
        const j = c % gw;
        dx[i * f + c] = beta[i * gw + j] * dout[g * f + c];
        dbeta[i * gw + j] += dout[g * f + c] * x[i * f + c];
      }
    }
  }
  const dgate = new Float64Array(n * gw);
  for (let g = 0; g < b; g++) {
    for (let j = 0; j < gw; j++) {
      let t = 0;
      for (let i = ptr[g]; i < ptr[g + 1]; i++) t += beta[i * gw + j] * dbeta[i * gw + j];
      for (let i = ptr[g]; i < ptr[g + 1]; i++) dgate[i * gw + j] = beta[i * gw + j] * (dbeta[i * gw + j] - t);
    }
  }
  return { dx, dgate };
}
