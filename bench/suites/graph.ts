// A graph-classification training epoch on MUTAG: the GATv2 graph classifier's defaults (3 GATv2Conv layers of 4
// heads x 16, residual, jumping knowledge, sum readout, MLP head), batch 32, one fold of the 10-fold split (170
// training graphs in 6 steps of one submit each, then the 18 or 19 test graphs). Per epoch: training and test pass,
// to the end of the GPU's work (a readback of the epoch's metrics ends each epoch). Median over epochs after warmup.
import { loadTUDataset } from '../../src/data/tu-node.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { trainGraphClassifier } from '../../src/train/graph.ts';
import { median } from '../report.ts';

export interface GraphEpochOptions {
  warmup: number;
  epochs: number;
}

export const MUTAG_FULL: GraphEpochOptions = { warmup: 2, epochs: 12 };
export const MUTAG_QUICK: GraphEpochOptions = { warmup: 1, epochs: 4 };

export interface GraphEpochResult {
  dataset: 'MUTAG';
  batchSize: number;
  trainGraphs: number;
  testGraphs: number;
  epochs: number;
  msPerEpoch: number;
  samples: number[];
}

export async function graphEpochs(
  gpu: Gpu,
  o: GraphEpochOptions,
  log: (m: string) => void = () => {},
): Promise<GraphEpochResult> {
  const ds = await loadTUDataset('MUTAG', { log });
  const times: number[] = [];
  let last = performance.now();
  const r = await trainGraphClassifier(
    gpu,
    ds,
    { epochs: o.warmup + o.epochs, onlyFolds: [0], batchSize: 32 },
    {
      onEpoch: (_fold, epoch) => {
        const now = performance.now();
        if (epoch >= o.warmup) times.push(now - last);
        last = now;
      },
    },
  );
  const f = r.folds[0];
  return {
    dataset: 'MUTAG',
    batchSize: 32,
    trainGraphs: f.trainGraphs,
    testGraphs: f.testGraphs,
    epochs: o.epochs,
    msPerEpoch: median(times),
    samples: times,
  };
}

export function graphEpochTable(deviceLabel: string, r: GraphEpochResult): string {
  return [
    `## Graph classification epoch (MUTAG, batch ${r.batchSize}), ${deviceLabel}`,
    '',
    '| dataset | train graphs | test graphs | steps per epoch | ms per epoch (median of ' + r.epochs + ') |',
    '|---|---:|---:|---:|---:|',
    `| ${r.dataset} | ${r.trainGraphs} | ${r.testGraphs} | ${Math.ceil(r.trainGraphs / r.batchSize)} | ${r.msPerEpoch.toFixed(1)} |`,
    '',
  ].join('\n');
}
