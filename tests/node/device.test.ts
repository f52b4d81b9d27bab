// Node specifics of the device: waiting for the GPU must leave the CPU to the driver (the `webgpu` package polls
// with setImmediate; device.ts runs its native callbacks from a 1 ms timer), and JavaScript setImmediate callbacks
// keep their timing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Gpu } from '../../src/gpu/gpu.ts';
import { matmul } from '../../src/kernels/matmul.ts';

let gpu: Gpu;
before(async () => {
  gpu = await Gpu.create();
});
after(() => gpu.destroy());

/** CPU milliseconds the main thread has used (Linux: /proc, utime + stime in clock ticks of 10 ms). */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

test('waiting for the GPU leaves the main thread mostly idle', { skip: process.platform !== 'linux' }, async () => {
  const n = 384;
  const a = gpu.tensor(
    'f32',
    [n, n],
    Float32Array.from({ length: n * n }, (_, i) => (i % 7) - 3),
  );
  const out = gpu.empty('f32', [n, n]);
  matmul(gpu, a, a, { out });
  await gpu.sync(); // compiles the pipeline
  // Enough work for the wait to last a while on any device; on a CPU driver about a second.
  const t0 = performance.now();
  for (let i = 0; i < 10; i++) matmul(gpu, a, a, { out });
  await gpu.sync();
  const reps = Math.max(10, Math.min(400, Math.round((10 * 800) / Math.max(1, performance.now() - t0))));
  for (let i = 0; i < reps; i++) matmul(gpu, a, a, { out });
  gpu.flush();
  const cpu0 = mainThreadCpuMs();
  const wall0 = performance.now();
  await gpu.done();
  const wall = performance.now() - wall0;
  const cpu = mainThreadCpuMs() - cpu0;
  assert.ok(wall < 200 || cpu < 0.5 * wall, `main thread busy ${cpu} ms of a ${wall.toFixed(0)} ms wait`);
  [a, out].forEach((t) => t.dispose());
});

test('JavaScript setImmediate callbacks still run before timers', async () => {
  const order: string[] = [];
  await new Promise<void>((resolve) => {
    setTimeout(() => (order.push('timeout'), resolve()), 5);
    setImmediate(() => order.push('immediate'));
  });
  assert.deepEqual(order, ['immediate', 'timeout']);
});

// Where the machine has no GPU, the system Vulkan drivers are not probed: Dawn's warning about Mesa's lavapipe and
// the loader's "no GPU" message would come before every SwiftShader fallback, and nobody can act on them.
const noGpuNode =
  process.platform === 'linux' &&
  !existsSync('/dev/dxg') &&
  !(existsSync('/dev/dri') && readdirSync('/dev/dri').some((n) => n.startsWith('renderD'))) &&
  !readdirSync('/dev').some((n) => /^nvidia\d+$/.test(n)) &&
  !process.env.VK_ICD_FILENAMES &&
  !process.env.VK_DRIVER_FILES;
// As at start-up: acquiring the device in this process points VK_ICD_FILENAMES at SwiftShader.
const startEnv = { ...process.env };

test('without a GPU, a Node run prints the SwiftShader line and no driver warning', { skip: !noGpuNode }, () => {
  const script = "const { Gpu } = await import('./src/gpu/gpu.ts'); (await Gpu.create()).destroy();";
  const args = ['--import', 'tsx', '--import', './tools/wgsl-loader.mjs', '--input-type=module', '-e', script];
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', env: startEnv });
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.deepEqual(lines, [lines.find((l) => l.startsWith('webgpu-gat: no GPU adapter found; using SwiftShader'))]);
});

// ---- the kernel shape chosen from the adapter ----

test(
  'the kernel shape: CPU drivers and fallback adapters get the CPU shapes, GPUs the GPU shapes, an option ' + 'forces',
  async () => {
    const { kernelShapeFor } = await import('../../src/gpu/device.ts');
    const base = { vendor: '', architecture: '', device: '', description: '', isFallbackAdapter: false };
    assert.equal(
      kernelShapeFor({ ...base, vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' }),
      'gpu',
    );
    assert.equal(kernelShapeFor({ ...base, vendor: 'amd', architecture: 'rdna-3' }), 'gpu');
    assert.equal(kernelShapeFor({ ...base, vendor: 'google', architecture: 'swiftshader' }), 'cpu');
    assert.equal(kernelShapeFor({ ...base, vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }), 'cpu');
    assert.equal(kernelShapeFor({ ...base, description: 'lavapipe' }), 'cpu');
    assert.equal(kernelShapeFor({ ...base, vendor: 'nvidia', isFallbackAdapter: true }), 'cpu');
    assert.equal(kernelShapeFor({ ...base, vendor: 'google', architecture: 'swiftshader' }, 'gpu'), 'gpu');
    assert.equal(kernelShapeFor({ ...base, vendor: 'nvidia' }, 'cpu'), 'cpu');
    assert.equal(gpu.kernelShape, kernelShapeFor(gpu.adapterInfo), 'the default is auto');
    await assert.rejects(
      Gpu.create({ kernels: 'fast' as never }),
      /kernels must be 'gpu', 'cpu' or 'auto', got 'fast'/,
    );
    const forced = await Gpu.create({ kernels: 'gpu', subgroups: false, log: () => {} });
    try {
      assert.equal(forced.kernelShape, 'gpu');
      assert.equal(forced.hasSubgroups, false);
    } finally {
      forced.destroy();
    }
  },
);
