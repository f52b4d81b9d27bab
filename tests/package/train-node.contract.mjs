// NOT RUN YET: the same check written against the composable model API (Module, Sequential, Linear, Adam, ...,
// see README "Using the library"); tests/node/package.test.ts switches to it once that API is exported.
// A 3-layer GATv2 with a residual and a Linear head, trained on Cora for 30 epochs. Prints one JSON line.
//   node train-node.contract.mjs <planetoid dir>
import { Adam, Data, ELU, GATv2Conv, Gpu, Linear, Module, add, crossEntropy } from 'webgpu-gat';
import { loadPlanetoid } from 'webgpu-gat/node';

const cora = await loadPlanetoid('cora', { root: process.argv[2], download: false });
const data = new Data({
  x: cora.features,
  edgeIndex: cora.edgeIndex,
  y: cora.labels,
  numClasses: cora.numClasses,
  trainMask: cora.trainMask,
  valMask: cora.valMask,
  testMask: cora.testMask,
});

class Net extends Module {
  conv1 = new GATv2Conv(data.numFeatures, 8, { heads: 8, dropout: 0.6 });
  conv2 = new GATv2Conv(64, 8, { heads: 8, dropout: 0.6 });
  conv3 = new GATv2Conv(64, 16, { heads: 1 });
  act = new ELU();
  lin = new Linear(16, data.numClasses);
  forward(x, graph) {
    const h1 = this.act.forward(this.conv1.forward(x, graph));
    const h2 = this.act.forward(add(this.conv2.forward(h1, graph), h1)); // residual
    return this.lin.forward(this.act.forward(this.conv3.forward(h2, graph)));
  }
}

const gpu = await Gpu.create({ log: () => {} });
try {
  const batch = data.to(gpu);
  const model = new Net();
  model.init(gpu, { seed: 0 });
  const opt = new Adam(model.parameters(), { lr: 0.005, weightDecay: 5e-4 });
  let bestValAcc = 0;
  for (let epoch = 0; epoch < 30; epoch++) {
    model.train();
    opt.zeroGrad();
    const loss = crossEntropy(model.forward(batch.x, batch.graph), batch.y, { mask: batch.trainMask });
    loss.backward();
    opt.step();
    gpu.flush();
    model.eval();
    const pred = await model.predict(batch.x, batch.graph);
    let right = 0;
    for (let i = 0; i < data.numNodes; i++) if (data.valMask[i] && pred[i] === data.y[i]) right++;
    bestValAcc = Math.max(bestValAcc, right / batch.counts.val);
  }
  console.log(JSON.stringify({ bestValAcc, epochs: 30, resolved: import.meta.resolve('webgpu-gat') }));
} finally {
  gpu.destroy();
}
