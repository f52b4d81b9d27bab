// Accuracy over seeds: the paper configuration (8 heads x 8 hidden, dropout 0.6, Adam 0.005 / 5e-4, 200 epochs)
// on a Planetoid dataset, one run per seed. Prints a markdown table and writes bench/results/accuracy-*.json.
//   npm run accuracy -- [--dataset cora] [--model gatv2] [--seeds 10]
//   npm run accuracy -- --task graph --dataset MUTAG|PROTEINS|ENZYMES (see bench/accuracy-graph.ts)
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadPlanetoid } from '../src/data/planetoid-node.ts';
import type { PlanetoidName } from '../src/data/planetoid.ts';
import { Gpu } from '../src/gpu/gpu.ts';
import { trainNodeClassifier } from '../src/train/run.ts';
import { taskOf } from '../src/cli/graph-train-options.ts';

// --task graph: k-fold cross-validation of the graph classifier on a TU dataset (bench/accuracy-graph.ts).
if (taskOf(process.argv.slice(2)) === 'graph') {
  await (await import('./accuracy-graph.ts')).main(process.argv.slice(2));
  process.exit(0);
}

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'cora' },
    model: { type: 'string', default: 'gatv2' },
    seeds: { type: 'string', default: '10' },
  },
});
const dataset = values.dataset as PlanetoidName;
const model = values.model as 'gatv2' | 'gat';
const seeds = Number(values.seeds);

const data = await loadPlanetoid(dataset);
const gpu = await Gpu.create();
const rows: {
  seed: number;
  finalTest: number;
  bestVal: number;
  bestEpoch: number;
  bestTest: number;
  msPerEpoch: number;
}[] = [];
for (let seed = 0; seed < seeds; seed++) {
  const r = await trainNodeClassifier(gpu, data, { model, seed });
  const best = r.best!; // Planetoid splits always have validation and test nodes
  rows.push({
    seed,
    finalTest: r.final.testAcc!,
    bestVal: best.valAcc!,
    bestEpoch: best.epoch,
    bestTest: best.testAcc!,
    msPerEpoch: r.medianEpochMs,
  });
  console.error(
    `seed ${seed}: final test ${(100 * r.final.testAcc!).toFixed(1)}%, best-val test ` +
      `${(100 * best.testAcc!).toFixed(1)}% (epoch ${best.epoch})`,
  );
  r.model.dispose();
  r.data.dispose();
  r.trainer.dispose();
}
const stats = (xs: number[]) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return { mean, sd };
};
const fin = stats(rows.map((r) => r.finalTest));
const best = stats(rows.map((r) => r.bestTest));
const device = `${gpu.adapterInfo.vendor} ${gpu.adapterInfo.architecture} ${gpu.adapterInfo.description}`.trim();
console.log(`\n${model} on ${dataset}, ${seeds} seeds, paper configuration, device: ${device}\n`);
console.log('| seed | final test acc | best val acc (epoch) | test acc at best val |');
console.log('|---:|---:|---:|---:|');
for (const r of rows)
  console.log(
    `| ${r.seed} | ${(100 * r.finalTest).toFixed(1)}% | ${(100 * r.bestVal).toFixed(1)}% (${r.bestEpoch}) | ` +
      `${(100 * r.bestTest).toFixed(1)}% |`,
  );
console.log(
  `| mean ± sd | ${(100 * fin.mean).toFixed(2)} ± ${(100 * fin.sd).toFixed(2)}% | | ` +
    `${(100 * best.mean).toFixed(2)} ± ${(100 * best.sd).toFixed(2)}% |`,
);
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  `bench/results/accuracy-${model}-${dataset}.json`,
  JSON.stringify({ model, dataset, device, finalTest: fin, bestValTest: best, runs: rows }, null, 2) + '\n',
);
gpu.destroy();
process.exit(0);
