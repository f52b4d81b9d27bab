// Browser side of the kernel suite: runs every case on the page's WebGPU device and reports the outcome.
import type { DeviceOptions } from '../../src/gpu/device.ts';
import { Gpu } from '../../src/gpu/gpu.ts';
import type { KernelCase } from '../kernels/harness.ts';

export interface CaseResult {
  suite: string;
  name: string;
  ok: boolean;
  error?: string;
  ms: number;
}

export async function runSuites(
  suites: [string, KernelCase[]][],
  options: DeviceOptions = {},
): Promise<{ adapter: unknown; results: CaseResult[] }> {
  const gpu = await Gpu.create(options);
  const results: CaseResult[] = [];
  for (const [suite, cases] of suites) {
    for (const c of cases) {
      const t0 = performance.now();
      try {
        await c.run(gpu);
        results.push({ suite, name: c.name, ok: true, ms: performance.now() - t0 });
      } catch (err) {
        results.push({
          suite,
          name: c.name,
          ok: false,
          error: String((err as Error)?.stack ?? err),
          ms: performance.now() - t0,
        });
      }
    }
  }
  const adapter = gpu.adapterInfo;
  gpu.destroy();
  return { adapter, results };
}
