// One training run on the page's GPU: the dataset on the device, the model, the trainer. GPU work from the
// training loop and from the attention view goes through one queue, so nothing is recorded mid-epoch.
import type { GraphDataset } from '../src/data/planetoid.ts';
import type { Gpu } from '../src/gpu/gpu.ts';
import type { KernelSummary } from '../src/gpu/profiler.ts';
import type { Graph } from '../src/graph.ts';
import { GATModel } from '../src/nn/model.ts';
import { uploadDataset, type GpuDataset } from '../src/train/data.ts';
import { Trainer, type EpochMetrics } from '../src/train/trainer.ts';
import type { DemoConfig } from './controls.ts';

/** What the attention view shows: predictions of an evaluation pass and its first-layer attention. */
export interface Inspection {
  epoch: number;
  predictions: Int32Array;
  /** [E, heads] in the CSR order of `graph` (incoming edges of node i at rowPtr[i] .. rowPtr[i+1]-1). */
  alpha: Float32Array;
  heads: number;
  graph: Graph;
}

export class TrainingSession {
  readonly data: GpuDataset;
  readonly model: GATModel;
  readonly trainer: Trainer;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly gpu: Gpu,
    readonly dataset: GraphDataset,
    readonly config: DemoConfig,
  ) {
    this.data = uploadDataset(gpu, dataset);
    this.model = new GATModel({
      model: config.model,
      heads: config.heads,
      hiddenChannels: config.hiddenChannels,
      dropout: config.dropout,
      inChannels: dataset.numFeatures,
      outChannels: dataset.numClasses,
    }).init(gpu, { seed: config.seed });
    this.trainer = new Trainer(gpu, this.model, this.data, {
      epochs: config.epochs,
      lr: config.lr,
      weightDecay: config.weightDecay,
    });
  }

  get epoch(): number {
    return this.trainer.epoch;
  }

  get done(): boolean {
    return this.trainer.epoch >= this.config.epochs;
  }

  /** Runs one epoch; with `profile`, times its kernels and returns the per-kernel summary. */
  step(profile: boolean): Promise<KernelSummary[] | null> {
    return this.serial(async () => {
      const profiler = this.gpu.profiler;
      if (profile) profiler.reset(), profiler.start();
      try {
        await this.trainer.recordEpoch();
      } finally {
        if (profile) profiler.stop();
      }
      this.gpu.check();
      if (!profile) return null;
      await profiler.collect();
      return profiler.summary();
    });
  }

  /** Every epoch's metrics so far (one small readback). */
  metrics(): Promise<EpochMetrics[]> {
    return this.serial(() => this.trainer.metrics());
  }

  /** An evaluation pass (no dropout) with the current weights: predicted classes and first-layer attention. */
  inspect(): Promise<Inspection> {
    return this.serial(async () => {
      const { model, data } = this;
      model.eval();
      const logits = model.forward(data.features, data.graphs);
      model.train();
      const [values, attention] = await Promise.all([logits.read(), model.conv1.attention()]);
      if (!attention) throw new Error('The model has no attention weights yet');
      const c = data.numClasses;
      const predictions = new Int32Array(data.numNodes);
      for (let i = 0; i < data.numNodes; i++) {
        let best = 0;
        for (let k = 1; k < c; k++) if (values[i * c + k] > values[i * c + best]) best = k;
        predictions[i] = best;
      }
      return {
        epoch: this.trainer.epoch,
        predictions,
        ...attention,
        graph: data.graphs.hostGraph(model.conv1.opts.addSelfLoops),
      };
    });
  }

  /** Waits for queued GPU work, then frees the run's buffers. */
  async dispose(): Promise<void> {
    await this.queue;
    this.trainer.dispose();
    this.model.dispose();
    this.data.dispose();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
