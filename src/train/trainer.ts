// Full-batch node classification on the GPU: each epoch is one command buffer holding the training step
// (forward, log-softmax + NLL, backward, Adam) and an evaluation pass without dropout. Metrics are copied on the
// GPU into a history buffer; the host reads it back only when it reports.
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { adamScalars, adamStep, type AdamConfig } from '../kernels/adam.ts';
import { nllLoss } from '../kernels/loss.ts';
import type { StepContext } from '../nn/conv.ts';
import type { GATModel } from '../nn/model.ts';
import { Workspace } from '../nn/workspace.ts';
import type { GpuDataset, Split } from './data.ts';
import { NonFiniteWatch, PeriodicCheck } from './divergence.ts';
import { checkTrainingSplits, resolveTrainOptions } from './options.ts';
import type { NonFinitePolicy, ResolvedTrainOptions } from './options.ts';

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
  readonly adam: AdamConfig;
  readonly step: Tensor;
  private m: Tensor;
  private v: Tensor;
  private scalars: Tensor;
  private history: Tensor;
  private ws: Workspace;
  private watch: NonFiniteWatch;
  /** Epochs run so far. */
  epoch = 0;
  /** performance.now() when each epoch's GPU work completed. */
  readonly doneAt: number[] = [];

  constructor(readonly gpu: Gpu, readonly model: GATModel, readonly data: GpuDataset, cfg: TrainConfig = {}) {
    this.cfg = resolveTrainOptions(cfg);
    checkTrainingSplits(data, this.cfg);
    this.watch = new NonFiniteWatch(this.cfg.onNonFinite, this.cfg.lr);
    this.adam = { lr: this.cfg.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: this.cfg.weightDecay };
    const total = model.params.total;
    this.step = gpu.full('u32', [1], 0);
    this.m = gpu.full('f32', [total], 0);
    this.v = gpu.full('f32', [total], 0);
    this.scalars = gpu.full('f32', [4], 0);
    this.history = gpu.full('f32', [this.cfg.epochs * COLS], NaN);
    this.ws = new Workspace(gpu);
  }

  /** Records one epoch (training step, then evaluation) and submits it; the promise settles when the GPU is done. */
  recordEpoch(): Promise<void> {
    const { gpu, model, data } = this;
    const e = this.epoch;
    if (e >= this.cfg.epochs) throw new Error(`Trainer: all ${this.cfg.epochs} epochs have run`);
    const t = e + 1;
    // Per-step values first: queued writes land before this epoch's command buffer.
    this.step.write(new Uint32Array([t]));
    this.scalars.write(adamScalars(this.adam, t));

    const train: StepContext = { gpu, training: true, step: this.step };
    const logits = model.forward(train, data.features, data.graphs);
    // d loss / d logits overwrites the logits, which nothing reads after the loss.
    const loss = nllLoss(gpu, logits, data.labels, data.masks.train, data.counts.train, {
      dlogits: logits, loss: this.ws.get('loss', [1]), correct: this.ws.get('correct', [1]),
    });
    model.backward(train, loss.dlogits);
    adamStep(gpu, model.params.values, model.params.grads, this.m, this.v, this.scalars, this.adam);
    gpu.copy(loss.loss, this.history, e * COLS);
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
    const ctx: StepContext = { gpu, training: false, step: this.step };
    const logits = model.forward(ctx, data.features, data.graphs);
    const n = data.numNodes, c = data.numClasses;
    const splits: Split[] = ['train', 'val', 'test'];
    splits.forEach((split, i) => {
      const r = nllLoss(gpu, logits, data.labels, data.masks[split], Math.max(1, data.counts[split]), {
        dlogits: this.ws.get('eval_dlogits', [n, c]), loss: this.ws.get(`eval_loss_${split}`, [1]), correct: this.ws.get(`eval_correct_${split}`, [1]),
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
        epoch: e + 1, loss: r[0], trainAcc: measured('train', r[1] / counts.train),
        valAcc: measured('val', r[2] / counts.val), testAcc: measured('test', r[3] / counts.test), valLoss: measured('val', r[4]),
      });
    }
    this.watch.check(out);
    return out;
  }

  /** Runs the remaining epochs, keeping at most `inFlight` epochs queued ahead of the GPU. */
  async run(opts: { inFlight?: number; onEpoch?: (epoch: number) => void | Promise<void> } = {}): Promise<EpochMetrics[]> {
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
    [this.step, this.m, this.v, this.scalars, this.history].forEach((t) => t.dispose());
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
