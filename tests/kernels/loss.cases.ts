import type { Gpu } from '../../src/gpu/gpu.ts';
import { argmax, logSoftmax, nllLoss, validateLabels } from '../../src/kernels/loss.ts';
import * as ref from '../reference/loss.ts';
import { checkVjp } from '../reference/fd.ts';
import { assert, assertBitIdentical, assertClose, assertEqual, assertThrows, poisoned, randInt, randomArray, repeat, type KernelCase } from './harness.ts';

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

export const cases: KernelCase[] = [
  {
    name: 'nllLoss (loss, correct, dlogits) matches float64 on random shapes and masks',
    async run(gpu) {
      await repeat(CASES, 21, async (rand, i) => {
        const n = randInt(rand, 1, 3000), c = i === 0 ? 1 : randInt(rand, 2, 41);
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
      for (let k = 100 * 7; k < 350 * 7; k++) assert(Object.is(got.dlogits[k], 0), `dlogits[${k}] = ${got.dlogits[k]} outside the mask`);
      const none = { ...p, mask: new Uint32Array(500), count: 0 };
      const empty = await runNll(gpu, none);
      assertEqual('empty mask loss', empty.loss, [0]);
      assertEqual('empty mask correct', empty.correct, [0]);
      assertEqual('empty mask dlogits', empty.dlogits, new Float32Array(500 * 7));
    },
  },
  {
    name: 'nllLoss: out-of-range labels on masked rows read in bounds (clamped), never count as correct; validateLabels names them',
    async run(gpu) {
      const rand = Math.random;
      const p = randomProblem(rand, 300, 7, 1);
      for (const [r, y] of [[0, 7], [5, 1_000_000], [17, -1], [299, -2_000_000_000]]) p.labels[r] = y;
      checkNll('out-of-range labels', await runNll(gpu, p), p);
      assertThrows('validateLabels', () => validateLabels(Int32Array.from([0, 3, 6, 9]), 7), /^label 9 at node 3 is out of range for 7 classes$/);
      assertThrows('validateLabels negative', () => validateLabels(Int32Array.from([-1]), 7), /label -1 at node 0 is out of range/);
      validateLabels(Int32Array.from([0, 6, 3]), 7);
      const labels17 = new Int32Array(18);
      labels17[17] = 9;
      assertThrows('validateLabels brief example', () => validateLabels(labels17, 7), /^label 9 at node 17 is out of range for 7 classes$/);
    },
  },
  {
    name: 'logSoftmax and argmax match float64 (argmax: first maximum on ties)',
    async run(gpu) {
      await repeat(CASES, 22, async (rand) => {
        const n = randInt(rand, 1, 3000), c = randInt(rand, 1, 41);
        const p = randomProblem(rand, n, c);
        const x = gpu.tensor('f32', [n, c], p.logits);
        const logp = logSoftmax(gpu, x, poisoned(gpu, 'f32', [n, c]));
        const got = (await logp.read()) as Float32Array;
        assertClose('logSoftmax', got, ref.logSoftmax(p.logits, n, c));
        assertBitIdentical('logSoftmax determinism', got, (await logSoftmax(gpu, x, poisoned(gpu, 'f32', [n, c])).read()) as Float32Array);
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
      for (const [n, c] of [[6, 5], [9, 2], [4, 1]]) {
        const p = randomProblem(rand, n, c, 0.7);
        p.mask[0] = 1;
        p.count = p.mask.filter((m) => m !== 0).length;
        const x = Float64Array.from(randomArray(rand, n * c, -3, 3)); // no exact ties: the loss is smooth there
        const want = ref.nllLoss(x, p.labels, p.mask, n, c, p.count);
        checkVjp(`nll [${n}, ${c}]`, (v) => [ref.nllLoss(v, p.labels, p.mask, n, c, p.count).loss], x, [1], want.dlogits);
      }
    },
  },
  {
    name: 'loss: bad input throws an error that names the problem',
    async run(gpu) {
      const x = gpu.empty('f32', [10, 7]), labels = gpu.empty('i32', [10]), mask = gpu.empty('u32', [10]);
      assertThrows('labels size', () => nllLoss(gpu, x, gpu.empty('i32', [9]), mask, 3), /nllLoss: shape mismatch for labels: expected 10 elements/);
      assertThrows('labels dtype', () => nllLoss(gpu, x, gpu.empty('f32', [10]), mask, 3), /nllLoss: labels must be i32, got f32/);
      assertThrows('mask dtype', () => nllLoss(gpu, x, labels, gpu.empty('i32', [10]), 3), /nllLoss: mask must be u32, got i32/);
      assertThrows('mask size', () => nllLoss(gpu, x, labels, gpu.empty('u32', [11]), 3), /shape mismatch for mask/);
      assertThrows('logits dtype', () => nllLoss(gpu, gpu.empty('u32', [10, 7]), labels, mask, 3), /nllLoss: logits must be f32, got u32/);
      assertThrows('logits 1-D', () => nllLoss(gpu, gpu.empty('f32', [70]), labels, mask, 3), /nllLoss: shape mismatch for logits/);
      assertThrows('count', () => nllLoss(gpu, x, labels, mask, 11), /count must be the number of masked rows, an integer in \[0, 10\]/);
      assertThrows('count fraction', () => nllLoss(gpu, x, labels, mask, 2.5), /count must be/);
      assertThrows('dlogits shape', () => nllLoss(gpu, x, labels, mask, 3, { dlogits: gpu.empty('f32', [10, 6]) }), /shape mismatch for dlogits: expected \[10,7\]/);
      assertThrows('loss size', () => nllLoss(gpu, x, labels, mask, 3, { loss: gpu.empty('f32', [2]) }), /shape mismatch for loss/);
      assertThrows('correct dtype', () => nllLoss(gpu, x, labels, mask, 3, { correct: gpu.empty('u32', [1]) }), /correct must be f32/);
      assertThrows('no classes', () => nllLoss(gpu, gpu.empty('f32', [10, 0]), labels, mask, 3), /at least one class/);
      assertThrows('argmax out', () => argmax(gpu, x, gpu.empty('f32', [10])), /argmax: out must be u32, got f32/);
      assertThrows('argmax out size', () => argmax(gpu, x, gpu.empty('u32', [7])), /argmax: shape mismatch for out/);
      assertThrows('logSoftmax out', () => logSoftmax(gpu, x, gpu.empty('f32', [7, 10])), /logSoftmax: shape mismatch for out: expected \[10,7\]/);
      assertThrows('logSoftmax dtype', () => logSoftmax(gpu, gpu.empty('i32', [10, 7])), /logSoftmax: x must be f32, got i32/);
    },
  },
];
