// A graph-classification training epoch on MUTAG: the GATv2 graph classifier's defaults (3 GATv2Conv layers of 4
// heads x 16, residual, jumping knowledge, sum readout, MLP head), batch 32, one fold of the 10-fold split (170
// training graphs in 6 steps of one submit each, then the 18 or 19 test graphs). Per epoch: training and test pass,
// to the end of the GPU's work (a readback of the epoch's metrics ends each epoch). Median over epochs after warmup,
// with the bond types as edge features in every layer's attention (the default) and without, then a few more epochs
// (with edge features) with the profiler on: where the epoch's GPU time goes, kernel by kernel.
import { loadTUDataset } from '../../src/data/tu-node.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { trainGraphClassifier } from '../../src/train/graph.ts';
import { markdown, median, num, pct } from '../report.ts';
import type { KernelShare } from './train.ts';

export interface GraphEpochOptions {
  warmup: number;
  epochs: number;
  /** Extra epochs run with the profiler on (0: none, or no timestamps). */
  profileEpochs: number;
}

export const MUTAG_FULL: GraphEpochOptions = { warmup: 2, epochs: 12, profileEpochs: 2 };
export const MUTAG_QUICK: GraphEpochOptions = { warmup: 1, epochs: 4, profileEpochs: 1 };

/** Timed epochs of one model variant. */
export interface GraphEpochTiming {
  /** Whether the GATv2Conv layers attend over the bond types (edgeDim 4). */
  edgeFeatures: boolean;
  msPerEpoch: number;
  samples: number[];
  /** Kernel dispatches recorded per epoch (training steps and test pass). */
  dispatchesPerEpoch: number;
}

export interface GraphEpochResult {
  dataset: 'MUTAG';
  batchSize: number;
  trainGraphs: number;
  testGraphs: number;
  /** Training steps and test batches per epoch (one submit each). */
  trainSteps: number;
  testBatches: number;
  /** Timed epochs per variant. */
  epochs: number;
  /** With edge features, then without. */
  variants: GraphEpochTiming[];
  /** Median ms per epoch with edge features (the default model). */
  msPerEpoch: number;
  /** Per kernel, sorted by time (profiled epochs, with edge features; each dispatch in its own pass). */
  profile: KernelShare[];
  profiledMsPerEpoch: number;
}

export async function graphEpochs(
  gpu: Gpu,
  o: GraphEpochOptions,
  log: (m: string) => void = () => {},
): Promise<GraphEpochResult> {
  const ds = await loadTUDataset('MUTAG', { log });
  const profileEpochs = gpu.hasTimestamps ? o.profileEpochs : 0;
  const timedEnd = o.warmup + o.epochs;
  const variants: GraphEpochTiming[] = [];
  let profile: KernelShare[] = [];
  let profiledMsPerEpoch = NaN;
  let folds: { trainGraphs: number; testGraphs: number } | undefined;
  for (const edgeFeatures of [true, false]) {
    const profiled = edgeFeatures ? profileEpochs : 0;
    const times: number[] = [];
    const dispatches: number[] = [];
    let last = performance.now();
    let lastCount = gpu.dispatchCount;
    gpu.profiler.reset();
    const r = await trainGraphClassifier(
      gpu,
      ds,
      { epochs: timedEnd + profiled, onlyFolds: [0], batchSize: 32, edgeFeatures },
      {
        onEpoch: (_fold, epoch) => {
          const now = performance.now();
          if (epoch >= o.warmup && epoch < timedEnd)
            times.push(now - last), dispatches.push(gpu.dispatchCount - lastCount);
          // Epoch `epoch` has ended (its metrics were read back): the next ones are profiled.
          if (profiled > 0 && epoch === timedEnd - 1) gpu.profiler.start();
          last = now;
          lastCount = gpu.dispatchCount;
        },
      },
    );
    gpu.profiler.stop();
    folds = r.folds[0];
    variants.push({ edgeFeatures, msPerEpoch: median(times), samples: times, dispatchesPerEpoch: median(dispatches) });
    log(`MUTAG ${edgeFeatures ? 'with' : 'without'} edge features: ${median(times).toFixed(1)} ms per epoch`);
    if (profiled > 0) {
      await gpu.profiler.collect();
      ({ profile, profiledMsPerEpoch } = kernelShares(gpu, profiled));
    }
  }
  const f = folds!;
  return {
    dataset: 'MUTAG',
    batchSize: 32,
    trainGraphs: f.trainGraphs,
    testGraphs: f.testGraphs,
    trainSteps: Math.ceil(f.trainGraphs / 32),
    testBatches: Math.ceil(f.testGraphs / 128),
    epochs: o.epochs,
    variants,
    msPerEpoch: variants[0]!.msPerEpoch,
    profile,
    profiledMsPerEpoch,
  };
}

/** The profiler's kernels of `epochs` profiled epochs, as time per epoch and share; the profiler is reset after. */
function kernelShares(gpu: Gpu, epochs: number): { profile: KernelShare[]; profiledMsPerEpoch: number } {
  const rows = gpu.profiler.summary();
  const sum = rows.reduce((a, k) => a + k.totalMs, 0);
  const profile = rows.map((k) => ({
    kernel: k.name,
    calls: k.calls / epochs,
    msPerEpoch: k.totalMs / epochs,
    share: k.totalMs / sum,
    gbPerS: k.gbPerS,
    gflopPerS: k.gflopPerS,
  }));
  gpu.profiler.reset();
  return { profile, profiledMsPerEpoch: sum / epochs };
}

export function graphEpochTable(deviceLabel: string, r: GraphEpochResult, top = 12): string {
  const epoch = markdown({
    title: `Graph classification: a MUTAG training epoch (batch ${r.batchSize})`,
    device: deviceLabel,
    head: ['', 'value'],
    rows: [
      ...r.variants.map((v) => [
        `median ms per epoch (of ${r.epochs}, after warm-up), ${v.edgeFeatures ? 'with' : 'without'} edge features`,
        `${num(v.msPerEpoch)} (${num(v.dispatchesPerEpoch)} dispatches)`,
      ]),
      ['training steps + test batches per epoch (one submit each)', `${r.trainSteps} + ${r.testBatches}`],
      ['graphs per epoch (train + test)', `${r.trainGraphs} + ${r.testGraphs}`],
    ],
    notes: [
      'GATv2 graph classifier, defaults: 3 GATv2Conv layers of 4 heads x 16 (residual), ELU, jumping',
      'knowledge (cat), sum readout, MLP head with BatchNorm and dropout 0.5; Adam lr 0.005; one fold of the',
      "10-fold split. With edge features every layer attends over the 4 bond types (edgeDim 4, `--task graph`'s",
      'default); without, `--no-edge-features`. An epoch = the training steps and the test pass, to the readback',
      "of the epoch's metrics (wall time).",
    ],
  });
  if (!r.profile.length) return epoch;
  const profile = markdown({
    title: 'Where a MUTAG epoch goes (with edge features, profiled)',
    device: deviceLabel,
    head: ['kernel', 'calls per epoch', 'ms per epoch', 'share', 'GB/s', 'GFLOP/s'],
    rows: r.profile
      .slice(0, top)
      .map((k) => [k.kernel, num(k.calls), k.msPerEpoch, pct(k.share), k.gbPerS, k.gflopPerS]),
    notes: [
      `Sum of kernel times ${num(r.profiledMsPerEpoch)} ms per epoch over the profiled epochs (each dispatch in`,
      `its own pass when profiling); top ${Math.min(top, r.profile.length)} of ${r.profile.length} kernels.`,
    ],
  });
  return `${epoch}\n${profile}`;
}
