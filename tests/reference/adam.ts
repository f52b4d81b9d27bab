// Float64 reference for shaders/adam.wgsl: torch.optim.Adam's _single_tensor_adam (L2 weight decay added to
// the gradient, bias-corrected, not AdamW), in torch's order of operations.

export interface AdamSettings {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** torch.lerp(start, end, w): start + w (end - start) for w < 0.5, else end - (end - start)(1 - w). */
export function lerp(start: number, end: number, w: number): number {
  const diff = end - start;
  return w < 0.5 ? start + w * diff : end - diff * (1 - w);
}

/** Step t (>= 1), updating p, m and v in place. */
export function adamStep(
  p: Float64Array,
  grad: ArrayLike<number>,
  m: Float64Array,
  v: Float64Array,
  cfg: AdamSettings,
  t: number,
): void {
  const bc1 = 1 - cfg.beta1 ** t;
  const bc2 = 1 - cfg.beta2 ** t;
  const stepSize = cfg.lr / bc1;
  const bc2Sqrt = Math.sqrt(bc2);
  for (let i = 0; i < p.length; i++) {
    const g = cfg.weightDecay !== 0 ? grad[i] + cfg.weightDecay * p[i] : grad[i];
    m[i] = lerp(m[i], g, 1 - cfg.beta1);
    v[i] = v[i] * cfg.beta2 + (1 - cfg.beta2) * g * g;
    const denom = Math.sqrt(v[i]) / bc2Sqrt + cfg.eps;
    p[i] = p[i] - stepSize * (m[i] / denom);
  }
}

/**
 * torch.optim.AdamW, step t (>= 1), updating p, m and v in place: the parameter is first scaled by 1 - lr * wd
 * (decoupled weight decay), then updated as by Adam without weight decay.
 */
export function adamWStep(
  p: Float64Array,
  grad: ArrayLike<number>,
  m: Float64Array,
  v: Float64Array,
  cfg: AdamSettings,
  t: number,
): void {
  const decay = 1 - cfg.lr * cfg.weightDecay;
  for (let i = 0; i < p.length; i++) p[i] *= decay;
  adamStep(p, grad, m, v, { ...cfg, weightDecay: 0 }, t);
}
