// The bench page (bundled by bench/browser/chromium.ts): exposes the suites as window.bench.* for the driver to
// call one at a time. Ours runs on one Gpu for the whole page session; the TF.js peer runs in the same page.
import { Gpu } from '../../src/gpu/gpu.ts';
import type { NodeDataset } from '../../src/train/data.ts';
import { runTfjsPeer, type PeerOptions } from '../peer/tfjs-gatv2.ts';
import { measureCeilings, type CeilingOptions } from '../suites/ceilings.ts';
import { kernelSweep, type KernelSweepOptions } from '../suites/kernels.ts';
import { trainEpochs, type TrainOptions } from '../suites/train.ts';
import { datasetFromJson } from './transfer.ts';

const log = (m: string) => console.log(m);
let gpu: Gpu | null = null;
let cora: NodeDataset | null = null;

async function ours(): Promise<Gpu> {
  return (gpu ??= await Gpu.create());
}

async function dataset(): Promise<NodeDataset> {
  return (cora ??= datasetFromJson(await (await fetch('/cora.json')).text()));
}

const bench = {
  async adapter() {
    const g = await ours();
    return { info: g.adapterInfo, timestamps: g.hasTimestamps, userAgent: navigator.userAgent };
  },
  async ceilings(o: CeilingOptions) {
    return measureCeilings(await ours(), o, log);
  },
  /** The sweep on this page's device, then on one forced to the other kernel shape. */
  async kernels(o: KernelSweepOptions, ceilings: { copyGbPerS: number; matmulGflopPerS: number }) {
    const mine = await ours();
    const rows = await kernelSweep(mine, o, ceilings, log);
    const other = await Gpu.create({ kernels: mine.kernelShape === 'cpu' ? 'gpu' : 'cpu' });
    try {
      rows.push(...(await kernelSweep(other, o, ceilings, log)));
    } finally {
      other.destroy();
    }
    return rows;
  },
  async train(o: TrainOptions) {
    return trainEpochs(await ours(), await dataset(), o, log);
  },
  async peer(o: Omit<PeerOptions, 'log'>) {
    // Our device is no longer needed: give its memory back before the peer makes its own.
    gpu?.destroy();
    gpu = null;
    return runTfjsPeer(await dataset(), { ...o, log });
  },
};

export type BenchPage = typeof bench;
(window as unknown as { bench: BenchPage }).bench = bench;
