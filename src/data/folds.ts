/**
 * Stratified k-fold splits for graph classification (10-fold cross-validation with a fixed fold seed).
 *
 * Follows scikit-learn's `StratifiedKFold(n_splits=k, shuffle=True)`: the samples sorted by class are dealt to the
 * folds in turn, which fixes how many of each class every fold gets (each class within one of n_c / k, fold sizes
 * within one of n / k); then, per class, that list of fold numbers is shuffled and given to the class's samples in
 * index order. The shuffle uses this library's seeded generator, so the folds are not bit-equal to scikit-learn's
 * for the same seed; the counts per fold and class are the same.
 */
import { hash32 } from '../nn/seeds.ts';

export interface Fold {
  /** Indices of the training samples, ascending. */
  train: Int32Array;
  /** Indices of the validation samples, ascending (empty unless `valFraction` is set). */
  val: Int32Array;
  /** Indices of the test samples, ascending. */
  test: Int32Array;
}

export interface FoldOptions {
  /** Number of folds (default 10). */
  folds?: number;
  /** Seed of the shuffle (default 0). The same labels and seed give the same folds. */
  seed?: number;
  /** Shuffle within each class before dealing (default true); false deals in index order, as shuffle=False. */
  shuffle?: boolean;
  /**
   * Also hold out this fraction of each fold's training samples for validation, stratified the same way (per
   * class, round(fraction * count) of a seeded shuffle). Default 0.
   */
  valFraction?: number;
}

/**
 * Splits samples with the given class labels (integers) into stratified folds: fold i tests on its own part and
 * trains on the rest. Every index is in exactly one test part.
 */
export function stratifiedKFold(labels: ArrayLike<number>, opts: FoldOptions = {}): Fold[] {
  const k = opts.folds ?? 10;
  const seed = opts.seed ?? 0;
  const shuffle = opts.shuffle ?? true;
  const valFraction = opts.valFraction ?? 0;
  const n = labels.length;
  if (!Number.isInteger(k) || k < 2) throw new Error(`folds must be an integer of at least 2, got ${k}`);
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  if (!(valFraction >= 0 && valFraction < 1)) throw new Error(`valFraction must be in [0, 1), got ${valFraction}`);
  for (let i = 0; i < n; i++) {
    if (!Number.isInteger(labels[i])) throw new Error(`labels[${i}] is ${labels[i]}, not an integer class`);
  }
  if (k > n) throw new Error(`folds (${k}) cannot exceed the number of samples (${n})`);

  // Classes in sorted order, and each class's members in index order.
  const classes = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  const classOf = new Map(classes.map((c, i) => [c, i]));
  const members: number[][] = classes.map(() => []);
  for (let i = 0; i < n; i++) members[classOf.get(labels[i]!)!]!.push(i);
  if (members.every((m) => m.length < k)) {
    throw new Error(
      `folds (${k}) cannot exceed the number of members in every class ` +
        `(largest class: ${Math.max(...members.map((m) => m.length))})`,
    );
  }

  // allocation[f][c]: how many of class c fold f tests on. Dealing the class-sorted samples to the folds in turn.
  const allocation = Array.from({ length: k }, () => new Array<number>(classes.length).fill(0));
  let pos = 0;
  for (let c = 0; c < classes.length; c++)
    for (let j = 0; j < members[c]!.length; j++, pos++) allocation[pos % k]![c]++;

  const testFold = new Int32Array(n);
  const random = generator(seed);
  for (let c = 0; c < classes.length; c++) {
    const folds: number[] = [];
    for (let f = 0; f < k; f++) for (let j = 0; j < allocation[f]![c]!; j++) folds.push(f);
    if (shuffle) shuffleInPlace(folds, random);
    members[c]!.forEach((i, j) => (testFold[i] = folds[j]!));
  }

  const out: Fold[] = [];
  for (let f = 0; f < k; f++) {
    const test: number[] = [];
    const rest: number[] = [];
    for (let i = 0; i < n; i++) (testFold[i] === f ? test : rest).push(i);
    const val =
      valFraction > 0 ? holdOut(rest, labels, valFraction, generator(hash32(seed ^ hash32(f + 1)))) : new Set<number>();
    out.push({
      train: Int32Array.from(rest.filter((i) => !val.has(i))),
      val: Int32Array.from([...val].sort((a, b) => a - b)),
      test: Int32Array.from(test),
    });
  }
  return out;
}

/** round(fraction * count) samples of each class of `indices`, chosen by a seeded shuffle. */
function holdOut(indices: number[], labels: ArrayLike<number>, fraction: number, random: () => number): Set<number> {
  const byClass = new Map<number, number[]>();
  for (const i of indices) {
    let list = byClass.get(labels[i]!);
    if (!list) byClass.set(labels[i]!, (list = []));
    list.push(i);
  }
  const held = new Set<number>();
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const list = byClass.get(c)!;
    shuffleInPlace(list, random);
    for (const i of list.slice(0, Math.round(fraction * list.length))) held.add(i);
  }
  return held;
}

/** A seeded generator of uniform numbers in [0, 1) (mulberry32 over a hashed seed). */
export function generator(seed: number): () => number {
  let a = hash32(seed >>> 0);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates shuffle. */
export function shuffleInPlace<T>(a: T[] | Int32Array, random: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}
