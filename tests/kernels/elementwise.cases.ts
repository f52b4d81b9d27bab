import * as ew from '../../src/kernels/elementwise.ts';
import * as ref from '../reference/elementwise.ts';
import { uniform01 } from '../reference/common.ts';
import { checkVjp } from '../reference/fd.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
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

export const cases: KernelCase[] = [
  {
    name: 'bias_add and add match float64 on random shapes',
    async run(gpu) {
      await repeat(CASES, 1, async (rand) => {
        const rows = randInt(rand, 1, 300),
          cols = randInt(rand, 1, 70);
        const x = randomArray(rand, rows * cols),
          b = randomArray(rand, cols),
          y = randomArray(rand, rows * cols);
        const tx = gpu.tensor('f32', [rows, cols], x),
          tb = gpu.tensor('f32', [cols], b),
          ty = gpu.tensor('f32', [rows, cols], y);
        const out = ew.biasAdd(gpu, tx, tb, poisoned(gpu, 'f32', [rows, cols]));
        assertClose('bias_add', await out.read(), ref.biasAdd(x, b));
        const sum = ew.add(gpu, tx, ty, poisoned(gpu, 'f32', [rows, cols]));
        assertClose('add', await sum.read(), ref.add(x, y));
        [tx, tb, ty, out, sum].forEach((t) => t.dispose());
      });
    },
  },
  {
    name: 'ELU and LeakyReLU forward and backward match float64',
    async run(gpu) {
      await repeat(CASES, 2, async (rand) => {
        const n = randInt(rand, 1, 5000);
        const x = randomArray(rand, n, -3, 3),
          dy = randomArray(rand, n);
        const alpha = 0.5 + rand(),
          slope = rand() * 0.5;
        const tx = gpu.tensor('f32', [n], x),
          tdy = gpu.tensor('f32', [n], dy);
        // Exp in f32 on the GPU: a few ulp, so 1e-6 relative holds comfortably; we keep the standard 1e-5.
        assertClose(
          'elu fwd',
          await ew.eluForward(gpu, tx, alpha, poisoned(gpu, 'f32', [n])).read(),
          ref.eluForward(x, alpha),
        );
        assertClose(
          'elu bwd',
          await ew.eluBackward(gpu, tx, tdy, alpha, poisoned(gpu, 'f32', [n])).read(),
          ref.eluBackward(x, dy, alpha),
        );
        assertClose(
          'lrelu fwd',
          await ew.leakyReluForward(gpu, tx, slope, poisoned(gpu, 'f32', [n])).read(),
          ref.leakyReluForward(x, slope),
        );
        assertClose(
          'lrelu bwd',
          await ew.leakyReluBackward(gpu, tx, tdy, slope, poisoned(gpu, 'f32', [n])).read(),
          ref.leakyReluBackward(x, dy, slope),
        );
      });
    },
  },
  {
    name: 'dropout matches the float64 hash mask, is its own backward, and drops about p',
    async run(gpu) {
      await repeat(CASES, 3, async (rand) => {
        const n = randInt(rand, 1000, 20000),
          p = 0.1 + 0.8 * rand(),
          seed = randInt(rand, 0, 2 ** 31),
          stepV = randInt(rand, 0, 1000);
        const x = randomArray(rand, n, 0.5, 2);
        const step = gpu.tensor('u32', [1], [stepV]);
        const tx = gpu.tensor('f32', [n], x);
        const got = (await ew.dropout(gpu, tx, { p, seed, step }, poisoned(gpu, 'f32', [n])).read()) as Float32Array;
        const want = ref.dropout(x, p, seed, stepV);
        assertClose('dropout', got, want);
        const dropped = got.filter((v) => v === 0).length / n;
        if (Math.abs(dropped - p) > 5 * Math.sqrt((p * (1 - p)) / n) + 1e-3)
          throw new Error(`dropped ${dropped}, p = ${p}`);
        const again = (await ew.dropout(gpu, tx, { p, seed, step }, poisoned(gpu, 'f32', [n])).read()) as Float32Array;
        assertBitIdentical('dropout determinism', got, again);
        step.write(new Uint32Array([stepV + 1]));
        const next = (await ew.dropout(gpu, tx, { p, seed, step }, poisoned(gpu, 'f32', [n])).read()) as Float32Array;
        if (next.every((v, i) => (v === 0) === (got[i] === 0)))
          throw new Error('the mask did not change with the step');
      });
    },
  },
  {
    name:
      "dropout at p equal to an element's hashed u keeps it, and one 24-bit step above drops it (the kernels " +
      'compare the hash with ceil(p * 2^24))',
    async run(gpu) {
      await repeat(CASES, 17, async (rand) => {
        const n = 64,
          seed = randInt(rand, 0, 2 ** 31),
          stepV = randInt(rand, 0, 1000);
        const step = gpu.tensor('u32', [1], [stepV]);
        const tx = gpu.tensor('f32', [n], new Float32Array(n).fill(1));
        for (let i = 0; i < 8; i++) {
          const u = uniform01(seed, stepV, i); // k / 2^24, exact in f32
          if (u >= 1 - 2 ** -24) continue; // p must stay below 1
          for (const [p, kept] of [
            [u, true],
            [u + 2 ** -24, false],
          ] as const) {
            const out = ew.dropout(gpu, tx, { p, seed, step }, poisoned(gpu, 'f32', [n]));
            const got = (await out.read()) as Float32Array;
            out.dispose();
            assert((got[i] !== 0) === kept, `element ${i}, u = ${u}, p = ${p}: ${kept ? 'dropped' : 'kept'}`);
            assertClose(`p = ${p}`, got, ref.dropout(new Float32Array(n).fill(1), p, seed, stepV));
          }
        }
        [step, tx].forEach((t) => t.dispose());
      });
    },
  },
  {
    name: 'ELU fused with dropout matches ELU then dropout in float64, forward and backward',
    async run(gpu) {
      await repeat(CASES, 5, async (rand) => {
        // Sizes 1 .. 4 exercise a last thread with clamped lanes; larger ones many workgroups.
        const n = rand() < 0.3 ? randInt(rand, 1, 5) : randInt(rand, 5, 20000);
        const p = 0.8 * rand(),
          seed = randInt(rand, 0, 2 ** 31),
          stepV = randInt(rand, 0, 1000),
          alpha = 0.5 + rand();
        const x = randomArray(rand, n, -3, 3),
          dy = randomArray(rand, n);
        const step = gpu.tensor('u32', [1], [stepV]);
        const tx = gpu.tensor('f32', [n], x),
          tdy = gpu.tensor('f32', [n], dy);
        const args = { p, seed, step };
        const fwd = await ew.eluDropoutForward(gpu, tx, alpha, args, poisoned(gpu, 'f32', [n])).read();
        assertClose('elu+dropout fwd', fwd, ref.dropout(ref.eluForward(x, alpha), p, seed, stepV));
        const bwd = await ew.eluDropoutBackward(gpu, tx, tdy, alpha, args, poisoned(gpu, 'f32', [n])).read();
        const want = ref.eluBackward(x, ref.dropout(dy, p, seed, stepV), alpha);
        assertClose('elu+dropout bwd', bwd, want);
        // In place: dx overwrites dy.
        assertClose(
          'elu+dropout bwd in place',
          await ew.eluDropoutBackward(gpu, tx, tdy, alpha, args, tdy).read(),
          want,
        );
        const tdy2 = gpu.tensor('f32', [n], dy);
        assertClose(
          'elu bwd in place',
          await ew.eluBackward(gpu, tx, tdy2, alpha, tdy2).read(),
          ref.eluBackward(x, dy, alpha),
        );
        [tx, tdy, tdy2, step].forEach((t) => t.dispose());
      });
    },
  },
  {
    name: 'ReLU and LeakyReLU (alone and fused with dropout) match float64, out of place and in place',
    async run(gpu) {
      await repeat(CASES, 6, async (rand, i) => {
        // 0 elements, 1 .. 4 (a last thread with clamped lanes), then sizes off the workgroup multiple.
        const n = i === 0 ? 0 : i < 5 ? i : randInt(rand, 5, 20_000);
        const relu = i % 2 === 0;
        const slope = relu ? 0 : [0.01, 0.2, 1.5, -0.3][randInt(rand, 0, 4)];
        const p = rand() < 0.2 ? 0 : 0.8 * rand(),
          seed = randInt(rand, 0, 2 ** 31),
          stepV = randInt(rand, 0, 1000);
        const x = randomArray(rand, n, -3, 3),
          dy = randomArray(rand, n);
        const step = gpu.tensor('u32', [1], [stepV]);
        const args = { p, seed, step };
        const tx = gpu.tensor('f32', [n], x),
          tdy = gpu.tensor('f32', [n], dy);
        const fresh = (a: Float32Array) => gpu.tensor('f32', [n], a);
        const fwd = (t: Tensor, out: Tensor) =>
          relu ? ew.reluForward(gpu, t, out) : ew.leakyReluForward(gpu, t, slope, out);
        const bwd = (t: Tensor, g: Tensor, out: Tensor) =>
          relu ? ew.reluBackward(gpu, t, g, out) : ew.leakyReluBackward(gpu, t, g, slope, out);
        const dfwd = (t: Tensor, out: Tensor) =>
          relu ? ew.reluDropoutForward(gpu, t, args, out) : ew.leakyReluDropoutForward(gpu, t, slope, args, out);
        const dbwd = (t: Tensor, g: Tensor, out: Tensor) =>
          relu
            ? ew.reluDropoutBackward(gpu, t, g, args, out)
            : ew.leakyReluDropoutBackward(gpu, t, g, slope, args, out);
        const y = ref.leakyReluForward(x, slope),
          dx = ref.leakyReluBackward(x, dy, slope);
        const yDrop = ref.dropout(y, p, seed, stepV),
          dxDrop = ref.leakyReluBackward(x, ref.dropout(dy, p, seed, stepV), slope);
        if (relu) assertClose('relu reference', y, ref.reluForward(x));
        if (relu) assertClose('relu reference backward', dx, ref.reluBackward(x, dy));
        assertClose('forward', await fwd(tx, poisoned(gpu, 'f32', [n])).read(), y);
        assertClose('backward', await bwd(tx, tdy, poisoned(gpu, 'f32', [n])).read(), dx);
        assertClose('dropout forward', await dfwd(tx, poisoned(gpu, 'f32', [n])).read(), yDrop);
        assertClose('dropout backward', await dbwd(tx, tdy, poisoned(gpu, 'f32', [n])).read(), dxDrop);
        // In place: the forward over x, then (slope >= 0) the backward from that output, over dy.
        const inPlace = fresh(x),
          dInPlace = fresh(x);
        assertClose('forward in place', await fwd(inPlace, inPlace).read(), y);
        assertClose('dropout forward in place', await dfwd(dInPlace, dInPlace).read(), yDrop);
        const from = slope >= 0 ? inPlace : tx,
          dFrom = slope >= 0 ? dInPlace : tx;
        const g1 = fresh(dy),
          g2 = fresh(dy);
        assertClose('backward in place', await bwd(from, g1, g1).read(), dx);
        assertClose('dropout backward in place', await dbwd(dFrom, g2, g2).read(), dxDrop);
        [tx, tdy, step, inPlace, dInPlace, g1, g2].forEach((t) => t.dispose());
      });
      // ReLU's negative side is exactly 0, infinities included; LeakyReLU scales -inf.
      const special = Float32Array.of(-Infinity, -1e30, -0, 0, 1e-30, Infinity);
      const t = gpu.tensor('f32', [6], special);
      assertEqual(
        'relu of special values',
        await ew.reluForward(gpu, t, poisoned(gpu, 'f32', [6])).read(),
        [0, 0, 0, 0, 1e-30, Infinity].map(Math.fround),
      );
      assertEqual(
        'leaky of -inf',
        (await ew.leakyReluForward(gpu, t, 0.5, poisoned(gpu, 'f32', [6])).read()).slice(0, 1),
        [-Infinity],
      );
      t.dispose();
    },
  },
  {
    name: 'ReLU and LeakyReLU: bad arguments throw an error that names the problem',
    async run(gpu) {
      const x = gpu.empty('f32', [10]),
        step = gpu.tensor('u32', [1], [0]);
      assertThrows(
        'dy size',
        () => ew.reluBackward(gpu, x, gpu.empty('f32', [9])),
        /leakyReluBackward: shape mismatch for dy: expected 10 elements/,
      );
      assertThrows(
        'out shape',
        () => ew.reluForward(gpu, x, gpu.empty('f32', [11])),
        /leakyReluForward: shape mismatch for out/,
      );
      assertThrows(
        'slope',
        () => ew.leakyReluForward(gpu, x, NaN),
        /leakyReluForward: slope must be a finite number, got NaN/,
      );
      assertThrows(
        'backward over x',
        () => ew.leakyReluBackward(gpu, x, gpu.empty('f32', [10]), 0.1, x),
        /out must not be x/,
      );
      assertThrows(
        'dropout p',
        () => ew.reluDropoutForward(gpu, x, { p: 1, seed: 0, step }),
        /leakyReluDropoutForward: dropout p must be in \[0, 1\), got 1/,
      );
      assertThrows(
        'dropout step',
        () => ew.reluDropoutBackward(gpu, x, x, { p: 0.5, seed: 0, step: x }),
        /step must be u32, got f32/,
      );
      [x, step].forEach((t) => t.dispose());
    },
  },
  {
    name: 'in-place ReLU over more than 65,535 workgroups covers every element',
    async run(gpu) {
      const n = 4 * 64 * 70_001 + 13;
      const x = randomArray(Math.random, n);
      const t = gpu.tensor('f32', [n], x);
      assertClose('relu in place over 70,001 workgroups', await ew.reluForward(gpu, t, t).read(), ref.reluForward(x));
      t.dispose();
    },
  },
  {
    name: 'mean over heads forward and backward match float64',
    async run(gpu) {
      await repeat(CASES, 4, async (rand) => {
        const rows = randInt(rand, 1, 500),
          heads = randInt(rand, 1, 9),
          cols = randInt(rand, 1, 17);
        const x = randomArray(rand, rows * heads * cols),
          dy = randomArray(rand, rows * cols);
        const got = await ew
          .headMeanForward(gpu, gpu.tensor('f32', [rows, heads * cols], x), heads, poisoned(gpu, 'f32', [rows, cols]))
          .read();
        assertClose('head mean fwd', got, ref.headMeanForward(x, rows, heads, cols));
        const dx = await ew
          .headMeanBackward(gpu, gpu.tensor('f32', [rows, cols], dy), heads, poisoned(gpu, 'f32', [rows, heads * cols]))
          .read();
        assertClose('head mean bwd', dx, ref.headMeanBackward(dy, rows, heads, cols));
      });
    },
  },
  {
    name: 'a launch of more than 65,535 workgroups is folded into 2-D and covers every element',
    async run(gpu) {
      const n = 4 * 64 * 70_001 + 13; // 4 elements per thread, WG = 64
      const x = randomArray(Math.random, n);
      const b = randomArray(Math.random, 1);
      const out = ew.biasAdd(
        gpu,
        gpu.tensor('f32', [n, 1], x),
        gpu.tensor('f32', [1], b),
        poisoned(gpu, 'f32', [n, 1]),
      );
      assertClose('bias_add over 70,001 workgroups', await out.read(), ref.biasAdd(x, b));
    },
  },
  {
    name: 'reference backward of ELU, LeakyReLU, mean over heads match finite differences',
    async run() {
      const rand = Math.random;
      const x = Float64Array.from(randomArray(rand, 50, -2, 2)),
        g = Float64Array.from(randomArray(rand, 50));
      checkVjp('elu', (v) => ref.eluForward(v, 1.3), x, g, ref.eluBackward(x, g, 1.3));
      checkVjp('lrelu', (v) => ref.leakyReluForward(v, 0.2), x, g, ref.leakyReluBackward(x, g, 0.2));
      checkVjp('relu', (v) => ref.reluForward(v), x, g, ref.reluBackward(x, g));
      const gm = Float64Array.from(randomArray(rand, 10));
      checkVjp('head mean', (v) => ref.headMeanForward(v, 2, 5, 5), x, gm, ref.headMeanBackward(gm, 2, 5, 5));
    },
  },
];
