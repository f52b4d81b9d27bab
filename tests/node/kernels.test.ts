// Runs every tests/kernels/*.cases.ts suite in Node on Dawn (SwiftShader when no GPU is present).
import { after, before, describe, test } from 'node:test';
import { readdirSync } from 'node:fs';
import { Gpu } from '../../src/gpu/gpu.ts';
import { canFuseAttention } from '../../src/kernels/fused-attention.ts';
import { assert, type KernelCase } from '../kernels/harness.ts';

const dir = new URL('../kernels/', import.meta.url);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.cases.ts'))
  .sort();
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

// Devices that allow only WebGPU's default 8 storage buffers per shader stage cannot run the fused attention
// kernels; the layers then run score, softmax and aggregation as separate kernels. The same layer and whole-model
// gradient checks, on such a device.
describe('layers with separate attention kernels (a device with default limits)', () => {
  let small: Gpu;
  before(async () => {
    small = await Gpu.create({ defaultLimits: true });
  });
  after(() => small.destroy());
  test('the device cannot run the fused kernels', () =>
    assert(!canFuseAttention(small), 'expected too few storage buffers for the fused kernels'));
  const layers = suites.find(([family]) => family === 'layers')![1];
  for (const c of layers.filter((c) => /^(layer forward|whole)/.test(c.name))) test(c.name, () => c.run(small));
});
