// Runs every tests/kernels/*.cases.ts suite in Node on Dawn (SwiftShader when no GPU is present).
import { after, before, describe, test } from 'node:test';
import { readdirSync } from 'node:fs';
import { Gpu } from '../../src/gpu/gpu.ts';
import type { KernelCase } from '../kernels/harness.ts';

const dir = new URL('../kernels/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.cases.ts')).sort();
const suites: [string, KernelCase[]][] = [];
for (const f of files) suites.push([f.replace('.cases.ts', ''), (await import(new URL(f, dir).href)).cases]);

let gpu: Gpu;
before(async () => {
  gpu = await Gpu.create();
});
after(() => gpu.destroy());

for (const [family, cases] of suites) {
  describe(family, () => {
    for (const c of cases) test(c.name, () => c.run(gpu));
  });
}
