// Float64 reference for shaders/sgd.wgsl: torch.optim.SGD's _single_tensor_sgd, in torch's order of operations.

export interface SgdSettings {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

/**
 * Step t (>= 1), updating p and (with momentum) buf in place:
 *   d = grad + wd p;  buf = d at t = 1, else momentum buf + (1 - dampening) d;
 *   d = d + momentum buf (Nesterov) or buf;  p = p - lr d.
 */
export function sgdStep(
  p: Float64Array,
  grad: ArrayLike<number>,
  buf: Float64Array,
  cfg: SgdSettings,
  t: number,
): void {
  for (let i = 0; i < p.length; i++) {
    let d = cfg.weightDecay !== 0 ? grad[i] + cfg.weightDecay * p[i] : grad[i];
    if (cfg.momentum !== 0) {
      buf[i] = t === 1 ? d : buf[i] * cfg.momentum + (1 - cfg.dampening) * d;
      d = cfg.nesterov ? d + cfg.momentum * buf[i] : buf[i];
    }
    p[i] = p[i] - cfg.lr * d;
  }
}
