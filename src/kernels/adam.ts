// Adam and AdamW optimizer steps (shaders/adam.wgsl) over one flat buffer of every parameter of a model.
import code from '../../shaders/adam.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { expectSize } from './check.ts';
import { dispatchFlatStep, flatStepKernels } from './flat-step.ts';

export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

const ENTRY_POINTS = { step4: 'adam_step4', tail: 'adam_tail' };

/** Adam and AdamW: the names their errors give, and their pipelines (AdamW's with DECOUPLED). */
const VARIANTS = {
  adam: {
    config: 'adam',
    scalars: 'adamScalars',
    step: 'adamStep',
    decoupled: false,
    k: flatStepKernels('adam.step', code, ENTRY_POINTS),
  },
  adamw: {
    config: 'adamw',
    scalars: 'adamWScalars',
    step: 'adamWStep',
    decoupled: true,
    k: flatStepKernels('adamw.step', code, ENTRY_POINTS, { DECOUPLED: true }),
  },
};
type Variant = (typeof VARIANTS)[keyof typeof VARIANTS];

function checkConfig(cfg: AdamConfig, op = 'adam'): void {
  if (!(cfg.lr >= 0)) throw new Error(`${op}: lr must be >= 0, got ${cfg.lr}`);
  if (!(cfg.beta1 >= 0 && cfg.beta1 < 1)) throw new Error(`${op}: beta1 must be in [0, 1), got ${cfg.beta1}`);
  if (!(cfg.beta2 >= 0 && cfg.beta2 < 1)) throw new Error(`${op}: beta2 must be in [0, 1), got ${cfg.beta2}`);
  if (!(cfg.eps >= 0)) throw new Error(`${op}: eps must be >= 0, got ${cfg.eps}`);
  if (!(cfg.weightDecay >= 0)) throw new Error(`${op}: weightDecay must be >= 0, got ${cfg.weightDecay}`);
}

/** [lr, 1 - beta1^t, 1 - beta2^t, then 0 (Adam) or 1 - lr * wd (AdamW)], in float64, then rounded. */
function scalarsFor(v: Variant, cfg: AdamConfig, t: number): Float32Array {
  checkConfig(cfg, v.config);
  if (!Number.isInteger(t) || t < 1) throw new Error(`${v.scalars}: step t must be an integer >= 1, got ${t}`);
  return new Float32Array([
    cfg.lr,
    1 - cfg.beta1 ** t,
    1 - cfg.beta2 ** t,
    v.decoupled ? 1 - cfg.lr * cfg.weightDecay : 0,
  ]);
}

/**
 * Host-side: the per-step scalars [lr, 1 - beta1^t, 1 - beta2^t, 0] for step t >= 1, written into an f32 [4]
 * tensor before the step (one queue write per step). Computed in float64 (as torch does in Python), then rounded.
 */
export function adamScalars(cfg: AdamConfig, t: number): Float32Array {
  return scalarsFor(VARIANTS.adam, cfg, t);
}

/** The arguments of adamStep and adamWStep: flat f32 tensors of equal size, the step's scalars and the config. */
type AdamStep = (
  gpu: Gpu,
  params: Tensor,
  grads: Tensor,
  m: Tensor,
  v: Tensor,
  scalars: Tensor,
  cfg: AdamConfig,
) => void;

/** adamStep or adamWStep: the config checked, then the two dispatches of flat-step.ts. */
const stepFor =
  (variant: Variant): AdamStep =>
  (gpu, params, grads, m, v, scalars, cfg) => {
    checkConfig(cfg, variant.config);
    const op = variant.step;
    const n = params.size;
    expectSize(op, 'params', params, 'f32', n);
    expectSize(op, 'grads', grads, 'f32', n);
    expectSize(op, 'm', m, 'f32', n);
    expectSize(op, 'v', v, 'f32', n);
    expectSize(op, 'scalars', scalars, 'f32', 4);
    // AdamW's decay travels in scalars (it depends on lr); its uniform weight decay is unused.
    const uniforms = {
      n,
      beta2: cfg.beta2,
      eps: cfg.eps,
      weight_decay: variant.decoupled ? 0 : cfg.weightDecay,
      lerp_weight: 1 - cfg.beta1,
      one_minus_beta2: 1 - cfg.beta2,
    };
    const bindings = { param: params, grad: grads, exp_avg: m, exp_avg_sq: v, scalars };
    dispatchFlatStep(gpu, variant.k, n, bindings, uniforms, { bytes: 112, flops: 64 });
  };

/**
 * One torch.optim.Adam step (L2 weight decay added to the gradient, bias-corrected, NOT AdamW) over flat f32
 * tensors of equal size, in the order of torch's _single_tensor_adam:
 *   g = grad + wd * p;  m = lerp(m, g, 1 - b1);  v = b2 v + (1 - b2) g^2;
 *   p += -(lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps).
 * scalars = the f32 [4] tensor from adamScalars (lr and the bias corrections of this step). The other
 * settings travel as a uniform block that stays the same every step (created once, then cached). One dispatch
 * of four elements per thread, plus one small dispatch for the last n % 4 elements when n is not a multiple of 4.
 */
export const adamStep: AdamStep = stepFor(VARIANTS.adam);

/**
 * Host-side, for AdamW: [lr, 1 - beta1^t, 1 - beta2^t, 1 - lr * wd] for step t >= 1 (float64, then rounded, as
 * torch passes Python floats to its f32 kernels).
 */
export function adamWScalars(cfg: AdamConfig, t: number): Float32Array {
  return scalarsFor(VARIANTS.adamw, cfg, t);
}

/**
 * One torch.optim.AdamW step (decoupled weight decay) over flat f32 tensors of equal size, in torch's order:
 *   p *= 1 - lr * wd;  m = lerp(m, grad, 1 - b1);  v = b2 v + (1 - b2) grad^2;
 *   p += -(lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps).
 * scalars = the f32 [4] tensor from adamWScalars; the dispatches are those of adamStep.
 */
export const adamWStep: AdamStep = stepFor(VARIANTS.adamw);
