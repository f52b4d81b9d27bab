// Pipelines made on first use, one cache per kernel module.
import type { Kernel } from '../gpu/kernel.ts';

/** A cache of kernels by key: `cached(key, make)` returns the kernel of `key`, made by `make` on first use. */
export function kernelCache(): (key: string, make: () => Kernel) => Kernel {
  const kernels = new Map<string, Kernel>();
  return (key, make) => {
    let k = kernels.get(key);
    if (!k) kernels.set(key, (k = make()));
    return k;
  };
}
