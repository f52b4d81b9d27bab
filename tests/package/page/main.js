// Bundled by Vite in tests/node/package.test.ts from the installed package: reads an .npz as a user's File and
// trains one epoch in the browser. Sets window.result (or window.error).
import { Gpu, loadNpz, trainNodeClassifier } from 'webgpu-gat';

async function main() {
  const bytes = await (await fetch('./graph.npz')).arrayBuffer();
  const file = new File([bytes], 'graph.npz'); // what an <input type="file"> gives
  const data = loadNpz(new Uint8Array(await file.arrayBuffer()), { name: file.name });
  const gpu = await Gpu.create();
  try {
    const r = await trainNodeClassifier(gpu, data, { epochs: 1, seed: 0 });
    return {
      numNodes: data.numNodes,
      epochs: r.history.length,
      loss: r.history[0].loss,
      runtime: gpu.adapterInfo.runtime,
    };
  } finally {
    gpu.destroy();
  }
}

main().then(
  (r) => (window.result = r),
  (e) => (window.error = String(e?.stack ?? e)),
);
