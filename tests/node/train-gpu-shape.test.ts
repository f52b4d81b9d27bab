// Training on Cora with the kernels' GPU shapes (`Gpu.create({ kernels: 'gpu' })`; on SwiftShader the default is
// the CPU shapes, which train.test.ts trains with): the same accuracy threshold, and the same seed gives
// bit-identical weights run to run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPlanetoid } from '../../src/data/planetoid-node.ts';
import type { GraphDataset } from '../../src/data/planetoid.ts';
import { Gpu } from '../../src/gpu/gpu.ts';
import { trainNodeClassifier } from '../../src/train/run.ts';
import { disposeRun, weightsAfter } from '../helpers/runs.ts';

let gpu: Gpu;
let cora: GraphDataset;

before(async () => {
  gpu = await Gpu.create({ kernels: 'gpu', log: () => {} });
  cora = await loadPlanetoid('cora', { download: false });
});
after(() => gpu.destroy());

test('GPU kernel shapes: 30 epochs of GATv2 on Cora reach validation accuracy >= 70%', async () => {
  assert.equal(gpu.kernelShape, 'gpu');
  const r = await trainNodeClassifier(gpu, cora, { epochs: 30, seed: 0 });
  assert.ok(r.best!.valAcc! >= 0.7, `best validation accuracy ${r.best?.valAcc}`);
  assert.ok(r.history[29].loss < r.history[0].loss, 'the training loss went down');
  disposeRun(r);
});

test('GPU kernel shapes: the same seed gives bit-identical weights', async () => {
  const run = (seed: number) => weightsAfter(gpu, cora, { epochs: 2, seed });
  const a = await run(3),
    b = await run(3);
  assert.ok(Buffer.from(a).equals(Buffer.from(b)), 'two runs with seed 3 differ');
});
