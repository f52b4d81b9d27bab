// Nothing left behind on refusal: a call that fails part-way gives back the GPU memory it took.
import type { Gpu } from '../gpu/gpu.ts';

/**
 * Runs `make`, which allocates on `gpu` and returns what it made; when it throws, every buffer it acquired and still
 * holds goes back to the pool. `make` must be synchronous: nothing else can then allocate while it runs, so only
 * its own buffers are released. What it made must not be used after the throw (its tensors are not marked
 * disposed; they simply are never reached again).
 */
export function releaseOnThrow<T>(gpu: Gpu, make: () => T): T {
  const tracked = gpu.pool.track();
  try {
    const made = make();
    if (made instanceof Promise) throw new Error('releaseOnThrow: make must be synchronous');
    return made;
  } catch (err) {
    for (const b of tracked.acquired) gpu.pool.release(b);
    throw err;
  } finally {
    tracked.stop();
  }
}

/** Disposes each of `owners` (in reverse order), carrying on past any that throws. */
export function disposeAll(...owners: ({ dispose(): void } | null | undefined)[]): void {
  for (const o of owners.reverse()) {
    try {
      o?.dispose();
    } catch {
      // Disposing is best effort on a failure path: the first error is the one to report.
    }
  }
}
