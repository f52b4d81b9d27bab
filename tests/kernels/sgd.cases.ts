import type { Gpu } from '../../src/gpu/gpu.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
import { sgdScalars, sgdStep, type SgdConfig } from '../../src/kernels/sgd.ts';
import * as ref from '../reference/sgd.ts';
import {
  assert,
  assertBitIdentical,
  assertClose,
  assertEqual,
  assertThrows,
  poisoned,
  randInt,
  randomArray,
  repeat,
  type KernelCase,
} from './harness.ts';

const CASES = 20;

interface State {
  p: Tensor;
  g: Tensor;
  buf: Tensor | null;
  scalars: Tensor;
}

/** GPU state; the momentum buffer starts poisoned (the first step must not read it). */
function upload(gpu: Gpu, p: ArrayLike<number>, momentum: boolean): State {
  const n = p.length;
  return {
    p: gpu.tensor('f32', [n], Float32Array.from(p)),
    g: gpu.empty('f32', [n]),
    buf: momentum ? poisoned(gpu, 'f32', [n]) : null,
    scalars: gpu.empty('f32', [4]),
  };
}

function gpuStep(gpu: Gpu, s: State, grad: Float32Array, cfg: SgdConfig, t: number): void {
  s.g.write(grad);
  s.scalars.write(sgdScalars(cfg, t));
  sgdStep(gpu, s.p, s.g, s.buf, s.scalars, cfg);
}

function dispose(s: State): void {
  [s.p, s.g, s.buf, s.scalars].forEach((t) => t?.dispose());
}

function randomConfig(rand: () => number): SgdConfig {
  const momentum = [0, 0.9, 0.5, 0.99][randInt(rand, 0, 4)];
  const nesterov = momentum > 0 && rand() < 0.4;
  return {
    lr: 10 ** (-3 + 2 * rand()),
    momentum,
    dampening: nesterov || rand() < 0.5 ? 0 : rand(),
    weightDecay: rand() < 0.3 ? 0 : 10 ** (-4 + 3 * rand()),
    nesterov,
  };
}

export const cases: KernelCase[] = [
  {
    name: "reference SGD matches hand-computed two-step examples of torch's formula (dampening; Nesterov)",
    async run() {
      // lr 0.1, momentum 0.9, dampening 0.1, weight decay 0.01, p0 = 1, gradients 0.5 then -0.25.
      // Step 1: d = 0.5 + 0.01 = 0.51; buf = d = 0.51 (not scaled by 1 - dampening); p = 1 - 0.051 = 0.949.
      // Step 2: d = -0.25 + 0.00949 = -0.24051; buf = 0.9 * 0.51 + 0.9 * d = 0.242541;
      //   p = 0.949 - 0.0242541 = 0.9247459.
      const cfg = { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01, nesterov: false };
      const p = Float64Array.of(1),
        buf = new Float64Array(1);
      ref.sgdStep(p, [0.5], buf, cfg, 1);
      assertClose('step 1 p', p, [0.949], 1e-14);
      assertClose('step 1 buf', buf, [0.51], 1e-14);
      ref.sgdStep(p, [-0.25], buf, cfg, 2);
      assertClose('step 2 buf', buf, [0.242541], 1e-14);
      assertClose('step 2 p', p, [0.9247459], 1e-14);
      // Nesterov, dampening 0. Step 1: d = 0.51, buf = 0.51, p = 1 - 0.1 * (0.51 + 0.459) = 0.9031.
      // Step 2: d = -0.25 + 0.009031 = -0.240969; buf = 0.459 + d = 0.218031;
      //   p = 0.9031 - 0.1 * (d + 0.9 buf) = 0.90757411.
      const nes = { ...cfg, dampening: 0, nesterov: true };
      const q = Float64Array.of(1),
        qbuf = new Float64Array(1);
      ref.sgdStep(q, [0.5], qbuf, nes, 1);
      assertClose('nesterov step 1 p', q, [0.9031], 1e-14);
      ref.sgdStep(q, [-0.25], qbuf, nes, 2);
      assertClose('nesterov step 2 buf', qbuf, [0.218031], 1e-14);
      assertClose('nesterov step 2 p', q, [0.90757411], 1e-14);
    },
  },
  {
    name: 'sgdStep matches float64 over three steps (momentum or not, Nesterov; sizes 0 and off multiples of 4 or WG)',
    async run(gpu) {
      await repeat(CASES, 41, async (rand, i) => {
        const n = i < 5 ? i : randInt(rand, 1, 20_000);
        const cfg = randomConfig(rand);
        const p = Float64Array.from(randomArray(rand, n, -2, 2)),
          buf = new Float64Array(n);
        const s = upload(gpu, p, cfg.momentum !== 0);
        for (let t = 1; t <= 3; t++) {
          const grad = randomArray(rand, n, -1, 1);
          gpuStep(gpu, s, grad, cfg, t);
          ref.sgdStep(p, grad, buf, cfg, t);
          assertClose(`step ${t} p`, await s.p.read(), p);
          if (s.buf) assertClose(`step ${t} buf`, await s.buf.read(), buf);
          // Continue from the GPU's f32 state, so that rounding does not accumulate across steps.
          p.set(await s.p.read());
          if (s.buf) buf.set(await s.buf.read());
        }
        dispose(s);
      });
    },
  },
  {
    name: 'sgdStep is deterministic, writes nothing past n, and creates no uniform buffer after the second step',
    async run(gpu) {
      const rand = Math.random;
      const cfg = { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 5e-4, nesterov: true };
      const n = 100_003,
        pad = 61;
      const p0 = randomArray(rand, n),
        grads = [randomArray(rand, n), randomArray(rand, n), randomArray(rand, n)];
      const results: Float32Array[] = [];
      for (let run = 0; run < 2; run++) {
        const big = gpu.full('f32', [n + pad], NaN);
        const s = upload(gpu, p0, true);
        s.p.dispose();
        s.p = big.view(0, [n]).write(p0);
        gpuStep(gpu, s, grads[0], cfg, 1);
        gpuStep(gpu, s, grads[1], cfg, 2);
        const uniformBuffers = (gpu as unknown as { uniformBuffers?: Map<string, unknown> }).uniformBuffers;
        const before = uniformBuffers?.size;
        gpuStep(gpu, s, grads[2], cfg, 3);
        assert(
          uniformBuffers?.size === before,
          `a step created ${(uniformBuffers?.size ?? 0) - (before ?? 0)} uniform buffers`,
        );
        const all = (await big.read()) as Float32Array;
        for (let k = n; k < n + pad; k++) assert(Number.isNaN(all[k]), `element ${k} past n was written: ${all[k]}`);
        results.push(all.slice(0, n), (await s.buf!.read()) as Float32Array);
        big.dispose();
        [s.g, s.buf, s.scalars].forEach((t) => t?.dispose());
      }
      assertBitIdentical('p', results[0], results[2]);
      assertBitIdentical('buf', results[1], results[3]);
    },
  },
  {
    name: 'sgdScalars and bad input: errors name the problem',
    async run(gpu) {
      const cfg = { lr: 0.01, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false };
      assertEqual('t = 1', sgdScalars(cfg, 1), Float32Array.of(0.01, 1, 0, 0));
      assertEqual('t = 7', sgdScalars(cfg, 7), Float32Array.of(0.01, 0, 0, 0));
      assertThrows('t = 0', () => sgdScalars(cfg, 0), /sgdScalars: step t must be an integer >= 1, got 0/);
      assertThrows(
        'nesterov dampening',
        () => sgdScalars({ ...cfg, nesterov: true, dampening: 0.1 }, 1),
        /Nesterov momentum needs momentum > 0 and dampening 0/,
      );
      assertThrows(
        'nesterov momentum',
        () => sgdScalars({ ...cfg, nesterov: true, momentum: 0 }, 1),
        /Nesterov momentum needs momentum > 0/,
      );
      assertThrows('lr', () => sgdScalars({ ...cfg, lr: -1 }, 1), /sgd: lr must be >= 0, got -1/);
      assertThrows('momentum', () => sgdScalars({ ...cfg, momentum: NaN }, 1), /sgd: momentum must be >= 0, got NaN/);
      assertThrows('weightDecay', () => sgdScalars({ ...cfg, weightDecay: -0.1 }, 1), /sgd: weightDecay must be >= 0/);
      const f = (k: number) => gpu.empty('f32', [k]);
      const p = f(10),
        sc = f(4);
      assertThrows(
        'no buffer',
        () => sgdStep(gpu, p, f(10), null, sc, cfg),
        /sgdStep: momentum != 0 needs a momentum buffer/,
      );
      assertThrows(
        'buffer size',
        () => sgdStep(gpu, p, f(10), f(9), sc, cfg),
        /sgdStep: shape mismatch for momentumBuffer: expected 10 elements/,
      );
      assertThrows(
        'buffer is params',
        () => sgdStep(gpu, p, f(10), p, sc, cfg),
        /momentumBuffer must not share a buffer with params/,
      );
      assertThrows('grads size', () => sgdStep(gpu, p, f(11), f(10), sc, cfg), /sgdStep: shape mismatch for grads/);
      assertThrows(
        'grads dtype',
        () => sgdStep(gpu, p, gpu.empty('u32', [10]), f(10), sc, cfg),
        /sgdStep: grads must be f32, got u32/,
      );
      assertThrows(
        'scalars',
        () => sgdStep(gpu, p, f(10), f(10), f(3), cfg),
        /sgdStep: shape mismatch for scalars: expected 4 elements/,
      );
    },
  },
];
