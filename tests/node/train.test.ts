// Training on Cora end to end (Node, Dawn): accuracy after a CI-sized run, bit-identical determinism,
// no allocation after the first epoch, checkpoints in PyG names, attention weights, and bad input.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPlanetoid } from '../../src/data/planetoid-node.ts';
import type { GraphDataset } from '../../src/data/planetoid.ts';
import { Gpu } from '../../src/gpu/gpu.ts';
import { loadCheckpoint, saveCheckpoint } from '../../src/io/checkpoint.ts';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors.ts';
import { GATModel } from '../../src/nn/model.ts';
import { uploadDataset } from '../../src/train/data.ts';
import { trainNodeClassifier } from '../../src/train/run.ts';
import { Trainer } from '../../src/train/trainer.ts';

let gpu: Gpu;
let cora: GraphDataset;

before(async () => {
  gpu = await Gpu.create();
  cora = await loadPlanetoid('cora', { download: false });
});
after(() => gpu.destroy());

test('30 epochs of GATv2 on Cora reach validation accuracy >= 70%', async () => {
  const r = await trainNodeClassifier(gpu, cora, { epochs: 30, seed: 0 });
  assert.ok(r.best!.valAcc! >= 0.7, `best validation accuracy ${r.best?.valAcc}`);
  assert.ok(r.history[29].loss < r.history[0].loss, 'the training loss went down');
  r.model.dispose();
  r.data.dispose();
  r.trainer.dispose();
});

test('GAT (v1) trains on Cora too', async () => {
  const r = await trainNodeClassifier(gpu, cora, { model: 'gat', epochs: 30, seed: 1 });
  assert.ok(r.best!.valAcc! >= 0.7, `best validation accuracy ${r.best?.valAcc}`);
  r.model.dispose();
  r.data.dispose();
  r.trainer.dispose();
});

test('same seed, same device: bit-identical weights after training; another seed differs', async () => {
  const run = async (seed: number) => {
    const r = await trainNodeClassifier(gpu, cora, { epochs: 5, seed });
    const w = new Uint8Array(((await r.model.params.values.read()) as Float32Array).buffer);
    r.model.dispose();
    r.data.dispose();
    r.trainer.dispose();
    return w;
  };
  const a = await run(3), b = await run(3), c = await run(4);
  assert.ok(Buffer.from(a).equals(Buffer.from(b)), 'two runs with seed 3 differ');
  assert.ok(!Buffer.from(a).equals(Buffer.from(c)), 'seeds 3 and 4 gave the same weights');
});

test('after the first epoch a training loop creates no buffers and one submit per epoch', async () => {
  const data = uploadDataset(gpu, cora);
  const model = new GATModel(gpu, { inChannels: cora.numFeatures, outChannels: cora.numClasses });
  const trainer = new Trainer(gpu, model, data, { epochs: 4 });
  await trainer.recordEpoch();
  const created = gpu.pool.created, submits = gpu.submitCount;
  for (let i = 0; i < 3; i++) await trainer.recordEpoch();
  assert.equal(gpu.pool.created, created, 'buffers created after epoch 1');
  assert.equal(gpu.submitCount - submits, 3, 'one submit per epoch');
  model.dispose();
  data.dispose();
  trainer.dispose();
});

test('checkpoint: PyG state_dict names and shapes, round trip, and clear errors', async () => {
  const a = new GATModel(gpu, { inChannels: cora.numFeatures, outChannels: 7, seed: 1 });
  const b = new GATModel(gpu, { inChannels: cora.numFeatures, outChannels: 7, seed: 2 });
  const bytes = await saveCheckpoint(a);
  const { tensors } = decodeSafetensors(bytes);
  assert.deepEqual(tensors['conv1.lin_l.weight'].shape, [64, 1433]);
  assert.deepEqual(tensors['conv1.lin_r.weight'].shape, [64, 1433]);
  assert.deepEqual(tensors['conv1.att'].shape, [1, 8, 8]);
  assert.deepEqual(tensors['conv1.bias'].shape, [64]);
  assert.deepEqual(tensors['conv2.lin_l.bias'].shape, [7]);
  assert.deepEqual(tensors['conv2.bias'].shape, [7]);
  loadCheckpoint(b, bytes);
  const wa = (await a.params.values.read()) as Float32Array, wb = (await b.params.values.read()) as Float32Array;
  assert.deepEqual(wb, wa);

  const missing = { ...tensors };
  delete missing['conv2.att'];
  assert.throws(() => loadCheckpoint(b, encodeSafetensors(missing)), /Missing key\(s\) in state_dict: "conv2\.att"/);
  const wrong = { ...tensors, 'conv1.att': { dtype: 'F32' as const, shape: [1, 4, 16], data: tensors['conv1.att'].data } };
  assert.throws(
    () => loadCheckpoint(b, encodeSafetensors(wrong)),
    /size mismatch for conv1\.att: copying a param with shape \[1, 4, 16\] from checkpoint, the shape in current model is \[1, 8, 8\]/,
  );
  a.dispose();
  b.dispose();
});

test('attention weights: one per edge and head, self loops included, summing to 1 over each node', async () => {
  const data = uploadDataset(gpu, cora);
  const model = new GATModel(gpu, { inChannels: cora.numFeatures, outChannels: 7 });
  model.forward({ gpu, training: false, step: gpu.tensor('u32', [1], [0]) }, data.features, data.graphs);
  const att = await model.conv1.attention();
  const g = data.graphs.hostGraph(true);
  assert.ok(att);
  assert.equal(g.numEdges, 10556 + 2708);
  assert.equal(att.alpha.length, g.numEdges * 8);
  assert.deepEqual(att.edgeIndex, Int32Array.from([...g.src, ...g.dst]));
  for (let i = 0; i < g.numNodes; i += 97) {
    for (let h = 0; h < 8; h++) {
      let s = 0;
      for (let k = g.rowPtr[i]; k < g.rowPtr[i + 1]; k++) s += att.alpha[k * 8 + h];
      assert.ok(Math.abs(s - 1) < 1e-5, `node ${i} head ${h}: sum ${s}`);
    }
  }
  model.dispose();
  data.dispose();
});

test('bad input is refused with errors that name the problem', () => {
  const bad = structuredClone(cora) as GraphDataset;
  bad.labels[17] = 9;
  assert.throws(() => uploadDataset(gpu, bad), /label 9 at node 17 is out of range for 7 classes/);
  const dense = { ...cora, features: new Float32Array(cora.numNodes * 4), numFeatures: 4 };
  dense.features[4 * 5 + 2] = NaN;
  assert.throws(() => uploadDataset(gpu, dense), /NaN .* node 5, feature 2/);
  const outOfRange = { ...cora, edgeIndex: Int32Array.from([0, 1, 2, 5000, 1, 0]) };
  assert.throws(
    () => uploadDataset(gpu, outOfRange),
    /destination index 5000 at edge 0 is out of range for 2708 nodes/,
  );
  const negative = { ...cora, edgeIndex: Int32Array.from([0, -1, 1, 0]) };
  assert.throws(() => uploadDataset(gpu, negative), /source index -1 at edge 1 is negative/);
  const odd = { ...cora, edgeIndex: Int32Array.from([0, 1, 2]) };
  assert.throws(() => uploadDataset(gpu, odd), /edge_index has the wrong shape/);
  assert.throws(() => new GATModel(gpu, { inChannels: 0, outChannels: 7 }), /inChannels must be a positive integer/);
});
