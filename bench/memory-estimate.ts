// The training-memory estimate (src/train/budget.ts) against what training really allocates: for each dataset and
// configuration, 2 epochs on a pool emptied first; the bytes the buffer pool allocated, the estimate, their ratio.
//   node --import tsx --import ./tools/wgsl-loader.mjs bench/memory-estimate.ts [--fractions 0.1,0.25]
import { parseArgs } from 'node:util';
import { loadPlanetoid } from '../src/data/planetoid-node.ts';
import { Gpu } from '../src/gpu/gpu.ts';
import { datasetShape, deviceLimits, estimateTrainingMemory, formatBytes } from '../src/train/budget.ts';
import type { NodeDataset } from '../src/train/data.ts';
import { resolveRunOptions } from '../src/train/options.ts';
import { type RunConfig, trainNodeClassifier } from '../src/train/run.ts';
import { ARXIV, scaled, syntheticDataset } from './synthetic.ts';

const { values } = parseArgs({ options: { fractions: { type: 'string', default: '0.1,0.25' } } });
const fractions = values.fractions!.split(',').map(Number);

const datasets: [string, NodeDataset][] = [['Cora', await loadPlanetoid('cora', { download: false })]];
for (const f of fractions) datasets.push([`ogbn-arxiv shape x ${f}`, syntheticDataset(scaled(ARXIV, f))]);
const configs: RunConfig[] = [{ epochs: 2 }, { epochs: 2, model: 'gat', residual: true }];

console.log('| device | dataset | configuration | allocated | estimate | ratio |');
console.log('|---|---|---|---:|---:|---:|');
const devices = [
  ['adapter limits (fused attention)', {}],
  ['default limits (separate attention kernels)', { defaultLimits: true }],
  ['GPU-shaped kernels (fused attention)', { kernels: 'gpu' }],
] as const;
for (const [device, options] of devices) {
  const gpu = await Gpu.create(options);
  for (const [name, d] of datasets) {
    for (const cfg of configs) {
      gpu.pool.trim();
      const before = gpu.pool.bytesAllocated;
      const r = await trainNodeClassifier(gpu, d, cfg);
      const allocated = gpu.pool.bytesAllocated - before;
      r.model.dispose();
      r.data.dispose();
      r.trainer.dispose();
      const est = estimateTrainingMemory(datasetShape(d), resolveRunOptions(cfg), deviceLimits(gpu));
      const c = `${cfg.model ?? 'gatv2'}${cfg.residual ? ', residual' : ''}`;
      const row = [device, name, c, formatBytes(allocated), formatBytes(est.total), (allocated / est.total).toFixed(4)];
      console.log(`| ${row.join(' | ')} |`);
    }
  }
  gpu.destroy();
}
