// One call that trains a two-layer GAT / GATv2 on a node-classification dataset: the CLI, the demo page and
// the tests all go through here.
import type { Gpu } from '../gpu/gpu.ts';
import { GATModel, type GATModelConfig } from '../nn/model.ts';
import { Data } from '../data/data.ts';
import { uploadDataset, type GpuDataset, type NodeDataset } from './data.ts';
import { summarize, Trainer, type EpochMetrics, type TrainConfig } from './trainer.ts';

export type RunConfig = Omit<GATModelConfig, 'inChannels' | 'outChannels'> & TrainConfig;

export interface RunResult {
  model: GATModel;
  data: GpuDataset;
  trainer: Trainer;
  history: EpochMetrics[];
  final: EpochMetrics;
  /** The epoch with the best validation accuracy (the first, on ties), and its test accuracy. */
  best: EpochMetrics;
  medianEpochMs: number;
}

/** The paper configuration (Velickovic et al. 2018, as PyG's examples/gat.py). */
export const PAPER_CONFIG: Required<Pick<RunConfig, 'model' | 'heads' | 'hiddenChannels' | 'dropout' | 'lr' | 'weightDecay' | 'epochs' | 'seed'>> = {
  model: 'gatv2', heads: 8, hiddenChannels: 8, dropout: 0.6, lr: 0.005, weightDecay: 5e-4, epochs: 200, seed: 0,
};

export async function trainNodeClassifier(
  gpu: Gpu,
  dataset: NodeDataset | Data,
  config: RunConfig = {},
  hooks: { onEpoch?: (epoch: number, trainer: Trainer) => void | Promise<void> } = {},
): Promise<RunResult> {
  const cfg = { ...PAPER_CONFIG, ...config };
  const data = dataset instanceof Data ? uploadLabelled(gpu, dataset) : uploadDataset(gpu, dataset);
  const model = new GATModel(gpu, { ...cfg, inChannels: dataset.numFeatures, outChannels: dataset.numClasses });
  const trainer = new Trainer(gpu, model, data, cfg);
  const history = await trainer.run({ onEpoch: hooks.onEpoch ? (e) => hooks.onEpoch!(e, trainer) : undefined });
  const { final, best } = summarize(history);
  return { model, data, trainer, history, final, best, medianEpochMs: trainer.medianEpochMs() };
}

function uploadLabelled(gpu: Gpu, data: Data): GpuDataset {
  if (!(data.y instanceof Int32Array)) {
    throw new Error('trainNodeClassifier: the Data needs class labels (y as an Int32Array) to train a node classifier');
  }
  return data.to(gpu) as GpuDataset;
}
