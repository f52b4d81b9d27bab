// Full-batch node classification on the GPU: each epoch is one command buffer holding the training step
// (forward, log-softmax + NLL, backward, Adam) and an evaluation pass without dropout. Metrics are copied on the
// GPU into a history buffer; the host reads it back only when it reports.
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { nllLoss } from '../kernels/loss.ts';
import type { LayerGraphs } from '../nn/conv.ts';
import type { Module } from '../nn/module.ts';
import { Frame, inFrame, type Features, type Variable } from '../nn/tape.ts';
import { Workspace } from '../nn/workspace.ts';
import type { GpuDataset, Split } from './data.ts';
import { NonFiniteWatch, PeriodicCheck } from './divergence.ts';
import { checkTrainingSplits, resolveTrainOptions } from './options.ts';
import type { NonFinitePolicy, ResolvedTrainOptions } from './options.ts';
import { crossEntropy } from './loss.ts';
import { Adam } from './optim.ts';

/** A node classifier: any module whose forward takes node features and the graph and returns logits [N, classes]. */
export type NodeClassifier = Module & { forward(x: Features, graph: LayerGraphs): Variable };

export interface TrainConfig {
  epochs?: number;
  lr?: number;
  weightDecay?: number;
  /** Run the evaluation pass every epoch (needed for the best-validation test accuracy). Default true. */
  evaluate?: boolean;
  /**
   * A NaN or infinite loss, seen when the metrics are read back (every 20 epochs in run(), and whenever metrics() is
   * called): 'error' (default) stops training with a NonFiniteLossError naming the epoch; 'warn' warns once.
   */
  onNonFinite?: NonFinitePolicy;
  /** Train with an empty validation or test mask (their accuracies are then null). Default false: refused. */
  allowEmptySplits?: boolean;
}

export interface EpochMetrics {
  epoch: number;
  /** Training loss (with dropout) before this epoch's update. */
  loss: number;
  /** Accuracies and validation loss of the evaluation pass after the update (null when not evaluated, or when
   * the split is empty). */
  trainAcc: number | null;
  valAcc: number | null;
  testAcc: number | null;
  valLoss: number | null;
}

const COLS = 5; // history columns: loss, train correct, val correct, test correct, val loss

export class Trainer {
  readonly cfg: ResolvedTrainOptions;
  readonly optimizer: Adam;
  private history: Tensor;
  private ws: Workspace;
  private frame: Frame;
  private watch: NonFiniteWatch;
  /** Epochs run so far. */
  epoch = 0;
  /** performance.now() when each epoch's GPU work completed. */
  readonly doneAt: number[] = [];

  /** Trains `model` (initialised with model.init(gpu)) on `data` with Adam, as torch.optim.Adam. */
  constructor(
    readonly gpu: Gpu,
    readonly model: NodeClassifier,
    readonly data: GpuDataset,
    cfg: TrainConfig = {},
  ) {
    this.cfg = resolveTrainOptions(cfg);
    checkTrainingSplits(data, this.cfg);
    if (!model.initialized) throw new Error('Trainer: initialise the model first (model.init(gpu, { seed }))');
    this.watch = new NonFiniteWatch(this.cfg.onNonFinite, this.cfg.lr);
    this.history = gpu.full('f32', [this.cfg.epochs * COLS], NaN);
    try {
      this.optimizer = new Adam(model.parameters(), { lr: this.cfg.lr, weightDecay: this.cfg.weightDecay });
    } catch (err) {
      this.history.dispose(); // a refusal keeps nothing
      throw err;
    }
    this.ws = new Workspace(gpu);
    this.frame = new Frame(gpu);
  }

  /** Records one epoch (training step, then evaluation) and submits it; the promise settles when the GPU is done. */
  recordEpoch(): Promise<void> {
    const { gpu, model, data, optimizer } = this;
    const e = this.epoch;
    if (e >= this.cfg.epochs) throw new Error(`Trainer: all ${this.cfg.epochs} epochs have run`);
    model.train();
    optimizer.zeroGrad();
    const logits = model.forward(data.features, data.graphs);
    // d loss / d logits overwrites the logits, which nothing reads after the loss.
    // The loss's buffers are the trainer's (its frame), freed with it.
    this.frame.begin();
    const loss = inFrame(this.frame, () =>
      crossEntropy(logits, data.labels, { mask: data.masks.train, count: data.counts.train, reuseLogits: true }),
    );
    loss.backward();
    optimizer.step();
    gpu.copy(loss.value, this.history, e * COLS);
    if (this.cfg.evaluate) this.recordEvaluation(e);
    gpu.flush();
    this.epoch++;
    return gpu.done().then(() => {
      this.doneAt.push(performance.now());
    });
  }

  /** Forward without dropout; copies correct counts per split and the validation loss into the history. */
  private recordEvaluation(e: number): void {
    const { gpu, model, data } = this;
    model.eval();
    const logits = model.forward(data.features, data.graphs).dense();
    model.train();
    const n = data.numNodes,
      c = data.numClasses;
    const splits: Split[] = ['train', 'val', 'test'];
    splits.forEach((split, i) => {
      const r = nllLoss(gpu, logits, data.labels, data.masks[split], Math.max(1, data.counts[split]), {
        dlogits: this.ws.get('eval_dlogits', [n, c]),
        loss: this.ws.get(`eval_loss_${split}`, [1]),
        correct: this.ws.get(`eval_correct_${split}`, [1]),
      });
      gpu.copy(r.correct, this.history, e * COLS + 1 + i);
      if (split === 'val') gpu.copy(r.loss, this.history, e * COLS + 4);
    });
  }

  /**
   * Metrics of every epoch run so far (one readback). A NaN or infinite loss among them throws NonFiniteLossError
   * (or warns, with onNonFinite: 'warn').
   */
  async metrics(): Promise<EpochMetrics[]> {
    const epochs = this.epoch; // recorded (so submitted) before the read: in the copy even if more follow meanwhile
    const h = (await this.history.read()) as Float32Array;
    const { counts } = this.data;
    const measured = (split: Split, v: number) => (this.cfg.evaluate && counts[split] > 0 ? v : null);
    const out: EpochMetrics[] = [];
    for (let e = 0; e < epochs; e++) {
      const r = h.subarray(e * COLS, (e + 1) * COLS);
      out.push({
        epoch: e + 1,
        loss: r[0],
        trainAcc: measured('train', r[1] / counts.train),
        valAcc: measured('val', r[2] / counts.val),
        testAcc: measured('test', r[3] / counts.test),
        valLoss: measured('val', r[4]),
      });
    }
    this.watch.check(out);
    return out;
  }

  /** Runs the remaining epochs, keeping at most `inFlight` epochs queued ahead of the GPU. */
  async run(
    opts: { inFlight?: number; onEpoch?: (epoch: number) => void | Promise<void> } = {},
  ): Promise<EpochMetrics[]> {
    const inFlight = opts.inFlight ?? 2;
    const queued: Promise<void>[] = [];
    const check = new PeriodicCheck(); // a diverging run stops here (a NonFiniteLossError)
    while (this.epoch < this.cfg.epochs) {
      queued.push(this.recordEpoch());
      if (queued.length >= inFlight) await queued.shift();
      check.poll(this.epoch, () => this.metrics());
      await opts.onEpoch?.(this.epoch);
    }
    await Promise.all(queued);
    await check.settle();
    await this.gpu.sync();
    return this.metrics();
  }

  /** Median wall time per epoch from the GPU completion times (ms). */
  medianEpochMs(): number {
    return median(windowedEpochMs(this.doneAt, 0));
  }

  dispose(): void {
    this.optimizer.dispose();
    this.history.dispose();
    this.frame.dispose();
    this.ws.dispose();
  }
}

/**
 * Final-epoch metrics and the test accuracy at the best validation epoch (first best, as PyG's examples); best is
 * null when there is no validation accuracy.
 */
export function summarize(history: EpochMetrics[]): { final: EpochMetrics; best: EpochMetrics | null } {
  let best: EpochMetrics | null = null;
  for (const m of history) if (m.valAcc !== null && (best === null || m.valAcc > best.valAcc!)) best = m;
  return { final: history[history.length - 1], best };
}

/**
 * Wall milliseconds per epoch from completion times: the mean over each run of `window` consecutive epochs
 * (non-overlapping), starting after the first `skip` completions. Completion notices are polled (in Node from a
 * 1 ms timer once a wait has lasted 2 ms) and can arrive late or in pairs, so single gaps mislead; a window of
 * several epochs does not.
 */
export function windowedEpochMs(doneAt: readonly number[], skip: number, window = 5): number[] {
  const out: number[] = [];
  const w = Math.max(1, Math.min(window, doneAt.length - 1 - skip));
  for (let i = skip; i + w < doneAt.length; i += w) out.push((doneAt[i + w] - doneAt[i]) / w);
  return out;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
