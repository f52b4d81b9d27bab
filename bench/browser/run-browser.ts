// The Chromium parts of the bench, all in one page session: ceilings, kernel sweep and the Cora training epoch
// of ours, then the TF.js peer on the same Cora data (after ours has given its device back).
import type { NodeDataset } from '../../src/train/data.ts';
import { CORA_FULL, CORA_QUICK } from '../node/run-node.ts';
import type { PeerOptions, PeerResult } from '../peer/tfjs-gatv2.ts';
import { CEILINGS_FULL, CEILINGS_QUICK, type Ceilings } from '../suites/ceilings.ts';
import { ceilingRates } from '../suites/ceilings.ts';
import { KERNELS_FULL, KERNELS_QUICK, type KernelRow, type KernelSweepOptions } from '../suites/kernels.ts';
import type { TrainResult } from '../suites/train.ts';
import type { Runtime } from '../tables.ts';
import { withBenchPage } from './chromium.ts';

/** 200 epochs as ours, but no more than this much training time: the peer takes seconds per epoch on a CPU driver. */
export const PEER_FULL: Omit<PeerOptions, 'log'> = { epochs: 200, warmup: 3, budgetMs: 180_000 };
export const PEER_QUICK: Omit<PeerOptions, 'log'> = { epochs: 8, warmup: 2, budgetMs: 30_000 };

export interface ChromiumResults {
  runtime: Runtime;
  userAgent: string;
  ceilings?: Ceilings;
  kernels?: { options: KernelSweepOptions; rows: KernelRow[] };
  cora?: TrainResult;
  peer?: { options: Omit<PeerOptions, 'log'>; result: PeerResult; ours: TrainResult };
}

export async function runChromium(
  want: { chromium: boolean; peer: boolean },
  quick: boolean,
  cora: NodeDataset,
  log: (m: string) => void,
): Promise<ChromiumResults> {
  return withBenchPage(
    cora,
    (m) => log(`[page] ${m}`),
    async (page) => {
      const a = await page.call('adapter');
      const out: ChromiumResults = {
        runtime: { name: 'Chromium', device: a.info, timestamps: a.timestamps },
        userAgent: a.userAgent,
      };
      if (want.chromium) {
        log('ceilings (Chromium)');
        out.ceilings = await page.call('ceilings', quick ? CEILINGS_QUICK : CEILINGS_FULL);
        const options = quick ? KERNELS_QUICK : KERNELS_FULL;
        log('kernel sweep (Chromium)');
        out.kernels = { options, rows: await page.call('kernels', options, ceilingRates(out.ceilings)) };
      }
      log('Cora training epochs (Chromium)');
      out.cora = await page.call('train', quick ? CORA_QUICK : CORA_FULL);
      log(`Cora (Chromium): ${out.cora.msPerEpoch.toFixed(1)} ms per training epoch`);
      if (want.peer) {
        const options = quick ? PEER_QUICK : PEER_FULL;
        log(`TF.js peer: up to ${options.epochs} epochs, at most ${options.budgetMs / 1e3} s`);
        const result = await page.call('peer', options);
        log(`TF.js peer: ${result.msPerEpoch.toFixed(0)} ms per epoch over ${result.timedEpochs} epochs`);
        // Ours again for exactly as many epochs as the peer ran, so that the two accuracies compare.
        log(`ours for ${result.epochsRun} epochs (accuracy at the peer's epoch count)`);
        const ours = await page.call('train', {
          warmup: 1,
          epochs: Math.max(1, result.epochsRun - 1),
          profileEpochs: 0,
        });
        out.peer = { options, result, ours };
      }
      return out;
    },
  );
}
