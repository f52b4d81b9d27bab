// The GPU run in one command (bench/device/README.md): on the machine at hand, prints the adapter first (which
// proves what ran), then the ceilings, the kernel sweep up to 1e7 edges with both kernel shapes, the Cora training
// epoch with both shapes and the arxiv-sized scale run, and writes gpu.md and gpu.json.
//
//   node bench/device/gpu-run.ts [--dry-run] [--out DIR] [--budget-s S]
//
// --dry-run: reduced sizes (sweep to 1e4 edges, short Cora runs, a 1/256-sized scale graph), for a check of the
// whole path on a CPU driver in a few minutes; the default sizes are for a GPU. Output goes to --out, else $OUT
// (the folder a device machine hands back), else bench/results/gpu. --budget-s skips parts that would start after
// that many seconds (default 420: the run fits a call of 8 minutes).
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadPlanetoid } from '../../src/data/planetoid-node.ts';
import { Gpu } from '../../src/gpu/gpu.ts';
import { deviceLabel } from '../report.ts';
import {
  ceilingRates,
  CEILINGS_FULL,
  CEILINGS_QUICK,
  measureCeilings,
  type CeilingOptions,
  type Ceilings,
} from '../suites/ceilings.ts';
import { kernelSweep, KERNELS_FULL, type KernelRow, type KernelSweepOptions } from '../suites/kernels.ts';
import { scaleRun, SCALE_FULL, type ScaleRow, type ScaleSize } from '../suites/scale.ts';
import { trainEpochs, type TrainOptions, type TrainResult } from '../suites/train.ts';
import { ceilingsTable, kernelsTable, profileTable, scaleTable, trainTable, type Runtime } from '../tables.ts';

interface Plan {
  ceilings: CeilingOptions;
  kernels: KernelSweepOptions;
  cora: TrainOptions;
  scale: ScaleSize[];
}

const GPU_PLAN: Plan = {
  ceilings: { ...CEILINGS_FULL, copyBytes: 1024 * 2 ** 20, streamElements: 64 * 2 ** 20, matmulSize: 2048, reps: 5 },
  kernels: { ...KERNELS_FULL, sizes: [1e3, 1e4, 1e5, 1e6, 1e7], reps: 7, largeReps: 5, large: 5e6 },
  cora: { warmup: 5, epochs: 100, profileEpochs: 2 },
  scale: SCALE_FULL,
};

const DRY_PLAN: Plan = {
  ceilings: CEILINGS_QUICK,
  kernels: { ...KERNELS_FULL, sizes: [1e3, 1e4], reps: 3, largeReps: 3 },
  cora: { warmup: 2, epochs: 10, profileEpochs: 1 },
  scale: [{ fraction: 1 / 256, epochs: 2, warmup: 1 }],
};

const { values } = parseArgs({
  options: {
    'dry-run': { type: 'boolean', default: false },
    out: { type: 'string' },
    'budget-s': { type: 'string', default: '420' },
  },
});
const dry = values['dry-run']!;
const plan = dry ? DRY_PLAN : GPU_PLAN;
const out = values.out ?? process.env.OUT ?? 'bench/results/gpu';
const budgetS = Number(values['budget-s']);
const started = performance.now();
const elapsedS = () => (performance.now() - started) / 1e3;
const lines: string[] = [];
const log = (m: string) => {
  const line = `[gpu-run ${elapsedS().toFixed(0).padStart(4)} s] ${m}`;
  console.log(line);
  lines.push(line);
};
const skipped: string[] = [];
const inBudget = (part: string) => {
  if (elapsedS() < budgetS) return true;
  skipped.push(part);
  log(`skipped ${part}: ${elapsedS().toFixed(0)} s are past the budget of ${budgetS} s`);
  return false;
};

const gpu = await Gpu.create({ log });
const runtime: Runtime = { name: 'Node', device: gpu.adapterInfo, timestamps: gpu.hasTimestamps };
const lim = gpu.device.limits;
log(`adapter: ${JSON.stringify(gpu.adapterInfo)}`);
log(
  `kernel shape (auto): ${gpu.kernelShape}; features: ${[...gpu.features].join(', ') || 'none'}; ` +
    `max storage binding ${lim.maxStorageBufferBindingSize} B, workgroup storage ` +
    `${lim.maxComputeWorkgroupStorageSize} B`,
);
log(`${dry ? 'DRY RUN (reduced sizes)' : 'full sizes'}; node ${process.version} on ${os.cpus().length} cores`);
if (!dry && gpu.kernelShape === 'cpu') log('warning: this adapter is a CPU driver or a fallback adapter, not a GPU');

const results: {
  adapter: typeof gpu.adapterInfo;
  dryRun: boolean;
  ceilings?: Ceilings;
  kernels?: KernelRow[];
  cora: Partial<Record<'cpu' | 'gpu', TrainResult>>;
  scale?: ScaleRow[];
  skipped: string[];
  seconds?: number;
} = { adapter: gpu.adapterInfo, dryRun: dry, cora: {}, skipped };
const other = await Gpu.create({ log, kernels: gpu.kernelShape === 'cpu' ? 'gpu' : 'cpu' });
const byShape = { [gpu.kernelShape]: gpu, [other.kernelShape]: other } as Record<'cpu' | 'gpu', Gpu>;
try {
  log('ceilings');
  results.ceilings = await measureCeilings(gpu, plan.ceilings, log);
  const cora = await loadPlanetoid('cora', { log });
  for (const shape of ['gpu', 'cpu'] as const) {
    if (!inBudget(`Cora epoch (${shape} shapes)`)) continue;
    log(`Cora training epochs, ${shape} kernel shapes`);
    results.cora[shape] = await trainEpochs(byShape[shape], cora, plan.cora, log);
    log(`Cora, ${shape} shapes: ${results.cora[shape]!.msPerEpoch.toFixed(3)} ms per epoch`);
  }
  results.kernels = [];
  for (const size of plan.kernels.sizes) {
    for (const shape of ['gpu', 'cpu'] as const) {
      if (!inBudget(`kernel sweep at ${size} edges (${shape} shapes)`)) continue;
      results.kernels.push(
        ...(await kernelSweep(byShape[shape], { ...plan.kernels, sizes: [size] }, ceilingRates(results.ceilings), log)),
      );
    }
  }
  if (inBudget('scale run')) {
    log('scale (arxiv-shaped synthetic graphs)');
    results.scale = await scaleRun(gpu, plan.scale, log);
  }
} finally {
  other.destroy();
  gpu.destroy();
}
results.seconds = elapsedS();

const md: string[] = [
  `# GPU run${dry ? ' (DRY RUN on this adapter, reduced sizes: not GPU numbers)' : ''}`,
  '',
  `Adapter: ${deviceLabel(gpu.adapterInfo)}. Kernel shape chosen by default: ${gpu.kernelShape}. ` +
    `${results.seconds.toFixed(0)} s in all.`,
  skipped.length ? `Skipped for the time budget: ${skipped.join('; ')}.` : '',
  '',
];
if (results.ceilings) md.push(ceilingsTable(runtime, results.ceilings));
for (const shape of ['gpu', 'cpu'] as const) {
  const t = results.cora[shape];
  if (t)
    md.push(
      trainTable(runtime, t).replace('(Node)', `(Node, ${shape} kernel shapes)`),
      profileTable(runtime, t).replace('profiled)', `profiled, ${shape} kernel shapes)`),
    );
}
if (results.kernels?.length && results.ceilings)
  md.push(kernelsTable(runtime, results.kernels, ceilingRates(results.ceilings)));
if (results.scale) md.push(scaleTable(runtime, results.scale));
mkdirSync(out, { recursive: true });
const stem = dry ? `gpu-dry-run-${(gpu.adapterInfo.architecture || 'adapter').replace(/[^a-z0-9-]/gi, '')}` : 'gpu';
writeFileSync(join(out, `${stem}.md`), md.join('\n') + '\n');
writeFileSync(join(out, `${stem}.json`), JSON.stringify(results, null, 1) + '\n');
writeFileSync(join(out, `${stem}.log`), lines.join('\n') + '\n');
console.log(md.join('\n'));
log(`wrote ${join(out, stem)}.md, .json and .log`);
