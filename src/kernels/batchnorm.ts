// Batch normalisation over the rows of x [N, F] (shaders/batchnorm.wgsl), torch.nn.BatchNorm1d's arithmetic:
//
//   training    mean, var = column mean and biased variance of x;  y = (x - mean) / sqrt(var + eps) * gamma + beta
//               running_mean = (1 - m) running_mean + m mean,  running_var = (1 - m) running_var + m var * N / (N - 1)
//   evaluation  y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta
//   backward    d beta = sum_r dy,  d gamma = sum_r dy xhat,  dx = gamma invstd / N (N dy - d beta - xhat d gamma)
import code from '../../shaders/batchnorm.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { groups, kernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { expectTensor } from './check.ts';

const K = {
  train: kernel({ name: 'batchnorm.train', code, entryPoint: 'batchnorm_train' }),
  eval: kernel({ name: 'batchnorm.eval', code, entryPoint: 'batchnorm_eval' }),
  backward: kernel({ name: 'batchnorm.backward', code, entryPoint: 'batchnorm_backward' }),
};

export interface BatchNormState {
  /** gamma, beta: f32 [F] */
  weight: Tensor;
  bias: Tensor;
  /** f32 [F], updated in place by a training forward with `update`. */
  runningMean: Tensor;
  runningVar: Tensor;
}

function check(op: string, x: Tensor, s: BatchNormState): [number, number] {
  expectTensor(op, 'x', x, 'f32', [-1, -1]);
  const [n, f] = x.shape;
  for (const [name, t] of [
    ['weight', s.weight],
    ['bias', s.bias],
    ['runningMean', s.runningMean],
    ['runningVar', s.runningVar],
  ] as const) {
    expectTensor(op, name, t, 'f32', [f]);
  }
  return [n, f];
}

/**
 * Training forward: y [N, F] normalised by the batch statistics, which are returned (mean, invstd [F]) for the
 * backward; with `update`, the running statistics move by `momentum`. N must be at least 2 (as PyTorch requires).
 */
export function batchNormTrain(
  gpu: Gpu,
  x: Tensor,
  s: BatchNormState,
  o: { eps: number; momentum: number; update: boolean; out: Tensor; mean: Tensor; invstd: Tensor },
): Tensor {
  const op = 'batchNormTrain';
  const [n, f] = check(op, x, s);
  if (n < 2)
    throw new Error(`${op}: expected more than 1 value per channel when training, got input of shape [${n}, ${f}]`);
  expectTensor(op, 'out', o.out, 'f32', [n, f]);
  expectTensor(op, 'mean', o.mean, 'f32', [f]);
  expectTensor(op, 'invstd', o.invstd, 'f32', [f]);
  gpu.dispatch(K.train, {
    bindings: {
      x_in: x,
      weight: s.weight,
      bias: s.bias,
      out: o.out,
      batch_mean: o.mean,
      batch_invstd: o.invstd,
      running_mean: s.runningMean,
      running_var: s.runningVar,
    },
    uniforms: { rows: n, cols: f, eps: o.eps, momentum: o.momentum, update: o.update ? 1 : 0 },
    workgroups: groups(f, K.train.workgroupSize),
    cost: { bytes: 4 * (3 * n * f + 8 * f), flops: 6 * n * f },
  });
  return o.out;
}

/** Evaluation forward: y [N, F] normalised by the running statistics. */
export function batchNormEval(gpu: Gpu, x: Tensor, s: BatchNormState, o: { eps: number; out: Tensor }): Tensor {
  const op = 'batchNormEval';
  const [n, f] = check(op, x, s);
  expectTensor(op, 'out', o.out, 'f32', [n, f]);
  if (n * f === 0) return o.out;
  gpu.dispatch(K.eval, {
    bindings: {
      x_in: x,
      weight: s.weight,
      bias: s.bias,
      out: o.out,
      running_mean: s.runningMean,
      running_var: s.runningVar,
    },
    uniforms: { rows: n, cols: f, eps: o.eps, momentum: 0, update: 0 },
    workgroups: groups(n * f, K.eval.workgroupSize),
    cost: { bytes: 4 * (2 * n * f + 4 * f), flops: 4 * n * f },
  });
  return o.out;
}

/** Backward of batchNormTrain given dy [N, F] and the forward's mean and invstd: dx, d gamma and d beta. */
export function batchNormBackward(
  gpu: Gpu,
  x: Tensor,
  dy: Tensor,
  weight: Tensor,
  mean: Tensor,
  invstd: Tensor,
  o: { dx: Tensor; dweight: Tensor; dbias: Tensor },
): void {
  const op = 'batchNormBackward';
  expectTensor(op, 'x', x, 'f32', [-1, -1]);
  const [n, f] = x.shape;
  expectTensor(op, 'dy', dy, 'f32', [n, f]);
  for (const [name, t] of [
    ['weight', weight],
    ['mean', mean],
    ['invstd', invstd],
    ['dweight', o.dweight],
    ['dbias', o.dbias],
  ] as const)
    expectTensor(op, name, t, 'f32', [f]);
  expectTensor(op, 'dx', o.dx, 'f32', [n, f]);
  if (o.dx.buffer === dy.buffer || o.dx.buffer === x.buffer)
    throw new Error(`${op}: dx must not share a GPU buffer with x or dy`);
  gpu.dispatch(K.backward, {
    bindings: {
      x_in: x,
      weight,
      out: o.dx,
      batch_mean: mean,
      batch_invstd: invstd,
      grad_in: dy,
      grad_weight: o.dweight,
      grad_bias: o.dbias,
    },
    uniforms: { rows: n, cols: f, eps: 0, momentum: 0, update: 0 },
    workgroups: groups(f, K.backward.workgroupSize),
    cost: { bytes: 4 * (5 * n * f + 6 * f), flops: 10 * n * f },
  });
}
