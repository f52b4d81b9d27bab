// Float64 references for shaders/reduce.wgsl. They walk the edge list directly (not the CSR/CSC structure the
// kernels use), so they check the kernels' segment and permutation arithmetic too.

type A = ArrayLike<number>;

/** out[i, f] = sum over edges k with key[k] = i of vals[k, f]; key = dst (by 'dst') or src (by 'src'), in CSR order. */
export function scatterAdd(vals: A, key: A, numNodes: number, f: number): Float64Array {
  const out = new Float64Array(numNodes * f);
  for (let k = 0; k < key.length; k++) {
    for (let j = 0; j < f; j++) out[key[k] * f + j] += vals[k * f + j];
  }
  return out;
}

/** Its vector-Jacobian product: dvals[k, f] = dout[key[k], f] (a gather). */
export function scatterAddBackward(dout: A, key: A, f: number): Float64Array {
  const dvals = new Float64Array(key.length * f);
  for (let k = 0; k < key.length; k++) {
    for (let j = 0; j < f; j++) dvals[k * f + j] = dout[key[k] * f + j];
  }
  return dvals;
}

/** out[f] = sum_r x[r, f] (plus `init[f]` when given, as columnSum's accumulate does). */
export function columnSum(x: A, rows: number, f: number, init?: A): Float64Array {
  const out = new Float64Array(f);
  for (let j = 0; j < f; j++) out[j] = init ? init[j] : 0;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < f; j++) out[j] += x[r * f + j];
  }
  return out;
}

/** Its vector-Jacobian product: dx[r, f] = dout[f]. */
export function columnSumBackward(dout: A, rows: number, f: number): Float64Array {
  const dx = new Float64Array(rows * f);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < f; j++) dx[r * f + j] = dout[j];
  }
  return dx;
}
