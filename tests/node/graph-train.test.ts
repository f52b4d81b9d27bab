// A short graph-classification run on MUTAG (one fold of the 10-fold stratified split, fold seed 0): the
// GATv2 graph classifier must reach at least 75% test accuracy on that fold's 19 test graphs (the majority class is
// 63%), with the training loss falling. The run is seeded (folds, initialisation, shuffle), so it is the same each
// time.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTUDataset } from '../../src/data/tu-node.ts';
import { Gpu } from '../../src/gpu/gpu.ts';
import { trainGraphClassifier } from '../../src/train/graph.ts';

let gpu: Gpu;
before(async () => {
  gpu = await Gpu.create();
});
after(() => gpu.destroy());

const FOLD = Number(process.env.GRAPH_CI_FOLD ?? 0);
const EPOCHS = Number(process.env.GRAPH_CI_EPOCHS ?? 15);

test(`MUTAG fold ${FOLD}, ${EPOCHS} epochs: test accuracy >= 75% at the final epoch`, async () => {
  const ds = await loadTUDataset('MUTAG');
  const r = await trainGraphClassifier(gpu, ds, { epochs: EPOCHS, onlyFolds: [FOLD], lr: 0.01, dropout: 0 });
  const f = r.folds[0];
  assert.equal(f.testGraphs + f.trainGraphs, 188);
  assert.ok(
    f.testAcc.every((a) => a >= 0 && a <= 1) && f.trainLoss.every(Number.isFinite),
    'metrics read back for every epoch',
  );
  const last = f.testAcc[EPOCHS - 1];
  assert.ok(
    last >= 0.75,
    `final test accuracy ${(100 * last).toFixed(1)}% (per epoch: ` +
      `${f.testAcc.map((a) => (100 * a).toFixed(0)).join(' ')})`,
  );
  assert.ok(f.trainLoss[EPOCHS - 1] < f.trainLoss[0], 'the training loss decreases');
});
