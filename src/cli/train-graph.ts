// `npm run train -- --task graph`: k-fold cross-validation of the GATv2 graph classifier on a TU dataset.
import { loadTUDataset } from '../data/tu-node.ts';
import { Gpu } from '../gpu/gpu.ts';
import { trainGraphClassifier, type GraphCVResult } from '../train/graph.ts';
import { GRAPH_HELP, parseGraphTrainArgs } from './graph-train-options.ts';

const pct = (x: number) => (100 * x).toFixed(1);

/** The per-fold table and the two summaries, as printed. */
export function formatGraphResult(name: string, r: GraphCVResult): string {
  const lines = [`fold  train  test  acc@best-mean-epoch  acc@final-epoch  ms/epoch`];
  for (const f of r.folds) {
    lines.push(
      `${String(f.fold).padStart(4)}  ${String(f.trainGraphs).padStart(5)}  ${String(f.testGraphs).padStart(4)}  ` +
        `${pct(f.testAcc[r.best.epoch - 1]).padStart(18)}%  ${pct(f.testAcc[f.testAcc.length - 1]).padStart(14)}%  ` +
        `${f.medianEpochMs.toFixed(0).padStart(8)}`,
    );
  }
  lines.push(
    `${name}, ${r.folds.length} of ${r.config.folds} folds, ${r.config.epochs} epochs:`,
    `  test accuracy at the epoch with the best mean over folds (epoch ${r.best.epoch}): ${pct(r.best.mean)} ± ` +
      `${pct(r.best.std)}%`,
    `  test accuracy at the final epoch: ${pct(r.final.mean)} ± ${pct(r.final.std)}%`,
    `  ${r.medianEpochMs.toFixed(0)} ms per epoch (median over folds)`,
  );
  return lines.join('\n');
}

export async function trainGraphTask(argv: readonly string[]): Promise<void> {
  const a = parseGraphTrainArgs(argv);
  if (a.help) {
    console.log(GRAPH_HELP);
    return;
  }
  const ds = await loadTUDataset(a.dataset, {
    root: a.dataDir,
    useNodeAttr: a.useNodeAttr,
    log: (m) => console.error(m),
  });
  const gpu = await Gpu.create();
  try {
    const info = gpu.adapterInfo;
    console.error(
      `device: ${info.vendor} ${info.architecture} ` +
        `${info.description}${info.isFallbackAdapter ? ' (fallback adapter)' : ''}`,
    );
    const D = ds.numEdgeFeatures;
    const edges = !D ? '' : a.edgeFeatures ? `, ${D} edge features in attention` : `, ${D} edge features unused`;
    console.error(
      `${a.dataset}: ${ds.graphs.length} graphs, ${ds.numFeatures} node features, ${ds.numClasses} classes${edges}`,
    );
    const r = await trainGraphClassifier(
      gpu,
      ds,
      a.config,
      a.logEvery > 0
        ? {
            onEpoch: (fold, epoch, m) => {
              if ((epoch + 1) % a.logEvery === 0)
                console.error(
                  `fold ${fold} epoch ${String(epoch + 1).padStart(4)}  loss ${m.trainLoss.toFixed(4)}  train ` +
                    `${pct(m.trainAcc)}%  test ${pct(m.testAcc)}%`,
                );
            },
          }
        : {},
    );
    if (a.json) console.log(JSON.stringify({ dataset: a.dataset, ...r }, null, 2));
    else console.log(formatGraphResult(a.dataset, r));
  } finally {
    gpu.destroy();
  }
}
