// One call that trains a two-layer GAT / GATv2 on a node-classification dataset: the CLI, the demo page and
// the tests all go through here.
import type { Gpu } from '../gpu/gpu.ts';
import { GATModel, type GATModelConfig } from '../nn/model.ts';
import { Data } from '../data/data.ts';
import { checkTrainingFits } from './budget.ts';
import { disposeAll, releaseOnThrow } from './cleanup.ts';
import { uploadDataset, type GpuDataset, type NodeDataset } from './data.ts';
import { checkTrainingSplits, resolveRunOptions, splitCounts } from './options.ts';
import { summarize, Trainer, type EpochMetrics, type TrainConfig } from './trainer.ts';

export type RunConfig = Omit<GATModelConfig, 'inChannels' | 'outChannels'> &
  TrainConfig & {
    /**
     * Bytes of GPU memory the run may take in all. The need is estimated before anything is uploaded (inputs,
     * parameters, Adam state, activations, backward workspaces and scratch; see budget.ts) and a run above the budget
     * is refused. Default: no total limit (each tensor is still checked against the device's buffer limits).
     */
    memoryBudget?: number;
  };

export interface RunResult {
  model: GATModel;
  data: GpuDataset;
  trainer: Trainer;
  history: EpochMetrics[];
  final: EpochMetrics;
  /** The epoch with the best validation accuracy (the first, on ties), and its test accuracy; null without
   * validation. */
  best: EpochMetrics | null;
  medianEpochMs: number;
}

/** The paper configuration (Velickovic et al. 2018, as PyG's examples/gat.py). */
export const PAPER_CONFIG: Required<
  Pick<RunConfig, 'model' | 'heads' | 'hiddenChannels' | 'dropout' | 'lr' | 'weightDecay' | 'epochs' | 'seed'>
> = {
  model: 'gatv2',
  heads: 8,
  hiddenChannels: 8,
  dropout: 0.6,
  lr: 0.005,
  weightDecay: 5e-4,
  epochs: 200,
  seed: 0,
};

export async function trainNodeClassifier(
  gpu: Gpu,
  dataset: NodeDataset | Data,
  config: RunConfig = {},
  hooks: { onEpoch?: (epoch: number, trainer: Trainer) => void | Promise<void> } = {},
): Promise<RunResult> {
  // Refusals come first, before anything is uploaded: options, splits, then the device's limits.
  const cfg = resolveRunOptions(config);
  if (dataset instanceof Data && !(dataset.y instanceof Int32Array)) {
    throw new Error('trainNodeClassifier: the Data needs class labels (y as an Int32Array) to train a node classifier');
  }
  checkTrainingSplits({ numNodes: dataset.numNodes, counts: splitCounts(dataset) }, cfg);
  checkTrainingFits(gpu, dataset, cfg);
  const { data, model, trainer } = releaseOnThrow(gpu, () => {
    const data = dataset instanceof Data ? dataset.to(gpu) : uploadDataset(gpu, dataset);
    const model = new GATModel({ ...cfg, inChannels: dataset.numFeatures, outChannels: dataset.numClasses }).init(gpu);
    return { data, model, trainer: new Trainer(gpu, model, data, cfg) };
  });
  try {
    const history = await trainer.run({ onEpoch: hooks.onEpoch ? (e) => hooks.onEpoch!(e, trainer) : undefined });
    const { final, best } = summarize(history);
    return { model, data, trainer, history, final, best, medianEpochMs: trainer.medianEpochMs() };
  } catch (err) {
    disposeAll(data, model, trainer); // a failed run (a diverging loss, a failing hook, a device error) keeps nothing
    throw err;
  }
}
