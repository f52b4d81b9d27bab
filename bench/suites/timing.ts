// How the suites time GPU work: the profiler's per-dispatch timestamps where the adapter has them, else wall time
// around gpu.sync(). Also captures the bytes and FLOPs each dispatch declares, in either mode.
import type { DispatchCall, Gpu } from '../../src/gpu/gpu.ts';
import type { Kernel } from '../../src/gpu/kernel.ts';
import type { KernelCost } from '../../src/gpu/profiler.ts';

export type TimingSource = 'timestamps' | 'wall';

export interface Sample {
  /** GPU (or wall) milliseconds per kernel name in one run; with wall time, one entry named after the step. */
  ms: Map<string, number>;
  /** Declared cost per kernel name in one run. */
  cost: Map<string, KernelCost>;
}

/**
 * Runs `record` (which records dispatches) once and returns its time and declared costs per kernel name. With
 * timestamps each dispatch gets its own pass and its own begin/end; without, the whole step is timed as `name`.
 */
export async function timeStep(gpu: Gpu, name: string, record: () => void, source: TimingSource): Promise<Sample> {
  const cost = new Map<string, KernelCost>();
  const ms = new Map<string, number>();
  await gpu.sync();
  const restore = captureCosts(gpu, (kernel, c) => {
    const prev = cost.get(kernel) ?? { bytes: 0, flops: 0 };
    cost.set(kernel, { bytes: prev.bytes + (c?.bytes ?? 0), flops: prev.flops + (c?.flops ?? 0) });
  });
  try {
    if (source === 'timestamps') {
      gpu.profiler.reset();
      gpu.profiler.start();
      record();
      await gpu.sync();
      gpu.profiler.stop();
      for (const t of await gpu.profiler.collect())
        ms.set(t.name, (ms.get(t.name) ?? 0) + Math.max(0, t.end - t.start) / 1e6);
      gpu.profiler.reset();
    } else {
      const t0 = performance.now();
      record();
      await gpu.sync();
      ms.set(name, performance.now() - t0);
      const total = { bytes: 0, flops: 0 };
      for (const c of cost.values()) (total.bytes += c.bytes), (total.flops += c.flops);
      cost.clear();
      cost.set(name, total);
    }
  } finally {
    gpu.profiler.stop();
    restore();
  }
  return { ms, cost };
}

export function timingSource(gpu: Gpu): TimingSource {
  return gpu.hasTimestamps ? 'timestamps' : 'wall';
}

/**
 * Reports every dispatch's kernel name and declared cost to `onDispatch` until the returned function is called.
 * (Wraps this Gpu instance's `dispatch`; the library itself is untouched.)
 */
export function captureCosts(gpu: Gpu, onDispatch: (kernel: string, cost?: KernelCost) => void): () => void {
  const original = gpu.dispatch;
  gpu.dispatch = function (k: Kernel, call: DispatchCall) {
    if (call.workgroups > 0) onDispatch(k.name, call.cost);
    return original.call(this, k, call);
  };
  return () => {
    gpu.dispatch = original;
  };
}

/** Wall milliseconds of `fn` between two gpu.sync() calls. */
export async function wallMs(gpu: Gpu, fn: () => void): Promise<number> {
  await gpu.sync();
  const t0 = performance.now();
  fn();
  await gpu.sync();
  return performance.now() - t0;
}
