// The kernel suites of the kernels that come in two shapes (tests/kernels/{spmm,matmul,reduce}.cases.ts), run a
// second time on a device forced to the GPU shapes (`Gpu.create({ kernels: 'gpu' })`): on SwiftShader the default
// picks the CPU shapes, which tests/node/kernels.test.ts checks. The same float64 references and tolerances.
import { after, before, describe, test } from 'node:test';
import { Gpu } from '../../src/gpu/gpu.ts';
import { assert, type KernelCase } from '../kernels/harness.ts';

/** The suites whose kernels have a GPU shape. */
const GPU_SHAPED_SUITES = ['reduce'];

const dir = new URL('../kernels/', import.meta.url);
const suites: [string, KernelCase[]][] = [];
for (const s of GPU_SHAPED_SUITES) suites.push([s, (await import(new URL(`${s}.cases.ts`, dir).href)).cases]);

let gpu: Gpu;
before(async () => {
  gpu = await Gpu.create({ kernels: 'gpu', log: () => {} });
});
after(() => gpu.destroy());

test('the device runs the GPU shapes', () => assert(gpu.kernelShape === 'gpu', `kernelShape is ${gpu.kernelShape}`));

for (const [family, cases] of suites) {
  describe(`gpu shape: ${family}`, () => {
    for (const c of cases) test(c.name, () => c.run(gpu));
  });
}
