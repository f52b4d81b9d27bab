import type { Gpu } from '../../src/gpu/gpu.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
import { adamScalars, adamStep, adamWScalars, adamWStep, type AdamConfig } from '../../src/kernels/adam.ts';
import * as ref from '../reference/adam.ts';
import {
  assert,
  assertBitIdentical,
  assertClose,
  assertEqual,
  assertThrows,
  randInt,
  randomArray,
  repeat,
  type KernelCase,
} from './harness.ts';

const CASES = 20;

interface State {
  p: Tensor;
  g: Tensor;
  m: Tensor;
  v: Tensor;
  scalars: Tensor;
}

function upload(gpu: Gpu, p: ArrayLike<number>, m: ArrayLike<number>, v: ArrayLike<number>): State {
  const n = p.length;
  return {
    p: gpu.tensor('f32', [n], Float32Array.from(p)),
    g: gpu.empty('f32', [n]),
    m: gpu.tensor('f32', [n], Float32Array.from(m)),
    v: gpu.tensor('f32', [n], Float32Array.from(v)),
    scalars: gpu.empty('f32', [4]),
  };
}

/** One step on the GPU with gradient `grad` at step t, as a training loop does it (AdamW when `decoupled`). */
function gpuStep(gpu: Gpu, s: State, grad: Float32Array, cfg: AdamConfig, t: number, decoupled = false): void {
  s.g.write(grad);
  s.scalars.write(decoupled ? adamWScalars(cfg, t) : adamScalars(cfg, t));
  (decoupled ? adamWStep : adamStep)(gpu, s.p, s.g, s.m, s.v, s.scalars, cfg);
}

function randomConfig(rand: () => number): AdamConfig {
  return {
    lr: 10 ** (-3 + 2 * rand()),
    beta1: [0.9, 0.8, 0.5, 0.3, 0][randInt(rand, 0, 5)], // 1 - beta1 >= 0.5 takes torch.lerp's other branch
    beta2: [0.999, 0.99, 0.9][randInt(rand, 0, 3)],
    eps: [1e-8, 1e-6, 1e-3][randInt(rand, 0, 3)],
    weightDecay: rand() < 0.3 ? 0 : 10 ** (-4 + 3 * rand()),
  };
}

/** Reads p, m, v back and checks every element against the float64 reference state. */
async function checkState(label: string, s: State, p: Float64Array, m: Float64Array, v: Float64Array): Promise<void> {
  assertClose(`${label} p`, await s.p.read(), p);
  assertClose(`${label} m`, await s.m.read(), m);
  assertClose(`${label} v`, await s.v.read(), v);
}

/**
 * Three steps on the GPU from a random state of n elements (from step 1 with zero moments, or from step 6 with
 * random ones), each checked against the float64 reference; AdamW when `decoupled`.
 */
async function threeSteps(gpu: Gpu, rand: () => number, n: number, cfg: AdamConfig, decoupled: boolean): Promise<void> {
  const fresh = rand() < 0.5;
  const p = Float64Array.from(randomArray(rand, n, -2, 2));
  const m = fresh ? new Float64Array(n) : Float64Array.from(randomArray(rand, n, -0.1, 0.1));
  const v = fresh ? new Float64Array(n) : Float64Array.from(randomArray(rand, n, 0, 0.01));
  const s = upload(gpu, p, m, v);
  for (let t = fresh ? 1 : 6, k = 0; k < 3; t++, k++) {
    const grad = randomArray(rand, n, -1, 1);
    gpuStep(gpu, s, grad, cfg, t, decoupled);
    (decoupled ? ref.adamWStep : ref.adamStep)(p, grad, m, v, cfg, t);
    await checkState(`step ${t}`, s, p, m, v);
    // The reference continues from the GPU's f32 state, so that rounding does not accumulate across steps.
    p.set(await s.p.read());
    m.set(await s.m.read());
    v.set(await s.v.read());
  }
  Object.values(s).forEach((x) => x.dispose());
}

/** Two steps twice from the same state: bit-identical results, nothing written past n, no new uniform buffer. */
async function deterministic(gpu: Gpu, decoupled: boolean): Promise<void> {
  const rand = Math.random;
  const cfg = { lr: 0.005, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 5e-4 };
  const n = 100_003,
    pad = 61;
  const p0 = randomArray(rand, n),
    grads = [randomArray(rand, n), randomArray(rand, n)];
  const results: Float32Array[] = [];
  for (let run = 0; run < 2; run++) {
    // Parameters as the first n elements of a larger, poisoned buffer: the tail must stay NaN.
    const big = gpu.full('f32', [n + pad], NaN);
    const base = upload(gpu, p0, new Float32Array(n), new Float32Array(n));
    base.p.dispose();
    const s = { ...base, p: big.view(0, [n]).write(p0) };
    gpuStep(gpu, s, grads[0], cfg, 1, decoupled);
    const uniformBuffers = (gpu as unknown as { uniformBuffers?: Map<string, unknown> }).uniformBuffers;
    const before = uniformBuffers?.size;
    gpuStep(gpu, s, grads[1], cfg, 2, decoupled);
    assert(
      uniformBuffers?.size === before,
      `a step created ${(uniformBuffers?.size ?? 0) - (before ?? 0)} uniform buffers`,
    );
    const all = (await big.read()) as Float32Array;
    for (let k = n; k < n + pad; k++) assert(Number.isNaN(all[k]), `element ${k} past n was written: ${all[k]}`);
    results.push(all.slice(0, n), (await s.m.read()) as Float32Array, (await s.v.read()) as Float32Array);
    big.dispose();
    [s.g, s.m, s.v, s.scalars].forEach((x) => x.dispose());
  }
  assertBitIdentical('p', results[0], results[3]);
  assertBitIdentical('m', results[1], results[4]);
  assertBitIdentical('v', results[2], results[5]);
}

export const cases: KernelCase[] = [
  {
    name: "reference Adam matches a hand-computed two-step example of torch's formula",
    async run() {
      // lr 0.01, betas (0.9, 0.999), eps 1e-8, weight decay 0.1, p0 = 1, gradients 0.5 then -0.25.
      // Step 1: g = 0.5 + 0.1 * 1 = 0.6; m = 0.1 * 0.6 = 0.06; v = 0.001 * 0.36 = 0.00036;
      //   bc1 = 0.1, bc2 = 0.001; denom = sqrt(0.00036) / sqrt(0.001) + 1e-8 = 0.6 + 1e-8 = 0.60000001;
      //   p = 1 - (0.01 / 0.1) * 0.06 / 0.60000001 = 1 - 0.1 / 1.0000000166... = 0.9900000001666667...
      // Step 2: g = -0.25 + 0.1 * p = -0.15099999998333333; m = 0.9 * 0.06 + 0.1 * g = 0.03890000000166667;
      //   v = 0.999 * 0.00036 + 0.001 * g^2 = 0.00038244099999496667;
      //   bc1 = 1 - 0.81 = 0.19, bc2 = 1 - 0.998001 = 0.001999;
      //   denom = sqrt(v) / sqrt(0.001999) + 1e-8 = 0.43739703568321334;
      //   p = p - (0.01 / 0.19) * m / denom = 0.9853191993058598.
      const cfg = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 };
      const p = Float64Array.of(1),
        m = new Float64Array(1),
        v = new Float64Array(1);
      ref.adamStep(p, [0.5], m, v, cfg, 1);
      assertClose('step 1 m', m, [0.06], 1e-14);
      assertClose('step 1 v', v, [0.00036], 1e-14);
      assertClose('step 1 p', p, [0.9900000001666667], 1e-14);
      ref.adamStep(p, [-0.25], m, v, cfg, 2);
      assertClose('step 2 m', m, [0.03890000000166667], 1e-13);
      assertClose('step 2 v', v, [0.00038244099999496667], 1e-13);
      assertClose('step 2 p', p, [0.9853191993058598], 1e-14);
      assertClose('lerp upper branch', [ref.lerp(2, 10, 0.75)], [8]);
    },
  },
  {
    name: 'the same two-step example on the GPU (n = 1: only the tail kernel; n = 4: only the vec4 kernel)',
    async run(gpu) {
      const cfg = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 };
      for (const n of [1, 4]) {
        const s = upload(gpu, new Float32Array(n).fill(1), new Float32Array(n), new Float32Array(n));
        gpuStep(gpu, s, new Float32Array(n).fill(0.5), cfg, 1);
        gpuStep(gpu, s, new Float32Array(n).fill(-0.25), cfg, 2);
        assertClose(`n ${n} m`, await s.m.read(), new Array(n).fill(0.03890000000166667));
        assertClose(`n ${n} v`, await s.v.read(), new Array(n).fill(0.00038244099999496667));
        assertClose(`n ${n} p`, await s.p.read(), new Array(n).fill(0.9853191993058598));
      }
    },
  },
  {
    name: 'adamStep matches float64 over three steps from random states (sizes not multiples of 4 or the workgroup)',
    async run(gpu) {
      await repeat(CASES, 31, async (rand, i) => {
        const n = i < 4 ? i + 1 : randInt(rand, 1, 20_000);
        await threeSteps(gpu, rand, n, randomConfig(rand), false);
      });
    },
  },
  {
    name: "reference AdamW matches a two-step example of torch's formula, on the host and on the GPU (n = 1 and 4)",
    async run(gpu) {
      // lr 0.01, betas (0.9, 0.999), eps 1e-8, weight decay 0.1, p0 = 1, gradients 0.5 then -0.25.
      // Step 1: p = 1 * (1 - 0.001) = 0.999; m = 0.05; v = 0.00025; denom = sqrt(0.00025) / sqrt(0.001) + 1e-8;
      //   p = 0.999 - (0.01 / 0.1) * 0.05 / 0.50000001 = 0.9890000002.
      // Step 2: p = 0.9890000002 * 0.999; m = 0.9 * 0.05 - 0.1 * 0.25 = 0.02; v = 0.999 * 0.00025 + 0.001 * 0.0625
      //   = 0.00031225; bc1 = 0.19, bc2 = 0.001999; p -= (0.01 / 0.19) * 0.02 / (sqrt(v) / sqrt(bc2) + 1e-8)
      //   = 0.98534762987058470.
      const cfg = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 };
      const p = Float64Array.of(1),
        m = new Float64Array(1),
        v = new Float64Array(1);
      ref.adamWStep(p, [0.5], m, v, cfg, 1);
      assertClose('step 1 p', p, [0.9890000002], 1e-14);
      ref.adamWStep(p, [-0.25], m, v, cfg, 2);
      assertClose('step 2 m', m, [0.02], 1e-14);
      assertClose('step 2 v', v, [0.00031225], 1e-14);
      assertClose('step 2 p', p, [0.9853476298705847], 1e-14);
      for (const n of [1, 4]) {
        const s = upload(gpu, new Float32Array(n).fill(1), new Float32Array(n), new Float32Array(n));
        gpuStep(gpu, s, new Float32Array(n).fill(0.5), cfg, 1, true);
        gpuStep(gpu, s, new Float32Array(n).fill(-0.25), cfg, 2, true);
        assertClose(`n ${n} p`, await s.p.read(), new Array(n).fill(0.9853476298705847));
        Object.values(s).forEach((x) => x.dispose());
      }
    },
  },
  {
    name:
      'adamWStep matches float64 over three steps from random states (sizes 0 and off multiples of 4 or the ' +
      'workgroup)',
    async run(gpu) {
      await repeat(CASES, 32, async (rand, i) => {
        const n = i < 5 ? i : randInt(rand, 1, 20_000);
        const cfg = { ...randomConfig(rand), weightDecay: rand() < 0.2 ? 0 : 10 ** (-3 + 2 * rand()) };
        await threeSteps(gpu, rand, n, cfg, true);
      });
      const cfg = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
      assertEqual('adamWScalars', adamWScalars(cfg, 2), Float32Array.of(0.01, 1 - 0.81, 1 - 0.998001, 1 - 0.0001));
      assertThrows('adamWScalars t', () => adamWScalars(cfg, 0), /adamWScalars: step t must be an integer >= 1, got 0/);
      const f = (k: number) => gpu.empty('f32', [k]);
      assertThrows(
        'adamWStep size',
        () => adamWStep(gpu, f(10), f(9), f(10), f(10), f(4), cfg),
        /adamWStep: shape mismatch for grads/,
      );
      assertThrows(
        'adamWStep wd',
        () => adamWStep(gpu, f(10), f(10), f(10), f(10), f(4), { ...cfg, weightDecay: -1 }),
        /adamw: weightDecay must be >= 0, got -1/,
      );
    },
  },
  {
    name:
      'adamStep and adamWStep are deterministic, write nothing past n, and create no uniform buffer after the ' +
      'first step',
    async run(gpu) {
      for (const decoupled of [false, true]) await deterministic(gpu, decoupled);
    },
  },
  {
    name: 'adamScalars gives [lr, 1 - beta1^t, 1 - beta2^t, 0]',
    async run() {
      const cfg = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
      assertEqual('t = 1', adamScalars(cfg, 1), Float32Array.of(0.01, 0.1, 0.001, 0));
      assertEqual('t = 2', adamScalars(cfg, 2), Float32Array.of(0.01, 1 - 0.81, 1 - 0.998001, 0));
      assertEqual('t = 1000', adamScalars(cfg, 1000), Float32Array.of(0.01, 1 - 0.9 ** 1000, 1 - 0.999 ** 1000, 0));
      assertThrows('t = 0', () => adamScalars(cfg, 0), /step t must be an integer >= 1, got 0/);
      assertThrows('t = 1.5', () => adamScalars(cfg, 1.5), /step t must be an integer >= 1/);
      assertThrows('beta1', () => adamScalars({ ...cfg, beta1: 1 }, 1), /beta1 must be in \[0, 1\), got 1/);
    },
  },
  {
    name: 'adam: bad input throws an error that names the problem',
    async run(gpu) {
      const cfg = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
      const f = (n: number) => gpu.empty('f32', [n]);
      const sc = f(4);
      assertThrows(
        'grads size',
        () => adamStep(gpu, f(10), f(9), f(10), f(10), sc, cfg),
        /adamStep: shape mismatch for grads: expected 10 elements/,
      );
      assertThrows(
        'm size',
        () => adamStep(gpu, f(10), f(10), f(11), f(10), sc, cfg),
        /adamStep: shape mismatch for m/,
      );
      assertThrows('v size', () => adamStep(gpu, f(10), f(10), f(10), f(3), sc, cfg), /adamStep: shape mismatch for v/);
      assertThrows(
        'scalars size',
        () => adamStep(gpu, f(10), f(10), f(10), f(10), f(3), cfg),
        /adamStep: shape mismatch for scalars: expected 4 elements/,
      );
      assertThrows(
        'params dtype',
        () => adamStep(gpu, gpu.empty('u32', [10]), f(10), f(10), f(10), sc, cfg),
        /adamStep: params must be f32, got u32/,
      );
      assertThrows(
        'grads dtype',
        () => adamStep(gpu, f(10), gpu.empty('i32', [10]), f(10), f(10), sc, cfg),
        /adamStep: grads must be f32, got i32/,
      );
      assertThrows(
        'lr',
        () => adamStep(gpu, f(10), f(10), f(10), f(10), sc, { ...cfg, lr: NaN }),
        /lr must be >= 0, got NaN/,
      );
      assertThrows(
        'beta2',
        () => adamStep(gpu, f(10), f(10), f(10), f(10), sc, { ...cfg, beta2: 1.5 }),
        /beta2 must be in \[0, 1\)/,
      );
    },
  },
];
