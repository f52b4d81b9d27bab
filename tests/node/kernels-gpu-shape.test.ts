// The kernels that come in two shapes, checked a second time on a device forced to the GPU shapes
// (`Gpu.create({ kernels: 'gpu' })`): on SwiftShader the default picks the CPU shapes, which kernels.test.ts checks.
// The same float64 references and tolerances; tests/kernels/gpu-shapes.ts says which cases.
import { after, before, describe, test } from 'node:test';
import { Gpu } from '../../src/gpu/gpu.ts';
import type { Kernel } from '../../src/gpu/kernel.ts';
import { matmul } from '../../src/kernels/matmul.ts';
import { columnSum } from '../../src/kernels/reduce.ts';
import { spmm, uploadSparse } from '../../src/kernels/spmm.ts';
import { gpuShapeSuites } from '../kernels/gpu-shapes.ts';
import { assert } from '../kernels/harness.ts';

let gpu: Gpu;
before(async () => {
  gpu = await Gpu.create({ kernels: 'gpu', log: () => {} });
});
after(() => gpu.destroy());

test('the device runs the GPU shapes: spmm, matmul and columnSum dispatch their GPU kernels', async () => {
  assert(gpu.kernelShape === 'gpu', `kernelShape is ${gpu.kernelShape}`);
  const names: string[] = [];
  const dispatch = gpu.dispatch.bind(gpu);
  gpu.dispatch = (k: Kernel, call) => (names.push(k.name), dispatch(k, call));
  try {
    const a = uploadSparse(gpu, {
      rows: 2,
      cols: 2,
      rowPtr: Uint32Array.of(0, 1, 2),
      colIdx: Uint32Array.of(1, 0),
      values: Float32Array.of(1, 2),
    });
    const b = gpu.tensor('f32', [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
    const y = spmm(gpu, a, b);
    const c = matmul(gpu, b, b, { transB: true });
    const s = columnSum(gpu, b);
    assert(Array.from(await y.read()).join() === '5,6,7,8,2,4,6,8', 'spmm result');
    [a, b, y, c, s].forEach((t) => t.dispose());
  } finally {
    gpu.dispatch = dispatch;
  }
  assert(names.join() === 'spmm.rows,matmul.tiled,column_sum.blocks', `dispatched ${names.join()}`);
});

for (const [family, cases] of gpuShapeSuites) {
  describe(`gpu shape: ${family}`, () => {
    for (const c of cases) test(c.name, () => c.run(gpu));
  });
}

// The fused attention's GPU shape reduces with subgroup operations where the device has them (SwiftShader does);
// the workgroup-memory reductions that stand in elsewhere, on a device asked for no subgroups (forward and both
// backward passes: the picked cases run all three).
describe('gpu shape without subgroups: fused attention', () => {
  let plain: Gpu;
  before(async () => {
    plain = await Gpu.create({ kernels: 'gpu', subgroups: false, log: () => {} });
  });
  after(() => plain.destroy());
  const attend = gpuShapeSuites.find(([family]) => family === 'attend')![1];
  const picked = attend.filter((c) =>
    /^(GATv2 fused attention with dropout|GAT fused attention matches|awkward graphs)/.test(c.name),
  );
  test('the device has no subgroups', () =>
    assert(!plain.hasSubgroups && picked.length === 3, 'expected no subgroups and 3 cases'));
  for (const c of picked) test(c.name, () => c.run(plain));
  const names = gpuShapeSuites
    .find(([family]) => family === 'attend backward')![1]
    .find((c) => /dispatches/.test(c.name))!;
  test(names.name, () => names.run(plain));
});
