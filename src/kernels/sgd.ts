// SGD optimizer step (shaders/sgd.wgsl) over one flat buffer of every parameter of a model.
import code from '../../shaders/sgd.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { expectSize } from './check.ts';
import { dispatchFlatStep, flatStepKernels } from './flat-step.ts';

export interface SgdConfig {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

// The momentum buffer is bound only by the sgd_momentum_* entry points.
const K = {
  plain: flatStepKernels('sgd.step', code, { step4: 'sgd_step4', tail: 'sgd_tail' }),
  momentum: flatStepKernels('sgd.step', code, { step4: 'sgd_momentum_step4', tail: 'sgd_momentum_tail' }),
};

/** Throws unless the settings are ones torch.optim.SGD accepts. */
export function checkSgdConfig(cfg: SgdConfig): void {
  if (!(cfg.lr >= 0)) throw new Error(`sgd: lr must be >= 0, got ${cfg.lr}`);
  if (!(cfg.momentum >= 0)) throw new Error(`sgd: momentum must be >= 0, got ${cfg.momentum}`);
  if (!Number.isFinite(cfg.dampening)) throw new Error(`sgd: dampening must be a finite number, got ${cfg.dampening}`);
  if (!(cfg.weightDecay >= 0)) throw new Error(`sgd: weightDecay must be >= 0, got ${cfg.weightDecay}`);
  if (cfg.nesterov && (cfg.momentum <= 0 || cfg.dampening !== 0)) {
    throw new Error(
      'sgd: Nesterov momentum needs momentum > 0 and dampening 0, ' +
        `got momentum ${cfg.momentum} and dampening ${cfg.dampening}`,
    );
  }
}

/**
 * Host-side: the per-step scalars [lr, 1 on the first step else 0, 0, 0] for step t >= 1, written into an f32 [4]
 * tensor before the step (one queue write per step; lr may change from step to step).
 */
export function sgdScalars(cfg: SgdConfig, t: number): Float32Array {
  checkSgdConfig(cfg);
  if (!Number.isInteger(t) || t < 1) throw new Error(`sgdScalars: step t must be an integer >= 1, got ${t}`);
  return new Float32Array([cfg.lr, t === 1 ? 1 : 0, 0, 0]);
}

/**
 * One torch.optim.SGD step over flat f32 tensors of equal size, in the order of torch's _single_tensor_sgd:
 *   d = grad + wd * p;
 *   with momentum: buf = d on the first step, else buf = momentum * buf + (1 - dampening) * d;
 *                  d = d + momentum * buf (Nesterov) or d = buf;
 *   p += -lr * d.
 * `momentumBuffer` is required when momentum != 0 (its contents are ignored on the first step) and unused
 * otherwise. scalars = the f32 [4] tensor from sgdScalars. One dispatch of four elements per thread, plus one small
 * dispatch for the last n % 4 elements when n is not a multiple of 4.
 */
export function sgdStep(
  gpu: Gpu,
  params: Tensor,
  grads: Tensor,
  momentumBuffer: Tensor | null,
  scalars: Tensor,
  cfg: SgdConfig,
): void {
  checkSgdConfig(cfg);
  const n = params.size;
  expectSize('sgdStep', 'params', params, 'f32', n);
  expectSize('sgdStep', 'grads', grads, 'f32', n);
  expectSize('sgdStep', 'scalars', scalars, 'f32', 4);
  const momentum = cfg.momentum !== 0;
  if (momentum) {
    if (!momentumBuffer) throw new Error('sgdStep: momentum != 0 needs a momentum buffer');
    expectSize('sgdStep', 'momentumBuffer', momentumBuffer, 'f32', n);
    if (momentumBuffer.buffer === params.buffer)
      throw new Error('sgdStep: momentumBuffer must not share a buffer with params');
  }
  const uniforms = {
    n,
    momentum: cfg.momentum,
    one_minus_dampening: 1 - cfg.dampening,
    weight_decay: cfg.weightDecay,
    nesterov: cfg.nesterov,
  };
  const bindings = momentum
    ? { param: params, grad: grads, momentum_buffer: momentumBuffer!, scalars }
    : { param: params, grad: grads, scalars };
  dispatchFlatStep(gpu, momentum ? K.momentum : K.plain, n, bindings, uniforms, {
    bytes: momentum ? 80 : 48,
    flops: 24,
  });
}
