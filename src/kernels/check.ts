// Argument checks shared by the kernel modules: every shape or type problem becomes an error naming the operation.
import type { DType, Tensor } from '../gpu/tensor.ts';

/** Throws unless `t` has dtype `dtype` and exactly `shape` (-1 matches any size). */
export function expectTensor(op: string, what: string, t: Tensor, dtype: DType, shape: readonly number[]): void {
  t.assertAlive();
  if (t.dtype !== dtype) throw new Error(`${op}: ${what} must be ${dtype}, got ${t.dtype}`);
  const ok = t.shape.length === shape.length && shape.every((d, i) => d === -1 || d === t.shape[i]);
  if (!ok) throw new Error(`${op}: shape mismatch for ${what}: expected [${shape.map((d) => (d === -1 ? '*' : d))}], got [${t.shape}]`);
}

/** Throws unless `d` (when given) is usable dropout: p in [0, 1) and the step a u32 tensor, named `stepName`. */
export function expectDropout(op: string, d: { p: number; step: Tensor } | undefined, stepName = 'dropout step'): void {
  if (!d) return;
  if (!(d.p >= 0 && d.p < 1)) throw new Error(`${op}: dropout p must be in [0, 1), got ${d.p}`);
  expectTensor(op, stepName, d.step, 'u32', [-1]);
}

/** Throws unless `t` holds exactly `size` elements of dtype `dtype` (any shape). */
export function expectSize(op: string, what: string, t: Tensor, dtype: DType, size: number): void {
  t.assertAlive();
  if (t.dtype !== dtype) throw new Error(`${op}: ${what} must be ${dtype}, got ${t.dtype}`);
  if (t.size !== size) throw new Error(`${op}: shape mismatch for ${what}: expected ${size} elements, got [${t.shape}] (${t.size})`);
}
