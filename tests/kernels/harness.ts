// The kernel test suite runs unchanged in Node (Dawn) and in Chromium (Playwright): cases are plain async
// functions of a Gpu that throw on failure. No node: imports here.
import type { Gpu } from '../../src/gpu/gpu.ts';
import type { DType, Tensor } from '../../src/gpu/tensor.ts';
import type { GraphSegments } from '../../src/kernels/pooling.ts';
import type { Module } from '../../src/nn/module.ts';

export interface KernelCase {
  name: string;
  run(gpu: Gpu): Promise<void>;
}

/** Seeded PRNG (mulberry32) so that a failing case can be replayed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values uniform in [lo, hi), never all zero. */
export function randomArray(rand: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
}

export function randInt(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo));
}

/** Random values for every parameter of `model` (biases included), written to the GPU; returned in float64. */
export function randomizeParameters(model: Module, rand: () => number): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const [name, p] of model.namedParameters()) {
    const v = randomArray(rand, p.value.size);
    p.value.write(v);
    out.set(name, Float64Array.from(v));
  }
  return out;
}

/** A batch of graphs of the given sizes (nodes contiguous): its segments on the GPU, and the host ptr. */
export function segmentsOf(
  gpu: Gpu,
  sizes: readonly number[],
): { seg: GraphSegments; ptr: Uint32Array; dispose(): void } {
  const ptr = new Uint32Array(sizes.length + 1);
  sizes.forEach((s, g) => (ptr[g + 1] = ptr[g] + s));
  const n = ptr[sizes.length];
  const batch = new Uint32Array(n);
  sizes.forEach((_, g) => batch.fill(g, ptr[g], ptr[g + 1]));
  const t = { ptr: gpu.tensor('u32', [sizes.length + 1], ptr), batch: gpu.tensor('u32', [n], batch) };
  return {
    seg: { numGraphs: sizes.length, numNodes: n, ...t },
    ptr,
    dispose: () => {
      t.ptr.dispose();
      t.batch.dispose();
    },
  };
}

/** Random edge_index with `e` edges among `n` nodes (duplicates and self loops allowed). */
export function randomEdges(rand: () => number, n: number, e: number): [number[], number[]] {
  const s: number[] = [];
  const d: number[] = [];
  for (let k = 0; k < e; k++) s.push(randInt(rand, 0, n)), d.push(randInt(rand, 0, n));
  return [s, d];
}

/** An output tensor filled with NaN (f32) or 0xDEADBEEF (u32/i32), so an element a kernel fails to write shows. */
export function poisoned(gpu: Gpu, dtype: DType, shape: readonly number[]): Tensor {
  return gpu.full(dtype, shape, dtype === 'f32' ? NaN : 0xdeadbeef);
}

/** Checks every element is finite and ||got - want|| / ||want|| < tol. */
export function assertClose(label: string, got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-5): void {
  if (got.length !== want.length) throw new Error(`${label}: length ${got.length}, expected ${want.length}`);
  let num = 0;
  let den = 0;
  let worst = -1;
  let worstErr = -1;
  for (let i = 0; i < got.length; i++) {
    if (!Number.isFinite(got[i])) throw new Error(`${label}: element ${i} is ${got[i]} (expected ${want[i]})`);
    const err = Math.abs(got[i] - want[i]);
    num += err * err;
    den += want[i] * want[i];
    if (err > worstErr) (worstErr = err), (worst = i);
  }
  const rel = den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
  if (!(rel < tol)) {
    throw new Error(
      `${label}: relative error ${rel.toExponential(3)} >= ${tol} (worst element ${worst}: got ${got[worst]}, ` +
        `expected ${want[worst]})`,
    );
  }
}

/**
 * assertClose for a gradient whose reference may be zero up to rounding (GAT's d att_dst when the scores of every
 * node's edges have one sign: the softmax then ignores a_dst): the error is taken relative to a norm of at least
 * `floor` (1e-2: the other gradients are of order 1, and f32 sums of such terms that cancel leave ~1e-7 per element),
 * so at most floor * tol absolute.
 */
export function assertGradClose(
  label: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol = 1e-4,
  floor = 1e-2,
): void {
  let den = 0;
  for (let i = 0; i < want.length; i++) den += want[i] * want[i];
  if (Math.sqrt(den) >= floor || want.length === 0) {
    assertClose(label, got, want, tol);
    return;
  }
  const shift = floor / Math.sqrt(want.length); // the same constant on both sides: |got - want| is unchanged
  assertClose(
    label,
    Array.from(got, (v) => v + shift),
    Array.from(want, (v) => v + shift),
    tol,
  );
}

/** Checks exact equality of every element (integer outputs, determinism). */
export function assertEqual(label: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  if (got.length !== want.length) throw new Error(`${label}: length ${got.length}, expected ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    if (!Object.is(got[i], want[i])) throw new Error(`${label}: element ${i} is ${got[i]}, expected ${want[i]}`);
  }
}

/** Bit-for-bit equality of two float arrays (NaN payloads included). */
export function assertBitIdentical(label: string, a: Float32Array, b: Float32Array): void {
  assertEqual(
    label,
    new Uint32Array(a.buffer, a.byteOffset, a.length),
    new Uint32Array(b.buffer, b.byteOffset, b.length),
  );
}

export function assertThrows(label: string, fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    const msg = (err as Error).message;
    if (!pattern.test(msg)) throw new Error(`${label}: threw "${msg}", which does not match ${pattern}`);
    return;
  }
  throw new Error(`${label}: did not throw (expected ${pattern})`);
}

export function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

/** Runs `body` for `count` fresh random cases, naming the failing one. */
export async function repeat(
  count: number,
  seed: number,
  body: (rand: () => number, i: number) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    try {
      await body(rng(seed * 1000 + i), i);
    } catch (err) {
      throw new Error(`random case ${i} (seed ${seed}): ${(err as Error).message}`);
    }
  }
}
