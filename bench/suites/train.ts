// End to end: median milliseconds per training epoch (forward, loss, backward, Adam; no evaluation pass) of the
// paper configuration, the test accuracy after the epochs run, and a per-kernel profile of a few extra epochs.
import type { Gpu } from '../../src/gpu/gpu.ts';
import { nllLoss } from '../../src/kernels/loss.ts';
import { GATModel } from '../../src/nn/model.ts';
import { uploadDataset, type NodeDataset } from '../../src/train/data.ts';
import { PAPER_CONFIG } from '../../src/train/run.ts';
import { Trainer, windowedEpochMs } from '../../src/train/trainer.ts';
import { median } from '../report.ts';

export interface TrainOptions {
  /** Untimed epochs first (pipeline compilation, first-touch of buffers). */
  warmup: number;
  /** Timed epochs. */
  epochs: number;
  /** Extra epochs run with the profiler on (0: none, or no timestamps). */
  profileEpochs: number;
}

export interface KernelShare {
  kernel: string;
  calls: number;
  /** GPU milliseconds per epoch. */
  msPerEpoch: number;
  share: number;
  gbPerS: number;
  gflopPerS: number;
}

export interface TrainResult {
  msPerEpoch: number;
  /** Wall ms per epoch in each window of 5 consecutive timed epochs. */
  epochMs: number[];
  timedEpochs: number;
  epochsRun: number;
  /** Kernel dispatches recorded per training epoch. */
  dispatchesPerEpoch: number;
  finalLoss: number;
  testAcc: number;
  valAcc: number;
  /** Per kernel, sorted by time (profiled epochs; each dispatch in its own pass, so the sum exceeds msPerEpoch). */
  profile: KernelShare[];
  profiledMsPerEpoch: number;
}

/** Accuracy of an evaluation forward (no dropout) on one split. */
async function accuracy(
  gpu: Gpu,
  model: GATModel,
  data: ReturnType<typeof uploadDataset>,
  trainer: Trainer,
  split: 'val' | 'test',
): Promise<number> {
  void trainer;
  model.eval();
  const logits = model.forward(data.features, data.graphs).dense();
  model.train();
  const r = nllLoss(gpu, logits, data.labels, data.masks[split], Math.max(1, data.counts[split]));
  const correct = (await r.correct.read())[0];
  [r.loss, r.correct, r.dlogits].forEach((t) => t.dispose());
  return correct / Math.max(1, data.counts[split]);
}

export async function trainEpochs(
  gpu: Gpu,
  dataset: NodeDataset,
  o: TrainOptions,
  log: (m: string) => void = () => {},
): Promise<TrainResult> {
  if (o.warmup < 1)
    throw new Error('trainEpochs: needs a warm-up epoch (each timed epoch is measured from the end of the one before)');
  const data = uploadDataset(gpu, dataset);
  const model = new GATModel({
    ...PAPER_CONFIG,
    inChannels: dataset.numFeatures,
    outChannels: dataset.numClasses,
  }).init(gpu, { seed: PAPER_CONFIG.seed });
  const profileEpochs = gpu.hasTimestamps ? o.profileEpochs : 0;
  const total = o.warmup + o.epochs + profileEpochs;
  const trainer = new Trainer(gpu, model, data, { ...PAPER_CONFIG, epochs: total, evaluate: false });
  const firstProfiled = o.warmup + o.epochs;
  let dispatchesPerEpoch = 0;
  await trainer.run({
    onEpoch: (e) => {
      if (e === o.warmup) log(`warm-up done (${o.warmup} epochs)`);
      if (e === 1) dispatchesPerEpoch = gpu.dispatchCount;
      if (e === 2) dispatchesPerEpoch = gpu.dispatchCount - dispatchesPerEpoch;
      // Recorded epochs are numbered from 0; `e` epochs have been recorded when this runs.
      if (profileEpochs > 0 && e === firstProfiled) {
        gpu.profiler.reset();
        gpu.profiler.start();
      }
    },
  });
  gpu.profiler.stop();
  const profile: KernelShare[] = [];
  let profiledMsPerEpoch = NaN;
  if (profileEpochs > 0) {
    await gpu.profiler.collect();
    const rows = gpu.profiler.summary();
    const sum = rows.reduce((a, r) => a + r.totalMs, 0);
    profiledMsPerEpoch = sum / profileEpochs;
    for (const r of rows) {
      profile.push({
        kernel: r.name,
        calls: r.calls / profileEpochs,
        msPerEpoch: r.totalMs / profileEpochs,
        share: r.totalMs / sum,
        gbPerS: r.gbPerS,
        gflopPerS: r.gflopPerS,
      });
    }
    gpu.profiler.reset();
  }
  // doneAt[i] is when epoch i finished; the timed epochs are warmup .. warmup + epochs - 1, measured in windows of
  // 5 epochs (completion notices may come in bunches; see windowedEpochMs).
  const epochMs = windowedEpochMs(trainer.doneAt.slice(0, firstProfiled), o.warmup - 1);
  const history = await trainer.metrics();
  const testAcc = await accuracy(gpu, model, data, trainer, 'test');
  const valAcc = await accuracy(gpu, model, data, trainer, 'val');
  const result: TrainResult = {
    msPerEpoch: median(epochMs),
    epochMs,
    timedEpochs: o.epochs,
    epochsRun: total,
    dispatchesPerEpoch,
    finalLoss: history[history.length - 1].loss,
    testAcc,
    valAcc,
    profile,
    profiledMsPerEpoch,
  };
  trainer.dispose();
  model.dispose();
  data.dispose();
  return result;
}
