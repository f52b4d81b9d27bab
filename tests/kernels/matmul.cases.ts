import type { Gpu } from '../../src/gpu/gpu.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
import { matmul, matmulBlock, type MatmulOptions } from '../../src/kernels/matmul.ts';
import { checkVjp } from '../reference/fd.ts';
import * as ref from '../reference/matmul.ts';
import { dropout as refDropout } from '../reference/elementwise.ts';
import {
  assert,
  assertBitIdentical,
  assertClose,
  assertThrows,
  poisoned,
  randInt,
  randomArray,
  repeat,
  type KernelCase,
} from './harness.ts';

const CASES = 20;

/** Random A and B for C[m, n] = op(A) op(B), stored as the flags say; runs the kernel into a NaN-poisoned C. */
async function runCase(
  gpu: Gpu,
  rand: () => number,
  m: number,
  k: number,
  n: number,
  opts: { transA?: boolean; transB?: boolean; accumulate?: boolean; bias?: boolean },
) {
  const a = randomArray(rand, m * k),
    b = randomArray(rand, k * n),
    c0 = randomArray(rand, m * n);
  const ta = gpu.tensor('f32', opts.transA ? [k, m] : [m, k], a);
  const tb = gpu.tensor('f32', opts.transB ? [n, k] : [k, n], b);
  const out = opts.accumulate ? gpu.tensor('f32', [m, n], c0) : poisoned(gpu, 'f32', [m, n]);
  const biasValues = opts.bias ? randomArray(rand, n) : null;
  const bias = biasValues ? gpu.tensor('f32', [n], biasValues) : undefined;
  const got = (await matmul(gpu, ta, tb, {
    transA: opts.transA,
    transB: opts.transB,
    accumulate: opts.accumulate,
    bias,
    out,
  }).read()) as Float32Array;
  const want = ref.matmul(
    a,
    b,
    { m, n, k, transA: opts.transA, transB: opts.transB },
    opts.accumulate ? c0 : undefined,
  );
  if (biasValues) for (let i = 0; i < want.length; i++) want[i] += biasValues[i % n];
  [ta, tb, out, bias].forEach((t) => t?.dispose());
  return { got, want };
}

const FORMS = [
  { transA: false, transB: false },
  { transA: true, transB: false },
  { transA: false, transB: true },
  { transA: true, transB: true },
];
const label = (f: { transA?: boolean; transB?: boolean }) => `A${f.transA ? '^T' : ''} B${f.transB ? '^T' : ''}`;

/**
 * dropout(A) B (op(A) [m, k], A stored transposed when transA) on the GPU, the mask applied as A is read, into a
 * poisoned C; with the float64 product of the masked A.
 */
async function dropoutCase(gpu: Gpu, rand: () => number, m: number, k: number, n: number, transA: boolean) {
  // p as the GPU holds it (f32), so that no element sits between p and its rounding.
  const p = Math.fround(0.1 + 0.8 * rand()),
    seed = randInt(rand, 0, 2 ** 31),
    stepV = randInt(rand, 0, 1000);
  const a = randomArray(rand, m * k),
    b = randomArray(rand, k * n);
  const ta = gpu.tensor('f32', transA ? [k, m] : [m, k], a),
    tb = gpu.tensor('f32', [k, n], b),
    step = gpu.tensor('u32', [1], [stepV]);
  const got = await matmul(gpu, ta, tb, {
    transA,
    dropoutA: { p, seed, step },
    out: poisoned(gpu, 'f32', [m, n]),
  }).read();
  [ta, tb, step].forEach((t) => t.dispose());
  // The mask indexes A's storage, so it is the one dropout() puts on the stored tensor.
  return { got, want: ref.matmul(refDropout(a, p, seed, stepV), b, { m, n, k, transA }) };
}

export const cases: KernelCase[] = [
  {
    name: 'A B, A^T B, A B^T, A^T B^T (+ bias) match float64 on random ragged shapes',
    async run(gpu) {
      await repeat(CASES, 1, async (rand, i) => {
        // M, N, K not multiples of the 8 x 8 thread block or of the K step of 4 (and sometimes 1).
        const m = randInt(rand, 1, 150),
          k = randInt(rand, 1, 90),
          n = randInt(rand, 1, 75);
        for (const form of FORMS) {
          const bias = rand() < 0.5;
          const { got, want } = await runCase(gpu, rand, m, k, n, { ...form, bias });
          assertClose(`${label(form)} [${m}, ${k}] x [${k}, ${n}]${bias ? ' + bias' : ''} (case ${i})`, got, want);
        }
      });
    },
  },
  {
    name:
      'every thread block (4, 8, 12 or 16 rows x 4, 8, 12 or 16 columns) matches float64 on ragged M, N, K ' +
      'around it: every form, accumulate, bias, dropout on A, split-K',
    async run(gpu) {
      // The (M, N) up to 64 that each block shape serves (matmulBlock): all 16 shapes occur.
      const byBlock = new Map<string, [number, number][]>();
      for (let m = 1; m <= 64; m++) {
        for (let n = 1; n <= 64; n++) {
          const key = matmulBlock(m, n).join('x');
          byBlock.set(key, [...(byBlock.get(key) ?? []), [m, n]]);
        }
      }
      assert(byBlock.size === 16, `expected all 16 block shapes, got ${[...byBlock.keys()]}`);
      let i = 0;
      for (const [block, shapes] of byBlock) {
        await repeat(2, 7 + i++, async (rand) => {
          const [m, n] = shapes[randInt(rand, 0, shapes.length)];
          // K from 1 (not a multiple of the K step of 4), every form, with or without accumulate and bias.
          const k = randInt(rand, 1, 45);
          for (const form of FORMS) {
            const accumulate = rand() < 0.5,
              bias = rand() < 0.5;
            const { got, want } = await runCase(gpu, rand, m, k, n, { ...form, accumulate, bias });
            assertClose(
              `${block}: ${label(form)} [${m}, ${k}] x [${k}, ${n}]${accumulate ? ' + C' : ''}${bias ? ' + bias' : ''}`,
              got,
              want,
            );
          }
          // Split-K (C this small has fewer than 256 threads; K >= 256), with or without accumulate and bias.
          const ks = randInt(rand, 256, 3000),
            accumulate = rand() < 0.5,
            bias = rand() < 0.5;
          const form = FORMS[randInt(rand, 0, 4)];
          const before = gpu.dispatchCount;
          const split = await runCase(gpu, rand, m, ks, n, { ...form, accumulate, bias });
          assert(
            gpu.dispatchCount - before === 2,
            `${block}: expected a split-K launch for [${m}, ${ks}] x [${ks}, ${n}]`,
          );
          assertClose(
            `${block}: split-K ${label(form)} [${m}, ${ks}] x [${ks}, ` +
              `${n}]${accumulate ? ' + C' : ''}${bias ? ' + bias' : ''}`,
            split.got,
            split.want,
          );
          // Dropout on A, A stored either way, K short or split.
          const transA = rand() < 0.5,
            kd = rand() < 0.5 ? randInt(rand, 1, 40) : randInt(rand, 256, 1500);
          const { got, want } = await dropoutCase(gpu, rand, m, kd, n, transA);
          assertClose(`${block}: dropout(A)${transA ? '^T' : ''} B [${m}, ${kd}] x [${kd}, ${n}]`, got, want);
        });
      }
    },
  },
  {
    name: 'accumulate adds the product to C in every form',
    async run(gpu) {
      await repeat(CASES, 2, async (rand) => {
        const m = randInt(rand, 1, 100),
          k = randInt(rand, 1, 70),
          n = randInt(rand, 1, 40);
        const form = FORMS[randInt(rand, 0, 4)];
        const { got, want } = await runCase(gpu, rand, m, k, n, { ...form, accumulate: true });
        assertClose(`${label(form)} += [${m}, ${k}] x [${k}, ${n}]`, got, want);
      });
    },
  },
  {
    name:
      'dropout on A as it is read equals the product of dropout(A), in x W and in the weight gradient x^T dY ' +
      '(split-K too)',
    async run(gpu) {
      await repeat(CASES, 5, async (rand, i) => {
        const transA = i % 2 === 1;
        const m = transA ? randInt(rand, 1, 40) : randInt(rand, 1, 200),
          n = randInt(rand, 1, 40);
        const k = transA ? randInt(rand, 1, 3000) : randInt(rand, 1, 150);
        const { got, want } = await dropoutCase(gpu, rand, m, k, n, transA);
        assertClose(`dropout(A)${transA ? '^T' : ''} B [${m}, ${k}] x [${k}, ${n}]`, got, want);
      });
    },
  },
  {
    name: 'split-K (a tiny C with K up to 20,000) matches float64, with and without accumulate and bias',
    async run(gpu) {
      await repeat(CASES, 3, async (rand, i) => {
        const m = randInt(rand, 1, 70),
          k = randInt(rand, 300, 20_000),
          n = randInt(rand, 1, 20);
        const before = gpu.dispatchCount;
        const { got, want } = await runCase(gpu, rand, m, k, n, {
          transA: true,
          accumulate: i % 2 === 1,
          bias: i % 3 === 0,
        });
        assert(
          gpu.dispatchCount - before === 2,
          `expected a split-K launch (2 dispatches) for [${m}, ${k}]^T x [${k}, ${n}]`,
        );
        // Sums of up to 20,000 f32 products: the norm-wise error stays near 1e-6, inside the standard 1e-5.
        assertClose(`A^T B [${k}, ${m}]^T x [${k}, ${n}]`, got, want);
      });
    },
  },
  {
    name: 'the Cora shapes of a linear layer: X W, dY W^T, X^T dY',
    async run(gpu) {
      await repeat(3, 4, async (rand) => {
        const nodes = 2708,
          hidden = 64,
          classes = randInt(rand, 7, 15);
        const fwd = await runCase(gpu, rand, nodes, hidden, classes, {});
        assertClose('X W', fwd.got, fwd.want);
        const dx = await runCase(gpu, rand, nodes, classes, hidden, { transB: true });
        assertClose('dY W^T', dx.got, dx.want);
        const dw = await runCase(gpu, rand, hidden, nodes, classes, { transA: true });
        assertClose('X^T dY', dw.got, dw.want);
      });
    },
  },
  {
    name: 'backward of C = A B: dA = dC B^T and dB = A^T dC match float64 (reference checked by finite differences)',
    async run(gpu) {
      await repeat(CASES, 5, async (rand) => {
        const m = randInt(rand, 1, 120),
          k = randInt(rand, 1, 60),
          n = randInt(rand, 1, 40);
        const a = randomArray(rand, m * k),
          b = randomArray(rand, k * n),
          dc = randomArray(rand, m * n);
        const want = ref.matmulBackward(a, b, dc, m, k, n);
        const ta = gpu.tensor('f32', [m, k], a),
          tb = gpu.tensor('f32', [k, n], b),
          tdc = gpu.tensor('f32', [m, n], dc);
        const da = await matmul(gpu, tdc, tb, { transB: true, out: poisoned(gpu, 'f32', [m, k]) }).read();
        const db = await matmul(gpu, ta, tdc, { transA: true, out: poisoned(gpu, 'f32', [k, n]) }).read();
        assertClose('dA', da, want.da);
        assertClose('dB', db, want.db);
        [ta, tb, tdc].forEach((t) => t.dispose());
      });
    },
  },
  {
    name: 'reference backward matches finite differences',
    async run() {
      const rand = Math.random;
      const [m, k, n] = [5, 7, 3];
      const a = Float64Array.from(randomArray(rand, m * k)),
        b = Float64Array.from(randomArray(rand, k * n));
      const dc = Float64Array.from(randomArray(rand, m * n));
      const { da, db } = ref.matmulBackward(a, b, dc, m, k, n);
      checkVjp('dA', (x) => ref.matmul(x, b, { m, n, k }), a, dc, da);
      checkVjp('dB', (x) => ref.matmul(a, x, { m, n, k }), b, dc, db);
    },
  },
  {
    name: 'same inputs twice give bit-identical outputs (plain and split-K)',
    async run(gpu) {
      await repeat(4, 6, async (rand) => {
        for (const [m, k, n, transA] of [
          [randInt(rand, 1, 200), randInt(rand, 1, 100), randInt(rand, 1, 70), false],
          [randInt(rand, 1, 64), randInt(rand, 2000, 9000), randInt(rand, 1, 16), true],
        ] as const) {
          const ta = gpu.tensor('f32', transA ? [k, m] : [m, k], randomArray(rand, m * k)),
            tb = gpu.tensor('f32', [k, n], randomArray(rand, k * n));
          const once = (await matmul(gpu, ta, tb, {
            transA,
            out: poisoned(gpu, 'f32', [m, n]),
          }).read()) as Float32Array;
          const twice = (await matmul(gpu, ta, tb, {
            transA,
            out: poisoned(gpu, 'f32', [m, n]),
          }).read()) as Float32Array;
          assertBitIdentical(`[${m}, ${k}] x [${k}, ${n}]`, once, twice);
        }
      });
    },
  },
  {
    name: 'edge sizes: 1 x 1 x 1, K = 0 (C = 0, or C kept with accumulate), M = 0',
    async run(gpu) {
      for (const form of FORMS) {
        const r = await runCase(gpu, Math.random, 1, 1, 1, form);
        assertClose(`${label(form)} 1x1x1`, r.got, r.want);
      }
      const a0 = gpu.tensor('f32', [6, 0], []),
        b0 = gpu.tensor('f32', [0, 5], []);
      assertClose(
        'K = 0',
        await matmul(gpu, a0, b0, { out: poisoned(gpu, 'f32', [6, 5]) }).read(),
        new Float64Array(30),
      );
      const c = randomArray(Math.random, 30);
      assertClose(
        'K = 0, accumulate',
        await matmul(gpu, a0, b0, { accumulate: true, out: gpu.tensor('f32', [6, 5], c) }).read(),
        c,
      );
      const empty = matmul(gpu, gpu.tensor('f32', [0, 4], []), gpu.tensor('f32', [4, 3], randomArray(Math.random, 12)));
      assert(empty.shape[0] === 0 && empty.shape[1] === 3, `M = 0 gives shape [${empty.shape}]`);
    },
  },
  {
    name: 'bad input: inner dimensions, wrong dtype, 1-D operand, wrong out shape, accumulate without out',
    async run(gpu) {
      const t = (shape: number[], dtype: 'f32' | 'u32' = 'f32') => gpu.empty(dtype, shape);
      const call = (a: Tensor, b: Tensor, o?: MatmulOptions) => () => matmul(gpu, a, b, o);
      assertThrows(
        'inner',
        call(t([4, 3]), t([4, 5])),
        /matmul: shape mismatch: op\(A\) = A is \[4, 3\] but op\(B\) = B is \[4, 5\]/,
      );
      assertThrows('inner transA', call(t([4, 3]), t([3, 5]), { transA: true }), /shape mismatch.*A\^T is \[3, 4\]/);
      assertThrows('inner transB', call(t([4, 3]), t([3, 5]), { transB: true }), /shape mismatch.*B\^T is \[5, 3\]/);
      assertThrows('dtype', call(t([4, 3], 'u32'), t([3, 5])), /matmul: A must be f32, got u32/);
      assertThrows('1-D', call(t([12]), t([3, 5])), /matmul: shape mismatch for A: expected \[\*,\*\], got \[12\]/);
      assertThrows(
        'out shape',
        call(t([4, 3]), t([3, 5]), { out: t([5, 4]) }),
        /matmul: shape mismatch for out: expected \[4,5\], got \[5,4\]/,
      );
      assertThrows('accumulate', call(t([4, 3]), t([3, 5]), { accumulate: true }), /accumulate needs/);
      assertThrows(
        'bias',
        call(t([4, 3]), t([3, 5]), { bias: t([4]) }),
        /matmul: shape mismatch: bias has 4 values, the product has 5 columns/,
      );
      assertThrows(
        'dropout p',
        call(t([4, 3]), t([3, 5]), { dropoutA: { p: 1, seed: 0, step: t([1], 'u32') } }),
        /matmul: dropout p must be in \[0, 1\), got 1/,
      );
      const a = t([4, 4]);
      assertThrows('aliasing', call(a, t([4, 4]), { out: a }), /must not share a buffer/);
    },
  },
];
