// One call that trains a two-layer GAT / GATv2 on a node-classification dataset: the CLI, the demo page and
// the tests all go through here.
import type { Gpu } from '../gpu/gpu.ts';
import { GATModel, type GATModelConfig } from '../nn/model.ts';
import { uploadDataset, type GpuDataset, type NodeDataset } from './data.ts';
import { summarize, Trainer, type EpochMetrics, type TrainConfig } from './trainer.ts';

export type RunConfig = Omit<GATModelConfig, 'inChannels' | 'outChannels'> & TrainConfig & {
  /** Seeds the initialisation and every dropout mask. */
  seed?: number;
};

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
  dataset: NodeDataset,
  config: RunConfig = {},
  hooks: { onEpoch?: (epoch: number, trainer: Trainer) => void | Promise<void> } = {},
): Promise<RunResult> {
  const cfg = { ...PAPER_CONFIG, ...config };
  const data = uploadDataset(gpu, dataset);
  const model = new GATModel({ ...cfg, inChannels: dataset.numFeatures, outChannels: dataset.numClasses }).init(gpu, { seed: cfg.seed });
  const trainer = new Trainer(gpu, model, data, cfg);
  const history = await trainer.run({ onEpoch: hooks.onEpoch ? (e) => hooks.onEpoch!(e, trainer) : undefined });
  const { final, best } = summarize(history);
  return { model, data, trainer, history, final, best, medianEpochMs: trainer.medianEpochMs() };
}
