// Graph-classification accuracy: k-fold stratified cross-validation of the GATv2 graph classifier on a TU dataset
// (the flags of `npm run train -- --task graph`). Prints the per-fold table and writes
// bench/results/accuracy-graph-<dataset>.json (-no-edge-features.json with --no-edge-features on a dataset that has
// edge features).
//   npm run accuracy -- --task graph --dataset MUTAG [--epochs 100] [--pool add] [--no-edge-features]
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseGraphTrainArgs, GRAPH_HELP } from '../src/cli/graph-train-options.ts';
import { formatGraphResult } from '../src/cli/train-graph.ts';
import { loadTUDataset } from '../src/data/tu-node.ts';
import { Gpu } from '../src/gpu/gpu.ts';
import { trainGraphClassifier } from '../src/train/graph.ts';

export async function main(argv: readonly string[]): Promise<void> {
  const a = parseGraphTrainArgs(argv);
  if (a.help) return console.log(GRAPH_HELP);
  const ds = await loadTUDataset(a.dataset, {
    root: a.dataDir,
    useNodeAttr: a.useNodeAttr,
    log: (m) => console.error(m),
  });
  const gpu = await Gpu.create();
  try {
    const started = performance.now();
    const r = await trainGraphClassifier(gpu, ds, a.config, {
      onEpoch:
        a.logEvery > 0
          ? (fold, epoch, m) => {
              if ((epoch + 1) % a.logEvery === 0)
                console.error(
                  `fold ${fold} epoch ${epoch + 1}: loss ${m.trainLoss.toFixed(4)} train ` +
                    `${(100 * m.trainAcc).toFixed(1)}% test ${(100 * m.testAcc).toFixed(1)}%`,
                );
            }
          : undefined,
    });
    const device = `${gpu.adapterInfo.vendor} ${gpu.adapterInfo.architecture} ${gpu.adapterInfo.description}`.trim();
    console.log(formatGraphResult(a.dataset, r));
    mkdirSync('bench/results', { recursive: true });
    // A dataset with edge features measured without them gets a file of its own beside the default run's.
    const variant = ds.numEdgeFeatures > 0 && !a.edgeFeatures ? '-no-edge-features' : '';
    const file = `bench/results/accuracy-graph-${a.dataset.toLowerCase()}${variant}.json`;
    const out = {
      command: `npm run accuracy -- ${argv.join(' ')}`,
      dataset: a.dataset,
      device,
      date: new Date().toISOString(),
      protocol:
        'k-fold stratified CV; best = mean ± std over folds of the test accuracy at the epoch with the best mean ' +
        'test accuracy over folds (GIN paper); final = the same at the last epoch; std is the population std over ' +
        'folds',
      best: r.best,
      final: r.final,
      medianEpochMs: r.medianEpochMs,
      wallSeconds: (performance.now() - started) / 1000,
      config: r.config,
      folds: r.folds.map((f) => ({
        fold: f.fold,
        trainGraphs: f.trainGraphs,
        testGraphs: f.testGraphs,
        testAcc: f.testAcc,
        trainAcc: f.trainAcc,
        trainLoss: f.trainLoss,
        medianEpochMs: f.medianEpochMs,
      })),
    };
    writeFileSync(file, JSON.stringify(out, null, 1) + '\n');
    console.error(`wrote ${file}`);
  } finally {
    gpu.destroy();
  }
}
