// Stratified k-fold: every index in exactly one test fold, each class spread within one of its share, fold sizes
// balanced, train = the rest, the same seed gives the same folds, validation held out per class.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stratifiedKFold } from '../../src/data/folds.ts';

function checkFolds(labels: number[], k: number, seed: number, valFraction = 0): void {
  const folds = stratifiedKFold(labels, { folds: k, seed, valFraction });
  const n = labels.length;
  assert.equal(folds.length, k);
  const inTest = new Int32Array(n);
  const classes = [...new Set(labels)];
  for (const f of folds) {
    for (const part of [f.train, f.val, f.test])
      for (let i = 1; i < part.length; i++) assert.ok(part[i - 1]! < part[i]!, 'ascending');
    for (const i of f.test) inTest[i]++;
    const parts = new Int32Array(n);
    for (const part of [f.train, f.val, f.test]) for (const i of part) parts[i]++;
    assert.ok(
      parts.every((v) => v === 1),
      'train, val and test partition the samples',
    );
    assert.ok(Math.abs(f.test.length - n / k) < 1, `fold size ${f.test.length} for ${n} / ${k}`);
    for (const c of classes) {
      const total = labels.filter((y) => y === c).length;
      const got = [...f.test].filter((i) => labels[i] === c).length;
      assert.ok(Math.abs(got - total / k) < 1, `class ${c}: ${got} in a fold, share ${total / k}`);
      if (valFraction > 0) {
        const trainable = total - got;
        const val = [...f.val].filter((i) => labels[i] === c).length;
        assert.equal(val, Math.round(valFraction * trainable));
      }
    }
  }
  assert.ok(
    inTest.every((v) => v === 1),
    'every index in exactly one test fold',
  );
}

describe('stratifiedKFold', () => {
  it('MUTAG-sized (125 / 63) and ENZYMES-sized (6 x 100) labels, 10 folds', () => {
    checkFolds([...new Array(125).fill(1), ...new Array(63).fill(0)], 10, 0);
    checkFolds(
      Array.from({ length: 600 }, (_, i) => i % 6),
      10,
      12345,
      0.1,
    );
  });

  it('random labels, fold counts and seeds (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -3, max: 4 }), { minLength: 2, maxLength: 120 }),
        fc.integer({ min: 2, max: 12 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.constantFrom(0, 0.1, 0.25),
        (labels, k, seed, val) => {
          const counts = new Map<number, number>();
          for (const y of labels) counts.set(y, (counts.get(y) ?? 0) + 1);
          if (k > labels.length || Math.max(...counts.values()) < k) {
            assert.throws(() => stratifiedKFold(labels, { folds: k, seed }), /folds \(\d+\) cannot exceed/);
            return;
          }
          checkFolds(labels, k, seed, val);
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });

  it('the same seed gives the same folds; other seeds give others', () => {
    const labels = Array.from({ length: 188 }, (_, i) => (i * 7) % 3);
    const a = stratifiedKFold(labels, { seed: 3 });
    assert.deepEqual(stratifiedKFold(labels, { seed: 3 }), a);
    assert.notDeepEqual(stratifiedKFold(labels, { seed: 4 }), a);
    // Without shuffling, each fold takes the next run of every class's members in index order.
    const ordered = stratifiedKFold(labels, { shuffle: false });
    for (const c of [0, 1, 2]) {
      const members = [...labels.keys()].filter((j) => labels[j] === c);
      const runs = ordered.flatMap((f) => [...f.test].filter((i) => labels[i] === c));
      assert.deepEqual(runs, members);
    }
  });

  it('rejects bad arguments by name', () => {
    assert.throws(() => stratifiedKFold([0, 1, 0, 1], { folds: 1 }), /folds must be an integer of at least 2/);
    assert.throws(() => stratifiedKFold([0, 1.5, 0, 1], { folds: 2 }), /labels\[1\] is 1.5, not an integer class/);
    assert.throws(() => stratifiedKFold([0, 1, 0, 1], { folds: 2, valFraction: 1 }), /valFraction must be in \[0, 1\)/);
  });
});
