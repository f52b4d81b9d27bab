// Elementwise ops (shaders/elementwise.wgsl): bias add, add, ELU, ReLU, LeakyReLU, dropout, ELU / ReLU /
// LeakyReLU fused with dropout, mean over heads, fill. Each thread takes 4 consecutive elements.
import code from '../../shaders/elementwise.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { f32, groups, kernel, type BindingKind } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { expectDropout, expectSize, expectTensor } from './check.ts';

// Bindings: x, y, out, uniforms, step.
const unary: BindingKind[] = ['r', '-', 'w', 'u'];
const binary: BindingKind[] = ['r', 'r', 'w', 'u'];
const K = {
  biasAdd: kernel({ name: 'bias_add', code, entryPoint: 'bias_add', bindings: binary }),
  add: kernel({ name: 'add', code, entryPoint: 'add', bindings: binary }),
  eluForward: kernel({ name: 'elu.forward', code, entryPoint: 'elu_forward', bindings: unary }),
  eluBackward: kernel({ name: 'elu.backward', code, entryPoint: 'elu_backward', bindings: binary }),
  leakyForward: kernel({ name: 'leaky_relu.forward', code, entryPoint: 'leaky_relu_forward', bindings: unary }),
  leakyBackward: kernel({ name: 'leaky_relu.backward', code, entryPoint: 'leaky_relu_backward', bindings: binary }),
  leakyDropoutForward: kernel({ name: 'leaky_relu_dropout.forward', code, entryPoint: 'leaky_relu_dropout_forward', bindings: ['r', '-', 'w', 'u', 'r'] }),
  leakyDropoutBackward: kernel({ name: 'leaky_relu_dropout.backward', code, entryPoint: 'leaky_relu_dropout_backward', bindings: ['r', 'r', 'w', 'u', 'r'] }),
  // x read from out (IN_PLACE); the x binding gets a stand-in and is not read.
  leakyForwardInPlace: kernel({ name: 'leaky_relu.forward', code, entryPoint: 'leaky_relu_forward', bindings: unary, overrides: { IN_PLACE: true } }),
  leakyDropoutForwardInPlace: kernel({ name: 'leaky_relu_dropout.forward', code, entryPoint: 'leaky_relu_dropout_forward', bindings: ['r', '-', 'w', 'u', 'r'], overrides: { IN_PLACE: true } }),
  leakyBackwardInPlace: kernel({ name: 'leaky_relu.backward', code, entryPoint: 'leaky_relu_backward', bindings: binary, overrides: { IN_PLACE: true } }),
  leakyDropoutBackwardInPlace: kernel({ name: 'leaky_relu_dropout.backward', code, entryPoint: 'leaky_relu_dropout_backward', bindings: ['r', 'r', 'w', 'u', 'r'], overrides: { IN_PLACE: true } }),
  dropout: kernel({ name: 'dropout', code, entryPoint: 'dropout', bindings: ['r', '-', 'w', 'u', 'r'] }),
  eluDropoutForward: kernel({ name: 'elu_dropout.forward', code, entryPoint: 'elu_dropout_forward', bindings: ['r', '-', 'w', 'u', 'r'] }),
  eluDropoutBackward: kernel({ name: 'elu_dropout.backward', code, entryPoint: 'elu_dropout_backward', bindings: ['r', 'r', 'w', 'u', 'r'] }),
  // dy read from out (IN_PLACE); the y binding gets x as a stand-in and is not read.
  eluBackwardInPlace: kernel({ name: 'elu.backward', code, entryPoint: 'elu_backward', bindings: binary, overrides: { IN_PLACE: true } }),
  eluDropoutBackwardInPlace: kernel({ name: 'elu_dropout.backward', code, entryPoint: 'elu_dropout_backward', bindings: ['r', 'r', 'w', 'u', 'r'], overrides: { IN_PLACE: true } }),
  headMeanForward: kernel({ name: 'head_mean.forward', code, entryPoint: 'head_mean_forward', bindings: unary }),
  headMeanBackward: kernel({ name: 'head_mean.backward', code, entryPoint: 'head_mean_backward', bindings: unary }),
  fill: kernel({ name: 'fill', code, entryPoint: 'fill', bindings: ['-', '-', 'w', 'u'] }),
};

/** Uniform block of elementwise.wgsl: n, cols, a, seed, heads, p. */
function params(n: number, cols = 1, a = 0, seed = 0, heads = 1, p = 0): number[] {
  return [n, cols, f32(a), seed >>> 0, heads, f32(p)];
}

function outFor(gpu: Gpu, op: string, like: Tensor, out?: Tensor, shape: readonly number[] = like.shape): Tensor {
  if (!out) return gpu.empty('f32', shape);
  expectTensor(op, 'out', out, 'f32', shape);
  return out;
}

function run(gpu: Gpu, k: (typeof K)[keyof typeof K], tensors: Tensor[], uniforms: number[], n: number, bytesPerElem: number, flopsPerElem = 1) {
  gpu.dispatch(k, { tensors, uniforms, workgroups: groups(Math.ceil(n / 4), k.workgroupSize), cost: { bytes: n * bytesPerElem, flops: n * flopsPerElem } });
}

/** out[r, c] = x[r, c] + bias[c] */
export function biasAdd(gpu: Gpu, x: Tensor, bias: Tensor, out?: Tensor): Tensor {
  const cols = bias.size;
  expectTensor('biasAdd', 'x', x, 'f32', [-1, cols]);
  expectSize('biasAdd', 'bias', bias, 'f32', cols);
  out = outFor(gpu, 'biasAdd', x, out);
  run(gpu, K.biasAdd, [x, bias, out], params(x.size, cols), x.size, 8);
  return out;
}

/** out = a + b */
export function add(gpu: Gpu, a: Tensor, b: Tensor, out?: Tensor): Tensor {
  expectSize('add', 'b', b, 'f32', a.size);
  out = outFor(gpu, 'add', a, out);
  run(gpu, K.add, [a, b, out], params(a.size), a.size, 12);
  return out;
}

export function eluForward(gpu: Gpu, x: Tensor, alpha = 1, out?: Tensor): Tensor {
  out = outFor(gpu, 'eluForward', x, out);
  run(gpu, K.eluForward, [x, out], params(x.size, 1, alpha), x.size, 8, 3);
  return out;
}

/** dx = dy * d elu(x) / dx, with x the forward input. `out` may be dy itself: dx then overwrites dy. */
export function eluBackward(gpu: Gpu, x: Tensor, dy: Tensor, alpha = 1, out?: Tensor): Tensor {
  expectSize('eluBackward', 'dy', dy, 'f32', x.size);
  out = outFor(gpu, 'eluBackward', x, out);
  if (out === dy) run(gpu, K.eluBackwardInPlace, [x, x, out], params(x.size, 1, alpha), x.size, 12, 3);
  else run(gpu, K.eluBackward, [x, dy, out], params(x.size, 1, alpha), x.size, 12, 3);
  return out;
}

/**
 * A read-only binding for an entry point that reads its input from `out` (IN_PLACE): WebGPU forbids binding one
 * buffer both read-only and writable in a dispatch, so the unread `x` binding gets this one-float tensor.
 */
const standIns = new WeakMap<Gpu, Tensor>();
function standIn(gpu: Gpu): Tensor {
  let t = standIns.get(gpu);
  if (!t || t.isDisposed) standIns.set(gpu, (t = gpu.empty('f32', [1])));
  return t;
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
  if (out === x) run(gpu, K.leakyForwardInPlace, [standIn(gpu), out], params(x.size, 1, slope), x.size, 8);
  else run(gpu, K.leakyForward, [x, out], params(x.size, 1, slope), x.size, 8);
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
  if (out === dy) run(gpu, K.leakyBackwardInPlace, [x, x, out], params(x.size, 1, slope), x.size, 12);
  else run(gpu, K.leakyBackward, [x, dy, out], params(x.size, 1, slope), x.size, 12);
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
  const u = params(x.size, 1, slope, args.seed, 1, args.p);
  // In place, the step tensor stands in for the unread x binding.
  if (out === x) run(gpu, K.leakyDropoutForwardInPlace, [args.step, out, args.step], u, x.size, 8, 2);
  else run(gpu, K.leakyDropoutForward, [x, out, args.step], u, x.size, 8, 2);
  return out;
}

/**
 * Backward of leakyReluDropoutForward: dx = dy * mask / (1 - p) * LeakyReLU'(x), with x the forward input or,
 * when slope >= 0, the forward output. `out` may be dy itself.
 */
export function leakyReluDropoutBackward(gpu: Gpu, x: Tensor, dy: Tensor, slope: number, args: DropoutArgs, out?: Tensor): Tensor {
  expectSlope('leakyReluDropoutBackward', slope);
  expectDropout('leakyReluDropoutBackward', args, 'step');
  expectSize('leakyReluDropoutBackward', 'dy', dy, 'f32', x.size);
  out = outFor(gpu, 'leakyReluDropoutBackward', x, out);
  if (out === x) throw new Error('leakyReluDropoutBackward: out must not be x (it may be dy)');
  const u = params(x.size, 1, slope, args.seed, 1, args.p);
  if (out === dy) run(gpu, K.leakyDropoutBackwardInPlace, [x, x, out, args.step], u, x.size, 12, 3);
  else run(gpu, K.leakyDropoutBackward, [x, dy, out, args.step], u, x.size, 12, 3);
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
  run(gpu, K.dropout, [x, out, args.step], params(x.size, 1, args.p, args.seed), x.size, 8, 1);
  return out;
}

/** dropout(ELU(x)) in one pass: the same mask as `dropout` with the same args. */
export function eluDropoutForward(gpu: Gpu, x: Tensor, alpha: number, args: DropoutArgs, out?: Tensor): Tensor {
  expectDropout('eluDropoutForward', args, 'step');
  out = outFor(gpu, 'eluDropoutForward', x, out);
  run(gpu, K.eluDropoutForward, [x, out, args.step], params(x.size, 1, alpha, args.seed, 1, args.p), x.size, 8, 4);
  return out;
}

/** Backward of eluDropoutForward: dx = dy * mask / (1 - p) * ELU'(x), x the forward input. `out` may be dy itself. */
export function eluDropoutBackward(gpu: Gpu, x: Tensor, dy: Tensor, alpha: number, args: DropoutArgs, out?: Tensor): Tensor {
  expectDropout('eluDropoutBackward', args, 'step');
  expectSize('eluDropoutBackward', 'dy', dy, 'f32', x.size);
  out = outFor(gpu, 'eluDropoutBackward', x, out);
  const u = params(x.size, 1, alpha, args.seed, 1, args.p);
  if (out === dy) run(gpu, K.eluDropoutBackwardInPlace, [x, x, out, args.step], u, x.size, 12, 4);
  else run(gpu, K.eluDropoutBackward, [x, dy, out, args.step], u, x.size, 12, 4);
  return out;
}

/** out[r, c] = mean_h x[r, h, c] for x of shape [rows, heads * channels]. */
export function headMeanForward(gpu: Gpu, x: Tensor, heads: number, out?: Tensor): Tensor {
  const cols = x.shape[1] / heads;
  if (x.shape.length !== 2 || !Number.isInteger(cols)) throw new Error(`headMeanForward: x of shape [${x.shape}] is not [rows, ${heads} * C]`);
  const rows = x.shape[0];
  out = outFor(gpu, 'headMeanForward', x, out, [rows, cols]);
  run(gpu, K.headMeanForward, [x, out], params(rows * cols, cols, 0, 0, heads), rows * cols, 4 * (heads + 1), heads);
  return out;
}

/** dx[r, h, c] = dy[r, c] / H */
export function headMeanBackward(gpu: Gpu, dy: Tensor, heads: number, out?: Tensor): Tensor {
  expectTensor('headMeanBackward', 'dy', dy, 'f32', [-1, -1]);
  const [rows, cols] = dy.shape;
  out = outFor(gpu, 'headMeanBackward', dy, out, [rows, heads * cols]);
  run(gpu, K.headMeanBackward, [dy, out], params(out.size, cols, 0, 0, heads), out.size, 4 * (1 + 1 / heads));
  return out;
}

/** Sets every element of an f32 tensor to `value`. */
export function fill(gpu: Gpu, out: Tensor, value: number): Tensor {
  if (out.dtype !== 'f32') throw new Error(`fill: out must be f32, got ${out.dtype}`);
  run(gpu, K.fill, [out], params(out.size, 1, value), out.size, 4, 0);
  return out;
}
