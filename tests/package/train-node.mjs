// Run by tests/node/package.test.ts inside a fresh project where the packed package is installed: Node trains on
// Cora through the package's public entries only. Prints one JSON line.
//   node train-node.mjs <planetoid dir>
import { Gpu, trainNodeClassifier } from 'webgpu-gat';
import { loadPlanetoid } from 'webgpu-gat/node';

const cora = await loadPlanetoid('cora', { root: process.argv[2], download: false });
const gpu = await Gpu.create({ log: () => {} });
try {
  // Today's API: the paper's two-layer GATv2 with residual connections, 30 epochs.
  const r = await trainNodeClassifier(gpu, cora, { model: 'gatv2', residual: true, epochs: 30, seed: 0 });
  console.log(
    JSON.stringify({
      bestValAcc: r.best.valAcc,
      epochs: r.history.length,
      resolved: import.meta.resolve('webgpu-gat'),
    }),
  );
} finally {
  gpu.destroy();
}
