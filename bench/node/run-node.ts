// The Node parts of the bench, on Dawn through the `webgpu` package: ceilings, the Cora training epoch with its
// kernel profile, the kernel sweep, and the arxiv-sized scale runs (each size on a fresh device).
import { Gpu } from '../../src/gpu/gpu.ts';
import type { NodeDataset } from '../../src/train/data.ts';
import { ceilingRates, CEILINGS_FULL, CEILINGS_QUICK, measureCeilings, type Ceilings } from '../suites/ceilings.ts';
import {
  kernelSweep,
  KERNELS_FULL,
  KERNELS_QUICK,
  type KernelRow,
  type KernelSweepOptions,
} from '../suites/kernels.ts';
import { scaleRun, SCALE_FULL, SCALE_QUICK, type ScaleRow } from '../suites/scale.ts';
import { trainEpochs, type TrainOptions, type TrainResult } from '../suites/train.ts';
import { graphEpochs, MUTAG_FULL, MUTAG_QUICK, type GraphEpochResult } from '../suites/graph.ts';
import type { Runtime } from '../tables.ts';

export const CORA_FULL: TrainOptions = { warmup: 3, epochs: 40, profileEpochs: 2 };
export const CORA_QUICK: TrainOptions = { warmup: 2, epochs: 10, profileEpochs: 1 };

export interface NodeResults {
  runtime: Runtime;
  ceilings?: Ceilings;
  cora?: TrainResult;
  /** A MUTAG graph-classification training epoch (batch 32). */
  mutag?: GraphEpochResult;
  kernels?: { options: KernelSweepOptions; rows: KernelRow[] };
  scale?: ScaleRow[];
}

export async function runNode(
  want: { node: boolean; kernels: boolean; scale: boolean },
  quick: boolean,
  cora: NodeDataset,
  log: (m: string) => void,
): Promise<NodeResults> {
  const gpu = await Gpu.create({ log: () => {} });
  const out: NodeResults = { runtime: { name: 'Node', device: gpu.adapterInfo, timestamps: gpu.hasTimestamps } };
  try {
    if (want.node || want.kernels) {
      log('ceilings');
      out.ceilings = await measureCeilings(gpu, quick ? CEILINGS_QUICK : CEILINGS_FULL, log);
    }
    if (want.node) {
      log('Cora training epochs');
      out.cora = await trainEpochs(gpu, cora, quick ? CORA_QUICK : CORA_FULL, log);
      log(`Cora: ${out.cora.msPerEpoch.toFixed(1)} ms per training epoch`);
      log('MUTAG graph-classification epochs');
      out.mutag = await graphEpochs(gpu, quick ? MUTAG_QUICK : MUTAG_FULL, log);
      log(`MUTAG: ${out.mutag.msPerEpoch.toFixed(1)} ms per epoch (batch 32)`);
    }
    if (want.kernels) {
      const options = quick ? KERNELS_QUICK : KERNELS_FULL;
      log(`kernel sweep, ${gpu.kernelShape} kernel shapes`);
      const rows = await kernelSweep(gpu, options, ceilingRates(out.ceilings!), log);
      // The same sweep on a device forced to the other kernel shape, for the side-by-side table.
      const other = await Gpu.create({ log: () => {}, kernels: gpu.kernelShape === 'cpu' ? 'gpu' : 'cpu' });
      try {
        log(`kernel sweep, ${other.kernelShape} kernel shapes`);
        rows.push(...(await kernelSweep(other, options, ceilingRates(out.ceilings!), log)));
      } finally {
        other.destroy();
      }
      out.kernels = { options, rows };
    }
    if (want.scale) {
      log('scale (arxiv-shaped synthetic graphs)');
      out.scale = await scaleRun(gpu, quick ? SCALE_QUICK : SCALE_FULL, log);
    }
  } finally {
    gpu.destroy();
  }
  return out;
}
