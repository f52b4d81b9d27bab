// Elementwise ops (shaders/elementwise.wgsl): bias add, add, ELU, ReLU, LeakyReLU, dropout, ELU / ReLU /
// LeakyReLU fused with dropout, mean over heads, fill. Each thread takes 4 consecutive elements.
import code from '../../shaders/elementwise.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { groups, kernel, type Kernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { expectDropout, expectSize, expectTensor } from './check.ts';

/** The kernel of an elementwise.wgsl entry point; in place (IN_PLACE), the streamed input is read from `out`. */
const entry = (name: string, entryPoint: string, inPlace = false) =>
  kernel({ name, code, entryPoint, overrides: inPlace ? { IN_PLACE: true } : {} });

const K = {
  biasAdd: entry('bias_add', 'bias_add'),
  add: entry('add', 'add'),
  eluForward: entry('elu.forward', 'elu_forward'),
  eluBackward: entry('elu.backward', 'elu_backward'),
  leakyForward: entry('leaky_relu.forward', 'leaky_relu_forward'),
  leakyBackward: entry('leaky_relu.backward', 'leaky_relu_backward'),
  leakyDropoutForward: entry('leaky_relu_dropout.forward', 'leaky_relu_dropout_forward'),
  leakyDropoutBackward: entry('leaky_relu_dropout.backward', 'leaky_relu_dropout_backward'),
  // In place: x read from out (forward) or dy from out (backward); the other binding is then not read.
  leakyForwardInPlace: entry('leaky_relu.forward', 'leaky_relu_forward', true),
  leakyDropoutForwardInPlace: entry('leaky_relu_dropout.forward', 'leaky_relu_dropout_forward', true),
  leakyBackwardInPlace: entry('leaky_relu.backward', 'leaky_relu_backward', true),
  leakyDropoutBackwardInPlace: entry('leaky_relu_dropout.backward', 'leaky_relu_dropout_backward', true),
  dropout: entry('dropout', 'dropout'),
  eluDropoutForward: entry('elu_dropout.forward', 'elu_dropout_forward'),
  eluDropoutBackward: entry('elu_dropout.backward', 'elu_dropout_backward'),
  // dy read from out (IN_PLACE); y_in is then not read.
  eluBackwardInPlace: entry('elu.backward', 'elu_backward', true),
  eluDropoutBackwardInPlace: entry('elu_dropout.backward', 'elu_dropout_backward', true),
  headMeanForward: entry('head_mean.forward', 'head_mean_forward'),
  headMeanBackward: entry('head_mean.backward', 'head_mean_backward'),
  fill: entry('fill', 'fill'),
};

/** Uniform block of elementwise.wgsl; fields an op does not use are 0. */
interface Params {
  n: number;
  cols?: number;
  a?: number;
  seed?: number;
  heads?: number;
  p?: number;
}

function outFor(gpu: Gpu, op: string, like: Tensor, out?: Tensor, shape: readonly number[] = like.shape): Tensor {
  if (!out) return gpu.empty('f32', shape);
  expectTensor(op, 'out', out, 'f32', shape);
  return out;
}

type Bindings = { x_in?: Tensor; y_in?: Tensor; out: Tensor; step?: Tensor };

function run(gpu: Gpu, k: Kernel, bindings: Bindings, u: Params, bytesPerElem: number, flopsPerElem = 1): void {
  const { n } = u;
  gpu.dispatch(k, {
    bindings,
    uniforms: { cols: 1, a: 0, heads: 1, p: 0, ...u, seed: (u.seed ?? 0) >>> 0 },
    workgroups: groups(Math.ceil(n / 4), k.workgroupSize),
    cost: { bytes: n * bytesPerElem, flops: n * flopsPerElem },
  });
}

/** out[r, c] = x[r, c] + bias[c] */
export function biasAdd(gpu: Gpu, x: Tensor, bias: Tensor, out?: Tensor): Tensor {
  const cols = bias.size;
  expectTensor('biasAdd', 'x', x, 'f32', [-1, cols]);
  expectSize('biasAdd', 'bias', bias, 'f32', cols);
  out = outFor(gpu, 'biasAdd', x, out);
  run(gpu, K.biasAdd, { x_in: x, y_in: bias, out }, { n: x.size, cols }, 8);
  return out;
}

/** out = a + b */
export function add(gpu: Gpu, a: Tensor, b: Tensor, out?: Tensor): Tensor {
  expectSize('add', 'b', b, 'f32', a.size);
  out = outFor(gpu, 'add', a, out);
  run(gpu, K.add, { x_in: a, y_in: b, out }, { n: a.size }, 12);
  return out;
}

export function eluForward(gpu: Gpu, x: Tensor, alpha = 1, out?: Tensor): Tensor {
  out = outFor(gpu, 'eluForward', x, out);
  run(gpu, K.eluForward, { x_in: x, out }, { n: x.size, a: alpha }, 8, 3);
  return out;
}

/** dx = dy * d elu(x) / dx, with x the forward input. `out` may be dy itself: dx then overwrites dy. */
export function eluBackward(gpu: Gpu, x: Tensor, dy: Tensor, alpha = 1, out?: Tensor): Tensor {
  expectSize('eluBackward', 'dy', dy, 'f32', x.size);
  out = outFor(gpu, 'eluBackward', x, out);
  const u = { n: x.size, a: alpha };
  if (out === dy) run(gpu, K.eluBackwardInPlace, { x_in: x, y_in: gpu.unread('f32'), out }, u, 12, 3);
  else run(gpu, K.eluBackward, { x_in: x, y_in: dy, out }, u, 12, 3);
  return out;
}

/** ReLU: out = max(x, 0). `out` may be x itself (in place). */
export function reluForward(gpu: Gpu, x: Tensor, out?: Tensor): Tensor {
  return leakyReluForward(gpu, x, 0, out);
}

/**
 * dx = dy * (1 if x > 0 else 0), with x the forward input or the forward output (they have the same sign). `out`
 * may be dy itself: dx then overwrites dy.
 */
export function reluBackward(gpu: Gpu, x: Tensor, dy: Tensor, out?: Tensor): Tensor {
  return leakyReluBackward(gpu, x, dy, 0, out);
}

/** LeakyReLU: out = x if x > 0 else slope * x. `out` may be x itself (in place). */
export function leakyReluForward(gpu: Gpu, x: Tensor, slope = 0.01, out?: Tensor): Tensor {
  expectSlope('leakyReluForward', slope);
  out = outFor(gpu, 'leakyReluForward', x, out);
  const u = { n: x.size, a: slope };
  if (out === x) run(gpu, K.leakyForwardInPlace, { x_in: gpu.unread('f32'), out }, u, 8);
  else run(gpu, K.leakyForward, { x_in: x, out }, u, 8);
  return out;
}

/**
 * dx = dy * (1 if x > 0 else slope), with x the forward input or, when slope >= 0, the forward output (the same
 * sign: an in-place forward keeps only that). `out` may be dy itself: dx then overwrites dy.
 */
export function leakyReluBackward(gpu: Gpu, x: Tensor, dy: Tensor, slope = 0.01, out?: Tensor): Tensor {
  expectSlope('leakyReluBackward', slope);
  expectSize('leakyReluBackward', 'dy', dy, 'f32', x.size);
  out = outFor(gpu, 'leakyReluBackward', x, out);
  if (out === x) throw new Error('leakyReluBackward: out must not be x (it may be dy)');
  const u = { n: x.size, a: slope };
  if (out === dy) run(gpu, K.leakyBackwardInPlace, { x_in: x, y_in: gpu.unread('f32'), out }, u, 12);
  else run(gpu, K.leakyBackward, { x_in: x, y_in: dy, out }, u, 12);
  return out;
}

/** dropout(ReLU(x)) in one pass, the same mask as `dropout` with the same args. `out` may be x itself. */
export function reluDropoutForward(gpu: Gpu, x: Tensor, args: DropoutArgs, out?: Tensor): Tensor {
  return leakyReluDropoutForward(gpu, x, 0, args, out);
}

/** Backward of reluDropoutForward, x its input or output. `out` may be dy itself. */
export function reluDropoutBackward(gpu: Gpu, x: Tensor, dy: Tensor, args: DropoutArgs, out?: Tensor): Tensor {
  return leakyReluDropoutBackward(gpu, x, dy, 0, args, out);
}

/** dropout(LeakyReLU(x)) in one pass, the same mask as `dropout` with the same args. `out` may be x itself. */
export function leakyReluDropoutForward(gpu: Gpu, x: Tensor, slope: number, args: DropoutArgs, out?: Tensor): Tensor {
  expectSlope('leakyReluDropoutForward', slope);
  expectDropout('leakyReluDropoutForward', args, 'step');
  out = outFor(gpu, 'leakyReluDropoutForward', x, out);
  const u = { n: x.size, a: slope, seed: args.seed, p: args.p };
  if (out === x) run(gpu, K.leakyDropoutForwardInPlace, { x_in: gpu.unread('f32'), out, step: args.step }, u, 8, 2);
  else run(gpu, K.leakyDropoutForward, { x_in: x, out, step: args.step }, u, 8, 2);
  return out;
}

/**
 * Backward of leakyReluDropoutForward: dx = dy * mask / (1 - p) * LeakyReLU'(x), with x the forward input or,
 * when slope >= 0, the forward output. `out` may be dy itself.
 */
export function leakyReluDropoutBackward(
  gpu: Gpu,
  x: Tensor,
  dy: Tensor,
  slope: number,
  args: DropoutArgs,
  out?: Tensor,
): Tensor {
  expectSlope('leakyReluDropoutBackward', slope);
  expectDropout('leakyReluDropoutBackward', args, 'step');
  expectSize('leakyReluDropoutBackward', 'dy', dy, 'f32', x.size);
  out = outFor(gpu, 'leakyReluDropoutBackward', x, out);
  if (out === x) throw new Error('leakyReluDropoutBackward: out must not be x (it may be dy)');
  const u = { n: x.size, a: slope, seed: args.seed, p: args.p };
  if (out === dy)
    run(gpu, K.leakyDropoutBackwardInPlace, { x_in: x, y_in: gpu.unread('f32'), out, step: args.step }, u, 12, 3);
  else run(gpu, K.leakyDropoutBackward, { x_in: x, y_in: dy, out, step: args.step }, u, 12, 3);
  return out;
}

function expectSlope(op: string, slope: number): void {
  if (!Number.isFinite(slope)) throw new Error(`${op}: slope must be a finite number, got ${slope}`);
}

export interface DropoutArgs {
  /** Probability of zeroing an element. */
  p: number;
  /** Identifies the dropout site; with the step it fixes the mask. */
  seed: number;
  /** u32 tensor whose first element is the training step. */
  step: Tensor;
}

/** out = x * mask / (1 - p). Its backward is this same call on dy with the same args. */
export function dropout(gpu: Gpu, x: Tensor, args: DropoutArgs, out?: Tensor): Tensor {
  expectDropout('dropout', args, 'step');
  out = outFor(gpu, 'dropout', x, out);
  run(gpu, K.dropout, { x_in: x, out, step: args.step }, { n: x.size, a: args.p, seed: args.seed }, 8, 1);
  return out;
}

/** dropout(ELU(x)) in one pass: the same mask as `dropout` with the same args. */
export function eluDropoutForward(gpu: Gpu, x: Tensor, alpha: number, args: DropoutArgs, out?: Tensor): Tensor {
  expectDropout('eluDropoutForward', args, 'step');
  out = outFor(gpu, 'eluDropoutForward', x, out);
  const u = { n: x.size, a: alpha, seed: args.seed, p: args.p };
  run(gpu, K.eluDropoutForward, { x_in: x, out, step: args.step }, u, 8, 4);
  return out;
}

/** Backward of eluDropoutForward: dx = dy * mask / (1 - p) * ELU'(x), x the forward input. `out` may be dy itself. */
export function eluDropoutBackward(
  gpu: Gpu,
  x: Tensor,
  dy: Tensor,
  alpha: number,
  args: DropoutArgs,
  out?: Tensor,
): Tensor {
  expectDropout('eluDropoutBackward', args, 'step');
  expectSize('eluDropoutBackward', 'dy', dy, 'f32', x.size);
  out = outFor(gpu, 'eluDropoutBackward', x, out);
  const u = { n: x.size, a: alpha, seed: args.seed, p: args.p };
  if (out === dy)
    run(gpu, K.eluDropoutBackwardInPlace, { x_in: x, y_in: gpu.unread('f32'), out, step: args.step }, u, 12, 4);
  else run(gpu, K.eluDropoutBackward, { x_in: x, y_in: dy, out, step: args.step }, u, 12, 4);
  return out;
}

/** out[r, c] = mean_h x[r, h, c] for x of shape [rows, heads * channels]. */
export function headMeanForward(gpu: Gpu, x: Tensor, heads: number, out?: Tensor): Tensor {
  const cols = x.shape[1] / heads;
  if (x.shape.length !== 2 || !Number.isInteger(cols))
    throw new Error(`headMeanForward: x of shape [${x.shape}] is not [rows, ${heads} * C]`);
  const rows = x.shape[0];
  out = outFor(gpu, 'headMeanForward', x, out, [rows, cols]);
  run(gpu, K.headMeanForward, { x_in: x, out }, { n: rows * cols, cols, heads }, 4 * (heads + 1), heads);
  return out;
}

/** dx[r, h, c] = dy[r, c] / H */
export function headMeanBackward(gpu: Gpu, dy: Tensor, heads: number, out?: Tensor): Tensor {
  expectTensor('headMeanBackward', 'dy', dy, 'f32', [-1, -1]);
  const [rows, cols] = dy.shape;
  out = outFor(gpu, 'headMeanBackward', dy, out, [rows, heads * cols]);
  run(gpu, K.headMeanBackward, { x_in: dy, out }, { n: out.size, cols, heads }, 4 * (1 + 1 / heads));
  return out;
}

/** Sets every element of an f32 tensor to `value`. */
export function fill(gpu: Gpu, out: Tensor, value: number): Tensor {
  if (out.dtype !== 'f32') throw new Error(`fill: out must be f32, got ${out.dtype}`);
  run(gpu, K.fill, { out }, { n: out.size, a: value }, 4, 0);
  return out;
}
