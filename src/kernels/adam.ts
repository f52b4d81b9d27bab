// Adam and AdamW optimizer steps (shaders/adam.wgsl) over one flat buffer of every parameter of a model.
import code from '../../shaders/adam.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { groups, kernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { expectSize } from './check.ts';

export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

const K = {
  step4: kernel({ name: 'adam.step', code, entryPoint: 'adam_step4', workgroupSize: 128 }),
  tail: kernel({ name: 'adam.step', code, entryPoint: 'adam_tail', workgroupSize: 4 }),
  step4W: kernel({
    name: 'adamw.step',
    code,
    entryPoint: 'adam_step4',
    workgroupSize: 128,
    overrides: { DECOUPLED: true },
  }),
  tailW: kernel({
    name: 'adamw.step',
    code,
    entryPoint: 'adam_tail',
    workgroupSize: 4,
    overrides: { DECOUPLED: true },
  }),
};

function checkConfig(cfg: AdamConfig, op = 'adam'): void {
  if (!(cfg.lr >= 0)) throw new Error(`${op}: lr must be >= 0, got ${cfg.lr}`);
  if (!(cfg.beta1 >= 0 && cfg.beta1 < 1)) throw new Error(`${op}: beta1 must be in [0, 1), got ${cfg.beta1}`);
  if (!(cfg.beta2 >= 0 && cfg.beta2 < 1)) throw new Error(`${op}: beta2 must be in [0, 1), got ${cfg.beta2}`);
  if (!(cfg.eps >= 0)) throw new Error(`${op}: eps must be >= 0, got ${cfg.eps}`);
  if (!(cfg.weightDecay >= 0)) throw new Error(`${op}: weightDecay must be >= 0, got ${cfg.weightDecay}`);
}

/**
 * Host-side: the per-step scalars [lr, 1 - beta1^t, 1 - beta2^t, 0] for step t >= 1, written into an f32 [4]
 * tensor before the step (one queue write per step). Computed in float64 (as torch does in Python), then rounded.
 */
export function adamScalars(cfg: AdamConfig, t: number): Float32Array {
  checkConfig(cfg);
  if (!Number.isInteger(t) || t < 1) throw new Error(`adamScalars: step t must be an integer >= 1, got ${t}`);
  return new Float32Array([cfg.lr, 1 - cfg.beta1 ** t, 1 - cfg.beta2 ** t, 0]);
}

/**
 * One torch.optim.Adam step (L2 weight decay added to the gradient, bias-corrected, NOT AdamW) over flat f32
 * tensors of equal size, in the order of torch's _single_tensor_adam:
 *   g = grad + wd * p;  m = lerp(m, g, 1 - b1);  v = b2 v + (1 - b2) g^2;
 *   p += -(lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps).
 * scalars = the f32 [4] tensor from adamScalars (lr and the bias corrections of this step). The other
 * settings travel as a uniform block that stays the same every step (created once, then cached). One dispatch
 * of four elements per thread, plus one small dispatch for the last n % 4 elements when n is not a multiple of 4.
 */
export function adamStep(
  gpu: Gpu,
  params: Tensor,
  grads: Tensor,
  m: Tensor,
  v: Tensor,
  scalars: Tensor,
  cfg: AdamConfig,
): void {
  checkConfig(cfg);
  step(gpu, 'adamStep', false, params, grads, m, v, scalars, cfg);
}

/**
 * Host-side, for AdamW: [lr, 1 - beta1^t, 1 - beta2^t, 1 - lr * wd] for step t >= 1 (float64, then rounded, as
 * torch passes Python floats to its f32 kernels).
 */
export function adamWScalars(cfg: AdamConfig, t: number): Float32Array {
  checkConfig(cfg, 'adamw');
  if (!Number.isInteger(t) || t < 1) throw new Error(`adamWScalars: step t must be an integer >= 1, got ${t}`);
  return new Float32Array([cfg.lr, 1 - cfg.beta1 ** t, 1 - cfg.beta2 ** t, 1 - cfg.lr * cfg.weightDecay]);
}

/**
 * One torch.optim.AdamW step (decoupled weight decay) over flat f32 tensors of equal size, in torch's order:
 *   p *= 1 - lr * wd;  m = lerp(m, grad, 1 - b1);  v = b2 v + (1 - b2) grad^2;
 *   p += -(lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps).
 * scalars = the f32 [4] tensor from adamWScalars; the dispatches are those of adamStep.
 */
export function adamWStep(
  gpu: Gpu,
  params: Tensor,
  grads: Tensor,
  m: Tensor,
  v: Tensor,
  scalars: Tensor,
  cfg: AdamConfig,
): void {
  checkConfig(cfg, 'adamw');
  step(gpu, 'adamWStep', true, params, grads, m, v, scalars, cfg);
}

function step(
  gpu: Gpu,
  op: string,
  decoupled: boolean,
  params: Tensor,
  grads: Tensor,
  m: Tensor,
  v: Tensor,
  scalars: Tensor,
  cfg: AdamConfig,
): void {
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
    weight_decay: decoupled ? 0 : cfg.weightDecay,
    lerp_weight: 1 - cfg.beta1,
    one_minus_beta2: 1 - cfg.beta2,
  };
  const bindings = { param: params, grad: grads, exp_avg: m, exp_avg_sq: v, scalars };
  const vec4s = Math.floor(n / 4);
  const [step4, tail] = decoupled ? [K.step4W, K.tailW] : [K.step4, K.tail];
  gpu.dispatch(step4, {
    bindings,
    uniforms,
    workgroups: groups(vec4s, step4.workgroupSize),
    cost: { bytes: vec4s * 112, flops: vec4s * 64 },
  });
  // The last n % 4 elements (none when the caller pads its flat buffers to a multiple of 4).
  gpu.dispatch(tail, {
    bindings,
    uniforms,
    workgroups: n % 4 === 0 ? 0 : 1,
    cost: { bytes: (n % 4) * 28, flops: (n % 4) * 16 },
  });
}
