import fc from 'fast-check';
import type { Gpu } from '../../src/gpu/gpu.ts';
import {
  argmax,
  bceWithLogitsLoss,
  logSoftmax,
  maskFromIndex,
  meanSquaredErrorLoss,
  nllLoss,
  validateLabels,
} from '../../src/kernels/loss.ts';
import * as ref from '../reference/loss.ts';
import { checkVjp } from '../reference/fd.ts';
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

interface Problem {
  n: number;
  c: number;
  logits: Float32Array;
  labels: Int32Array;
  mask: Uint32Array;
  count: number;
}

/** Random logits (some rows with ties: small integers), labels in range, a random mask. */
function randomProblem(rand: () => number, n: number, c: number, maskRate = rand()): Problem {
  const logits = randomArray(rand, n * c, -6, 6);
  for (let r = 0; r < n; r += randInt(rand, 1, 8)) for (let j = 0; j < c; j++) logits[r * c + j] = randInt(rand, -2, 3);
  const labels = Int32Array.from({ length: n }, () => randInt(rand, 0, c));
  const mask = Uint32Array.from({ length: n }, () => (rand() < maskRate ? randInt(rand, 1, 4) : 0));
  return { n, c, logits, labels, mask, count: mask.filter((m) => m !== 0).length };
}

interface NllOutput {
  loss: Float32Array;
  correct: Float32Array;
  dlogits: Float32Array;
}

/** nllLoss on the GPU into NaN-poisoned outputs. */
async function runNll(gpu: Gpu, p: Problem, inPlace = false): Promise<NllOutput> {
  const t = {
    logits: gpu.tensor('f32', [p.n, p.c], p.logits),
    labels: gpu.tensor('i32', [p.n], p.labels),
    mask: gpu.tensor('u32', [p.n], p.mask),
  };
  const r = nllLoss(gpu, t.logits, t.labels, t.mask, p.count, {
    dlogits: inPlace ? t.logits : poisoned(gpu, 'f32', [p.n, p.c]),
    loss: poisoned(gpu, 'f32', [1]),
    correct: poisoned(gpu, 'f32', [1]),
  });
  const out = {
    loss: (await r.loss.read()) as Float32Array,
    correct: (await r.correct.read()) as Float32Array,
    dlogits: (await r.dlogits.read()) as Float32Array,
  };
  new Set([...Object.values(t), r.loss, r.correct, r.dlogits]).forEach((x) => x.dispose());
  return out;
}

/** Checks the GPU result against the float64 reference, every element. */
function checkNll(label: string, got: NllOutput, p: Problem): void {
  const want = ref.nllLoss(p.logits, p.labels, p.mask, p.n, p.c, p.count);
  assertClose(`${label} loss`, got.loss, [want.loss]);
  assertEqual(`${label} correct`, got.correct, [want.correct]);
  assertClose(`${label} dlogits`, got.dlogits, want.dlogits);
}

type ElementLoss = 'bce' | 'mse';

interface ElementProblem {
  n: number;
  c: number;
  input: Float32Array;
  target: Float32Array;
  mask: Uint32Array;
  count: number;
}

/** Random logits (some large: the stable form matters there), 0/1 or soft targets, a random mask. */
function randomElementProblem(rand: () => number, n: number, c: number, maskRate = rand()): ElementProblem {
  const scale = [3, 30, 100][randInt(rand, 0, 3)];
  const input = randomArray(rand, n * c, -scale, scale);
  const soft = rand() < 0.5;
  const target = Float32Array.from({ length: n * c }, () => (soft ? rand() : randInt(rand, 0, 2)));
  const mask = Uint32Array.from({ length: n }, () => (rand() < maskRate ? randInt(rand, 1, 4) : 0));
  return { n, c, input, target, mask, count: mask.filter((m) => m !== 0).length };
}

/** The loss on the GPU into NaN-poisoned outputs (or with the gradient over the input). */
async function runElementLoss(
  gpu: Gpu,
  kind: ElementLoss,
  p: ElementProblem,
  inPlace = false,
): Promise<{ loss: Float32Array; dinput: Float32Array }> {
  const input = gpu.tensor('f32', [p.n, p.c], p.input);
  const target = gpu.tensor('f32', [p.n, p.c], p.target);
  const mask = gpu.tensor('u32', [p.n], p.mask);
  const f = kind === 'bce' ? bceWithLogitsLoss : meanSquaredErrorLoss;
  const r = f(gpu, input, target, mask, p.count, {
    dinput: inPlace ? input : poisoned(gpu, 'f32', [p.n, p.c]),
    loss: poisoned(gpu, 'f32', [1]),
  });
  const out = { loss: (await r.loss.read()) as Float32Array, dinput: (await r.dinput.read()) as Float32Array };
  new Set([input, target, mask, r.loss, r.dinput]).forEach((t) => t.dispose());
  return out;
}

function elementReference(kind: ElementLoss, p: ElementProblem, x: ArrayLike<number> = p.input) {
  return (kind === 'bce' ? ref.bceWithLogits : ref.mse)(x, p.target, p.mask, p.n, p.c, p.count);
}

function checkElementLoss(
  label: string,
  kind: ElementLoss,
  got: { loss: Float32Array; dinput: Float32Array },
  p: ElementProblem,
): void {
  const want = elementReference(kind, p);
  assertClose(`${label} loss`, got.loss, [want.loss]);
  assertClose(`${label} dinput`, got.dinput, want.dinput);
}

export const cases: KernelCase[] = [
  {
    name:
      'binary cross-entropy with logits and MSE (loss, gradient) match float64 on random shapes, masks and ' +
      'logits up to +-100',
    async run(gpu) {
      for (const kind of ['bce', 'mse'] as const) {
        await repeat(CASES, kind === 'bce' ? 23 : 24, async (rand, i) => {
          const n = i === 0 ? 0 : randInt(rand, 1, 2000),
            c = i === 1 ? 1 : i === 2 ? 130 : randInt(rand, 1, 70);
          const p = randomElementProblem(rand, n, c);
          checkElementLoss(kind, kind, await runElementLoss(gpu, kind, p), p);
          checkElementLoss(
            `${kind} in place (gradient over the input)`,
            kind,
            await runElementLoss(gpu, kind, p, true),
            p,
          );
        });
      }
    },
  },
  {
    name: 'binary cross-entropy with logits keeps its precision where 1 + exp(-|x|) rounds to 1',
    async run(gpu) {
      // x = 20 with y = 1: loss = log1p(exp(-20)) = 2.06e-9, which log(1 + exp(-20)) in f32 would give as 0.
      const p: ElementProblem = {
        n: 2,
        c: 2,
        input: Float32Array.of(20, -20, 40, 0),
        target: Float32Array.of(1, 0, 1, 0.5),
        mask: Uint32Array.of(1, 1),
        count: 2,
      };
      const got = await runElementLoss(gpu, 'bce', p);
      checkElementLoss('tiny losses', 'bce', got, p);
      const one = {
        ...p,
        n: 1,
        c: 1,
        input: Float32Array.of(20),
        target: Float32Array.of(1),
        mask: Uint32Array.of(1),
        count: 1,
      };
      assertClose('log1p(exp(-20))', (await runElementLoss(gpu, 'bce', one)).loss, [Math.log1p(Math.exp(-20))], 1e-5);
    },
  },
  {
    name:
      'BCE and MSE: rows outside the mask get exactly 0; an empty mask gives loss 0 and a zero gradient; index ' +
      '= mask',
    async run(gpu) {
      const rand = Math.random;
      for (const kind of ['bce', 'mse'] as const) {
        const p = randomElementProblem(rand, 500, 7, 0.8);
        for (let r = 100; r < 350; r++) p.mask[r] = 0;
        p.count = p.mask.filter((m) => m !== 0).length;
        const got = await runElementLoss(gpu, kind, p);
        checkElementLoss(`${kind} masked region`, kind, got, p);
        for (let k = 100 * 7; k < 350 * 7; k++)
          assert(Object.is(got.dinput[k], 0), `${kind}: dinput[${k}] = ${got.dinput[k]} outside the mask`);
        const empty = await runElementLoss(gpu, kind, { ...p, mask: new Uint32Array(500), count: 0 });
        assertEqual(`${kind} empty mask loss`, empty.loss, [0]);
        assertEqual(`${kind} empty mask dinput`, empty.dinput, new Float32Array(500 * 7));
        // A node index gives the same mask, so the same loss.
        const index = Array.from({ length: 500 }, (_, r) => r)
          .filter((r) => p.mask[r] !== 0)
          .reverse();
        const { mask, count } = maskFromIndex(index, 500);
        const fromIndex = await runElementLoss(gpu, kind, { ...p, mask, count });
        assertBitIdentical(`${kind} from an index`, fromIndex.loss, got.loss);
      }
      assertThrows(
        'index range',
        () => maskFromIndex([0, 5], 5),
        /^index 5 at position 1 is out of range for 5 nodes$/,
      );
      assertThrows('index negative', () => maskFromIndex([-1], 5), /index -1 at position 0 is out of range/);
      assertThrows('index fraction', () => maskFromIndex([1.5], 5), /index 1.5 at position 0 is out of range/);
      assertThrows('index twice', () => maskFromIndex([3, 1, 3], 5), /^index 3 at position 2 is listed twice$/);
    },
  },
  {
    name:
      'maskFromIndex on generated indices, good and bad: the mask of the listed nodes, or an error naming the ' +
      'entry',
    async run() {
      const problem = fc.integer({ min: 0, max: 20 }).chain((n) =>
        fc.record({
          n: fc.constant(n),
          index: fc.array(
            fc.oneof(
              { weight: 6, arbitrary: fc.integer({ min: 0, max: Math.max(n - 1, 0) }) },
              { weight: 1, arbitrary: fc.constantFrom(-1, n, 2.5, NaN, Infinity) },
            ),
            { maxLength: 25 },
          ),
        }),
      );
      fc.assert(
        fc.property(problem, ({ n, index }) => {
          const bad = index.findIndex((i) => !(Number.isInteger(i) && i >= 0 && i < n));
          const twice = index.findIndex((i, k) => index.indexOf(i) !== k);
          const first = [bad, twice].filter((k) => k >= 0).sort((a, b) => a - b)[0];
          let got: ReturnType<typeof maskFromIndex>;
          try {
            got = maskFromIndex(index, n);
          } catch (err) {
            const msg = (err as Error).message;
            if (first === undefined) throw err;
            const why = first === bad ? `is out of range for ${n} nodes` : 'is listed twice';
            return msg === `index ${index[first]} at position ${first} ${why}`;
          }
          if (first !== undefined) return false;
          return got.count === index.length && got.mask.every((m, i) => m === (index.includes(i) ? 1 : 0));
        }),
        { numRuns: 300, seed: 25 },
      );
    },
  },
  {
    name: 'BCE is deterministic (bit-identical twice) at 169,343 x 8; MSE over more than 65,535 workgroups (4.2M rows)',
    async run(gpu) {
      const p = randomElementProblem(Math.random, 169_343, 8, 0.5);
      const first = await runElementLoss(gpu, 'bce', p);
      checkElementLoss('bce 169,343 x 8', 'bce', first, p);
      const second = await runElementLoss(gpu, 'bce', p);
      assertBitIdentical('loss', first.loss, second.loss);
      assertBitIdentical('dinput', first.dinput, second.dinput);
      const big = randomElementProblem(Math.random, 64 * 65_536 + 17, 1, 0.9);
      checkElementLoss('mse over 65,537 workgroups', 'mse', await runElementLoss(gpu, 'mse', big), big);
    },
  },
  {
    name: 'reference BCE and MSE gradients match finite differences',
    async run() {
      const rand = Math.random;
      for (const kind of ['bce', 'mse'] as const) {
        for (const [n, c] of [
          [6, 5],
          [3, 1],
        ]) {
          const p = randomElementProblem(rand, n, c, 0.7);
          p.mask[0] = 1;
          p.count = p.mask.filter((m) => m !== 0).length;
          const x = Float64Array.from(randomArray(rand, n * c, -4, 4));
          const want = elementReference(kind, p, x);
          checkVjp(`${kind} [${n}, ${c}]`, (v) => [elementReference(kind, p, v).loss], x, [1], want.dinput);
        }
      }
    },
  },
  {
    name: 'BCE and MSE: bad input throws an error that names the problem',
    async run(gpu) {
      const x = gpu.empty('f32', [10, 7]),
        y = gpu.empty('f32', [10, 7]),
        mask = gpu.empty('u32', [10]);
      assertThrows(
        'target shape',
        () => bceWithLogitsLoss(gpu, x, gpu.empty('f32', [10, 6]), mask, 3),
        /bceWithLogitsLoss: shape mismatch for target: expected \[10,7\]/,
      );
      assertThrows(
        'target dtype',
        () => meanSquaredErrorLoss(gpu, x, gpu.empty('i32', [10, 7]), mask, 3),
        /meanSquaredErrorLoss: target must be f32, got i32/,
      );
      assertThrows(
        'input 1-D',
        () => bceWithLogitsLoss(gpu, gpu.empty('f32', [70]), y, mask, 3),
        /bceWithLogitsLoss: shape mismatch for input/,
      );
      assertThrows(
        'mask dtype',
        () => bceWithLogitsLoss(gpu, x, y, gpu.empty('f32', [10]), 3),
        /mask must be u32, got f32/,
      );
      assertThrows(
        'mask size',
        () => meanSquaredErrorLoss(gpu, x, y, gpu.empty('u32', [9]), 3),
        /shape mismatch for mask: expected 10 elements/,
      );
      assertThrows(
        'count',
        () => bceWithLogitsLoss(gpu, x, y, mask, 11),
        /count must be the number of masked rows, an integer in \[0, 10\], got 11/,
      );
      assertThrows(
        'dinput shape',
        () => meanSquaredErrorLoss(gpu, x, y, mask, 3, { dinput: gpu.empty('f32', [7, 10]) }),
        /shape mismatch for dinput/,
      );
      assertThrows(
        'dinput = target',
        () => meanSquaredErrorLoss(gpu, x, y, mask, 3, { dinput: y }),
        /dinput must not be the target/,
      );
      assertThrows(
        'loss size',
        () => bceWithLogitsLoss(gpu, x, y, mask, 3, { loss: gpu.empty('f32', [2]) }),
        /shape mismatch for loss/,
      );
      [x, y, mask].forEach((t) => t.dispose());
    },
  },
  {
    name: 'nllLoss (loss, correct, dlogits) matches float64 on random shapes and masks',
    async run(gpu) {
      await repeat(CASES, 21, async (rand, i) => {
        const n = randInt(rand, 1, 3000),
          c = i === 0 ? 1 : randInt(rand, 2, 41);
        const p = randomProblem(rand, n, c);
        checkNll('nllLoss', await runNll(gpu, p), p);
        checkNll('nllLoss in place (dlogits over the logits)', await runNll(gpu, p, true), p);
      });
    },
  },
  {
    name: 'nllLoss is deterministic (bit-identical twice) at 169,343 x 40',
    async run(gpu) {
      const p = randomProblem(Math.random, 169_343, 40, 0.5);
      const first = await runNll(gpu, p);
      checkNll('nllLoss 169,343 x 40', first, p);
      const second = await runNll(gpu, p);
      assertBitIdentical('loss', first.loss, second.loss);
      assertBitIdentical('correct', first.correct, second.correct);
      assertBitIdentical('dlogits', first.dlogits, second.dlogits);
    },
  },
  {
    name: 'nllLoss: rows outside the mask get exactly 0; an empty mask gives loss 0, correct 0, dlogits 0',
    async run(gpu) {
      const rand = Math.random;
      const p = randomProblem(rand, 500, 7, 0.8);
      for (let r = 100; r < 350; r++) p.mask[r] = 0; // an empty mask region
      p.count = p.mask.filter((m) => m !== 0).length;
      const got = await runNll(gpu, p);
      checkNll('masked region', got, p);
      for (let k = 100 * 7; k < 350 * 7; k++)
        assert(Object.is(got.dlogits[k], 0), `dlogits[${k}] = ${got.dlogits[k]} outside the mask`);
      const none = { ...p, mask: new Uint32Array(500), count: 0 };
      const empty = await runNll(gpu, none);
      assertEqual('empty mask loss', empty.loss, [0]);
      assertEqual('empty mask correct', empty.correct, [0]);
      assertEqual('empty mask dlogits', empty.dlogits, new Float32Array(500 * 7));
    },
  },
  {
    name:
      'nllLoss: out-of-range labels on masked rows read in bounds (clamped), never count as correct; ' +
      'validateLabels names them',
    async run(gpu) {
      const rand = Math.random;
      const p = randomProblem(rand, 300, 7, 1);
      for (const [r, y] of [
        [0, 7],
        [5, 1_000_000],
        [17, -1],
        [299, -2_000_000_000],
      ])
        p.labels[r] = y;
      checkNll('out-of-range labels', await runNll(gpu, p), p);
      assertThrows(
        'validateLabels',
        () => validateLabels(Int32Array.from([0, 3, 6, 9]), 7),
        /^label 9 at node 3 is out of range for 7 classes$/,
      );
      assertThrows(
        'validateLabels negative',
        () => validateLabels(Int32Array.from([-1]), 7),
        /label -1 at node 0 is out of range/,
      );
      validateLabels(Int32Array.from([0, 6, 3]), 7);
      const labels17 = new Int32Array(18);
      labels17[17] = 9;
      assertThrows(
        'validateLabels brief example',
        () => validateLabels(labels17, 7),
        /^label 9 at node 17 is out of range for 7 classes$/,
      );
    },
  },
  {
    name: 'logSoftmax and argmax match float64 (argmax: first maximum on ties)',
    async run(gpu) {
      await repeat(CASES, 22, async (rand) => {
        const n = randInt(rand, 1, 3000),
          c = randInt(rand, 1, 41);
        const p = randomProblem(rand, n, c);
        const x = gpu.tensor('f32', [n, c], p.logits);
        const logp = logSoftmax(gpu, x, poisoned(gpu, 'f32', [n, c]));
        const got = (await logp.read()) as Float32Array;
        assertClose('logSoftmax', got, ref.logSoftmax(p.logits, n, c));
        assertBitIdentical(
          'logSoftmax determinism',
          got,
          (await logSoftmax(gpu, x, poisoned(gpu, 'f32', [n, c])).read()) as Float32Array,
        );
        const pred = argmax(gpu, x, poisoned(gpu, 'u32', [n]));
        assertEqual('argmax', await pred.read(), ref.argmax(p.logits, n, c));
        const fresh = argmax(gpu, x);
        assertEqual('argmax into a new tensor', await fresh.read(), ref.argmax(p.logits, n, c));
        [x, logp, pred, fresh].forEach((t) => t.dispose());
      });
      const ties = new Float32Array([1, 3, 3, 0, /**/ 5, 5, 5, 5, /**/ -1, -2, -1, -3]);
      assertEqual('argmax ties', await argmax(gpu, gpu.tensor('f32', [3, 4], ties)).read(), [1, 0, 0]);
    },
  },
  {
    name: 'reference NLL backward matches finite differences',
    async run() {
      const rand = Math.random;
      for (const [n, c] of [
        [6, 5],
        [9, 2],
        [4, 1],
      ]) {
        const p = randomProblem(rand, n, c, 0.7);
        p.mask[0] = 1;
        p.count = p.mask.filter((m) => m !== 0).length;
        const x = Float64Array.from(randomArray(rand, n * c, -3, 3)); // no exact ties: the loss is smooth there
        const want = ref.nllLoss(x, p.labels, p.mask, n, c, p.count);
        checkVjp(
          `nll [${n}, ${c}]`,
          (v) => [ref.nllLoss(v, p.labels, p.mask, n, c, p.count).loss],
          x,
          [1],
          want.dlogits,
        );
      }
    },
  },
  {
    name: 'loss: bad input throws an error that names the problem',
    async run(gpu) {
      const x = gpu.empty('f32', [10, 7]),
        labels = gpu.empty('i32', [10]),
        mask = gpu.empty('u32', [10]);
      assertThrows(
        'labels size',
        () => nllLoss(gpu, x, gpu.empty('i32', [9]), mask, 3),
        /nllLoss: shape mismatch for labels: expected 10 elements/,
      );
      assertThrows(
        'labels dtype',
        () => nllLoss(gpu, x, gpu.empty('f32', [10]), mask, 3),
        /nllLoss: labels must be i32, got f32/,
      );
      assertThrows(
        'mask dtype',
        () => nllLoss(gpu, x, labels, gpu.empty('i32', [10]), 3),
        /nllLoss: mask must be u32, got i32/,
      );
      assertThrows('mask size', () => nllLoss(gpu, x, labels, gpu.empty('u32', [11]), 3), /shape mismatch for mask/);
      assertThrows(
        'logits dtype',
        () => nllLoss(gpu, gpu.empty('u32', [10, 7]), labels, mask, 3),
        /nllLoss: logits must be f32, got u32/,
      );
      assertThrows(
        'logits 1-D',
        () => nllLoss(gpu, gpu.empty('f32', [70]), labels, mask, 3),
        /nllLoss: shape mismatch for logits/,
      );
      assertThrows(
        'count',
        () => nllLoss(gpu, x, labels, mask, 11),
        /count must be the number of masked rows, an integer in \[0, 10\]/,
      );
      assertThrows('count fraction', () => nllLoss(gpu, x, labels, mask, 2.5), /count must be/);
      assertThrows(
        'dlogits shape',
        () => nllLoss(gpu, x, labels, mask, 3, { dlogits: gpu.empty('f32', [10, 6]) }),
        /shape mismatch for dlogits: expected \[10,7\]/,
      );
      assertThrows(
        'loss size',
        () => nllLoss(gpu, x, labels, mask, 3, { loss: gpu.empty('f32', [2]) }),
        /shape mismatch for loss/,
      );
      assertThrows(
        'correct dtype',
        () => nllLoss(gpu, x, labels, mask, 3, { correct: gpu.empty('u32', [1]) }),
        /correct must be f32/,
      );
      assertThrows('no classes', () => nllLoss(gpu, gpu.empty('f32', [10, 0]), labels, mask, 3), /at least one class/);
      assertThrows('argmax out', () => argmax(gpu, x, gpu.empty('f32', [10])), /argmax: out must be u32, got f32/);
      assertThrows('argmax out size', () => argmax(gpu, x, gpu.empty('u32', [7])), /argmax: shape mismatch for out/);
      assertThrows(
        'logSoftmax out',
        () => logSoftmax(gpu, x, gpu.empty('f32', [7, 10])),
        /logSoftmax: shape mismatch for out: expected \[10,7\]/,
      );
      assertThrows(
        'logSoftmax dtype',
        () => logSoftmax(gpu, gpu.empty('i32', [10, 7])),
        /logSoftmax: x must be f32, got i32/,
      );
    },
  },
];
