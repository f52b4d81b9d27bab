// Central finite differences, to check each float64 reference backward against its own forward.

/**
 * For a forward f: R^n -> R^m and an upstream gradient g (m values), the vector-Jacobian product g^T J is
 * d/dx_i (g . f(x)) ~ (g . f(x + h e_i) - g . f(x - h e_i)) / 2h. Checks it against `analytic` (n values)
 * for every i (or `sample` of them), relative to the largest analytic magnitude.
 */
export function checkVjp(
  label: string,
  f: (x: Float64Array) => ArrayLike<number>,
  x: ArrayLike<number>,
  g: ArrayLike<number>,
  analytic: ArrayLike<number>,
  opts: { h?: number; tol?: number; sample?: number } = {},
): void {
  const h = opts.h ?? 1e-6;
  const tol = opts.tol ?? 1e-6;
  const xs = Float64Array.from(x);
  const dot = (y: ArrayLike<number>) => {
    let s = 0;
    for (let j = 0; j < y.length; j++) s += g[j] * y[j];
    return s;
  };
  let scale = 1e-12;
  for (let i = 0; i < analytic.length; i++) scale = Math.max(scale, Math.abs(analytic[i]));
  const step = opts.sample ? Math.max(1, Math.floor(xs.length / opts.sample)) : 1;
  for (let i = 0; i < xs.length; i += step) {
    const v = xs[i];
    xs[i] = v + h;
    const up = dot(f(xs));
    xs[i] = v - h;
    const down = dot(f(xs));
    xs[i] = v;
    const numeric = (up - down) / (2 * h);
    if (Math.abs(numeric - analytic[i]) > tol * scale) {
      throw new Error(`${label}: d/dx[${i}] finite difference ${numeric}, analytic ${analytic[i]}`);
    }
  }
}
