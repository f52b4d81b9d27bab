// The paper model's Cora training epoch (forward, loss, backward, Adam; no evaluation pass) with the module API
// (GATModel, a Sequential) against the fixed two-layer class it replaces (bench/legacy/), in one process on one
// device. The two alternate in rounds (A B, then B A, ...) so that load changes on the machine hit both alike;
// each round times windows of 5 epochs after a warm-up. Also: how far the two runs' weights are apart after the
// same epochs from the same seed (same initialisation and dropout sites; rounding differs where ELU and dropout
// are fused differently).
import type { Gpu } from '../../src/gpu/gpu.ts';
import { GATModel } from '../../src/nn/model.ts';
import { uploadDataset, type NodeDataset } from '../../src/train/data.ts';
import { PAPER_CONFIG } from '../../src/train/run.ts';
import { Trainer, windowedEpochMs } from '../../src/train/trainer.ts';
import { GATModel as LegacyGATModel } from '../legacy/model.ts';
import { Trainer as LegacyTrainer } from '../legacy/trainer.ts';
import { median } from '../report.ts';

export interface ApiComparison {
  rounds: number;
  warmup: number;
  epochs: number;
  /** Wall ms per epoch, every 5-epoch window of every round. */
  legacyMs: number[];
  modulesMs: number[];
  legacyMedian: number;
  modulesMedian: number;
  /** Per round: median of each. */
  perRound: { legacy: number; modules: number }[];
  /** Largest |w_new - w_old| / max |w_old| over every parameter after the first round's epochs (seed 0). */
  weightRelDiff: number;
  dispatchesPerEpoch: { legacy: number; modules: number };
  /** Median host milliseconds to record one epoch (the synchronous part: building the command buffer). */
  recordMs: { legacy: number; modules: number };
}

/** Times the synchronous part of each recordEpoch() call (recording the epoch's work) into `into`. */
function timeRecording(trainer: { recordEpoch(): Promise<void> }, into: number[]): void {
  const record = trainer.recordEpoch.bind(trainer);
  trainer.recordEpoch = () => {
    const t = performance.now();
    const done = record();
    into.push(performance.now() - t);
    return done;
  };
}

async function timeRun(gpu: Gpu, dataset: NodeDataset, data: ReturnType<typeof uploadDataset>, legacy: boolean, warmup: number, epochs: number) {
  const total = warmup + epochs;
  const cfg = { ...PAPER_CONFIG, epochs: total, evaluate: false };
  const dims = { inChannels: dataset.numFeatures, outChannels: dataset.numClasses };
  let weights: Float32Array;
  let doneAt: readonly number[];
  const d0 = gpu.dispatchCount;
  let perEpoch = 0;
  const recordMs: number[] = [];
  if (legacy) {
    const model = new LegacyGATModel(gpu, { ...PAPER_CONFIG, ...dims });
    const trainer = new LegacyTrainer(gpu, model, data, cfg);
    timeRecording(trainer, recordMs);
    await trainer.run({ onEpoch: (e) => void (e === 1 && (perEpoch = gpu.dispatchCount - d0)) });
    weights = (await model.params.values.read()) as Float32Array;
    doneAt = trainer.doneAt;
    trainer.dispose();
    model.dispose();
  } else {
    const model = new GATModel({ ...PAPER_CONFIG, ...dims }).init(gpu, { seed: PAPER_CONFIG.seed });
    const trainer = new Trainer(gpu, model, data, cfg);
    timeRecording(trainer, recordMs);
    await trainer.run({ onEpoch: (e) => void (e === 1 && (perEpoch = gpu.dispatchCount - d0)) });
    weights = (await model.parameterStore.values.read()) as Float32Array;
    doneAt = trainer.doneAt;
    trainer.dispose();
    model.dispose();
  }
  return { ms: windowedEpochMs(doneAt, warmup - 1), weights, perEpoch, recordMs: recordMs.slice(warmup) };
}

export async function compareApi(gpu: Gpu, dataset: NodeDataset, o: { rounds: number; warmup: number; epochs: number }, log: (m: string) => void): Promise<ApiComparison> {
  const data = uploadDataset(gpu, dataset);
  const out: ApiComparison = {
    ...o, legacyMs: [], modulesMs: [], legacyMedian: NaN, modulesMedian: NaN, perRound: [], weightRelDiff: NaN, dispatchesPerEpoch: { legacy: 0, modules: 0 },
    recordMs: { legacy: NaN, modules: NaN },
  };
  const record = { legacy: [] as number[], modules: [] as number[] };
  for (let r = 0; r < o.rounds; r++) {
    const order = r % 2 === 0 ? [true, false] : [false, true];
    const got: Record<string, Awaited<ReturnType<typeof timeRun>>> = {};
    for (const legacy of order) got[legacy ? 'legacy' : 'modules'] = await timeRun(gpu, dataset, data, legacy, o.warmup, o.epochs);
    out.legacyMs.push(...got.legacy.ms);
    out.modulesMs.push(...got.modules.ms);
    out.perRound.push({ legacy: median(got.legacy.ms), modules: median(got.modules.ms) });
    record.legacy.push(...got.legacy.recordMs);
    record.modules.push(...got.modules.recordMs);
    if (r === 0) {
      const a = got.legacy.weights, b = got.modules.weights;
      let scale = 0, diff = 0;
      for (let i = 0; i < a.length; i++) (scale = Math.max(scale, Math.abs(a[i]))), (diff = Math.max(diff, Math.abs(a[i] - b[i])));
      out.weightRelDiff = a.length === b.length ? diff / scale : NaN;
      out.dispatchesPerEpoch = { legacy: got.legacy.perEpoch, modules: got.modules.perEpoch };
    }
    log(`round ${r + 1}/${o.rounds}: legacy ${out.perRound[r].legacy.toFixed(1)} ms, modules ${out.perRound[r].modules.toFixed(1)} ms per epoch`);
  }
  out.legacyMedian = median(out.legacyMs);
  out.modulesMedian = median(out.modulesMs);
  out.recordMs = { legacy: median(record.legacy), modules: median(record.modules) };
  data.dispose();
  return out;
}
