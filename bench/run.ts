// The benchmark driver: `npm run bench [-- --only node,kernels,scale,chromium,peer] [--quick] [--out DIR]`.
//
//   node      ceilings (copy GB/s, our matmul GFLOP/s) and the Cora training epoch with its kernel profile, in Node
//   kernels   every edge kernel on power-law graphs of 1e3 .. 1e6 edges, in Node
//   scale     arxiv-shaped synthetic graphs up to ogbn-arxiv's size: ms per epoch and peak GPU memory, in Node
//   chromium  ceilings, kernel sweep and the Cora training epoch in headless Chromium
//   peer      the same GATv2 in TensorFlow.js (WebGPU backend) against ours, in one Chromium page session
//
// Prints markdown tables (each naming its device) and writes them with the raw results to bench/results/:
// <part>.json and <part>.md per part run, and summary.md with every table of the run. --quick runs small sizes
// and writes to bench/results/quick/ (ignored by git) unless --out says otherwise.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadPlanetoid } from '../src/data/planetoid-node.ts';
import { Gpu } from '../src/gpu/gpu.ts';
import type { NodeDataset } from '../src/train/data.ts';
import { compareApi } from './suites/api-comparison.ts';
import { runChromium, type ChromiumResults } from './browser/run-browser.ts';
import { runNode, type NodeResults } from './node/run-node.ts';
import { deviceLabel, num, pct } from './report.ts';
import {
  ceilingsTable, CORA_TARGET_MS, kernelsTable, MEMORY_TARGET_RATIO, PEER_TARGET_RATIO, peerTable, profileTable, scaleTable,
  targetsTable, trainTable, type TargetStatus,
} from './tables.ts';

const PARTS = ['node', 'kernels', 'scale', 'chromium', 'peer'] as const;
type Part = (typeof PARTS)[number];

/** Temporary: the module API's Cora epoch against the class it replaced (bench/suites/api-comparison.ts). */
async function runApiComparison(cora: NodeDataset, quick: boolean, out: string, log: (m: string) => void): Promise<void> {
  const gpu = await Gpu.create({ log: () => {} });
  const loadBefore = load();
  const o = quick ? { rounds: 2, warmup: 2, epochs: 10 } : { rounds: 6, warmup: 3, epochs: 20 };
  const r = await compareApi(gpu, cora, o, log);
  const ratio = r.modulesMedian / r.legacyMedian;
  const md = [
    '# Module API against the fixed two-layer class: Cora training epoch',
    '',
    `Run ${new Date().toISOString()} with \`npm run bench -- --only api${quick ? ' --quick' : ''}\` on ${deviceLabel(gpu.adapterInfo)}.`,
    `Machine: ${os.cpus().length} cores, load average (1, 5, 15 min) ${loadBefore} before, ${load()} after.`,
    '',
    `Paper configuration (GATv2, 8 heads x 8 hidden, dropout 0.6, Adam), training step only (forward, loss, backward,`,
    `Adam; no evaluation pass). ${r.rounds} rounds alternating the order (A B, B A, ...), each ${r.warmup} warm-up and`,
    `${r.epochs} timed epochs per variant, timed in windows of 5 epochs; medians over all windows.`,
    '',
    '| variant | median ms per epoch | host ms to record an epoch | dispatches per epoch | per-round medians (ms) |',
    '|---|---:|---:|---:|---|',
    `| fixed class (GATModel before the module API) | ${num(r.legacyMedian)} | ${num(r.recordMs.legacy)} | ${r.dispatchesPerEpoch.legacy} | ${r.perRound.map((x) => num(x.legacy)).join(', ')} |`,
    `| module API (GATModel as a Sequential) | ${num(r.modulesMedian)} | ${num(r.recordMs.modules)} | ${r.dispatchesPerEpoch.modules} | ${r.perRound.map((x) => num(x.modules)).join(', ')} |`,
    '',
    `Module API / fixed class: ${num(ratio)} (${ratio <= 1.05 ? 'within' : 'NOT within'} 5%).`,
    `After ${r.warmup + r.epochs} epochs from seed 0 the two runs' weights differ by at most ${r.weightRelDiff.toExponential(2)} of the largest weight.`,
    ...(os.loadavg()[0] > os.cpus().length
      ? ['', `The load average was above the core count: other processes took most of the CPU that SwiftShader runs on, and`,
        'the per-round medians swing with them; compare the per-round pairs and the dispatch counts, not the medians alone.']
      : []),
    '',
  ].join('\n');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'api-comparison.md'), md);
  writeFileSync(join(out, 'api-comparison.json'), JSON.stringify(r, null, 1) + '\n');
  console.log(md);
  gpu.destroy();
}

function parse(): { parts: Set<Part>; quick: boolean; out: string } {
  const { values } = parseArgs({
    options: { only: { type: 'string' }, quick: { type: 'boolean', default: false }, out: { type: 'string' }, help: { type: 'boolean', default: false } },
  });
  if (values.help) {
    console.log('Usage: npm run bench -- [--only node,kernels,scale,chromium,peer] [--quick] [--out DIR]');
    process.exit(0);
  }
  const parts = (values.only ?? PARTS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const p of parts) if (!PARTS.includes(p as Part) && p !== 'api') throw new Error(`--only: unknown part '${p}' (parts: ${PARTS.join(', ')})`);
  // Quick runs go beside the published results, never over them.
  const out = values.out ?? (values.quick ? 'bench/results/quick' : 'bench/results');
  return { parts: new Set(parts as Part[]), quick: values.quick, out };
}

const started = performance.now();
const log = (m: string) => console.error(`[bench ${((performance.now() - started) / 1e3).toFixed(0).padStart(4)} s] ${m}`);
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const { parts, quick, out } = parse();
  const loadBefore = load();
  log(`parts: ${[...parts].join(', ')}${quick ? ' (quick)' : ''}; load average ${loadBefore} on ${os.cpus().length} cores`);
  const cora = await loadPlanetoid('cora', { log });
  if ((parts as Set<string>).has('api')) {
    await runApiComparison(cora, quick, out, log);
    if (parts.size === 1) return;
  }

  let node: NodeResults | undefined;
  if (parts.has('node') || parts.has('kernels') || parts.has('scale')) {
    node = await runNode({ node: parts.has('node'), kernels: parts.has('kernels'), scale: parts.has('scale') }, quick, cora, log);
  }
  let chromium: ChromiumResults | undefined;
  if (parts.has('chromium') || parts.has('peer')) {
    chromium = await runChromium({ chromium: parts.has('chromium'), peer: parts.has('peer') }, quick, cora, log);
  }
  const loadAfter = load();
  const seconds = (performance.now() - started) / 1e3;

  // Tables per part.
  const md = new Map<Part, string[]>();
  const add = (p: Part, t: string) => (md.get(p) ?? md.set(p, []).get(p)!).push(t);
  if (node?.ceilings && parts.has('node')) add('node', ceilingsTable(node.runtime, node.ceilings));
  if (node?.cora) (add('node', trainTable(node.runtime, node.cora, CORA_TARGET_MS)), add('node', profileTable(node.runtime, node.cora)));
  if (node?.kernels && node.ceilings) {
    if (!parts.has('node')) add('kernels', ceilingsTable(node.runtime, node.ceilings));
    add('kernels', kernelsTable(node.runtime, node.kernels.rows, node.ceilings.copy.gbPerS));
  }
  if (node?.scale) add('scale', scaleTable(node.runtime, node.scale));
  if (chromium?.ceilings) add('chromium', ceilingsTable(chromium.runtime, chromium.ceilings));
  if (chromium?.kernels && chromium.ceilings) add('chromium', kernelsTable(chromium.runtime, chromium.kernels.rows, chromium.ceilings.copy.gbPerS));
  if (chromium?.cora && parts.has('chromium')) (add('chromium', trainTable(chromium.runtime, chromium.cora)), add('chromium', profileTable(chromium.runtime, chromium.cora)));
  if (chromium?.peer && chromium.cora) add('peer', peerTable(chromium.runtime, chromium.cora, chromium.peer.result, chromium.peer.options.epochs, chromium.peer.ours));

  const targets: TargetStatus[] = [];
  if (node?.cora) {
    const ms = node.cora.msPerEpoch;
    targets.push({ target: `Cora paper configuration, Node, <= ${CORA_TARGET_MS} ms per training epoch`, measured: `${num(ms)} ms`, status: ms <= CORA_TARGET_MS ? 'met' : `missed, ${num(ms / CORA_TARGET_MS)}x over` });
  }
  if (chromium?.peer && chromium.cora) {
    const r = chromium.peer.result.msPerEpoch / chromium.cora.msPerEpoch;
    targets.push({ target: `>= ${PEER_TARGET_RATIO}x faster than the TF.js peer (same Chromium page)`, measured: `${num(r)}x (${num(chromium.peer.result.msPerEpoch)} vs ${num(chromium.cora.msPerEpoch)} ms)`, status: r >= PEER_TARGET_RATIO ? 'met' : 'missed' });
  }
  const big = node?.scale?.at(-1);
  if (big) {
    const full = big.fraction === 1 ? 'ogbn-arxiv size' : `${num(big.fraction)} of ogbn-arxiv`;
    targets.push({ target: `${full} trains; peak GPU memory <= ${MEMORY_TARGET_RATIO}x (inputs + params + kept)`, measured: `trains, ${num(big.msPerEpoch)} ms per epoch; peak ${num(big.ratio)}x`, status: big.ratio <= MEMORY_TARGET_RATIO ? 'met' : 'missed' });
  }

  const device = node ? deviceLabel(node.runtime.device) : chromium ? deviceLabel(chromium.runtime.device) : 'n/a';
  const header = [
    `# webgpu-gat benchmarks${quick ? ' (--quick)' : ''}`,
    '',
    `Run ${new Date().toISOString()} with \`npm run bench -- --only ${[...parts].join(',')}${quick ? ' --quick' : ''}\` in ${num(seconds)} s.`,
    `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), load average (1, 5, 15 min) ${loadBefore} before, ${loadAfter} after.`,
    `Node ${process.version}${chromium ? `; ${chromium.userAgent}` : ''}.`,
    '',
    'On a CPU driver (SwiftShader) every time is CPU time: compare ratios measured in the same run, not absolute numbers.',
    '',
  ].join('\n');
  const meta = { date: new Date().toISOString(), quick, parts: [...parts], seconds, loadBefore, loadAfter, cores: os.cpus().length, node: process.version, userAgent: chromium?.userAgent };

  mkdirSync(out, { recursive: true });
  const raw: Record<Part, unknown> = {
    node: node && parts.has('node') ? { runtime: node.runtime, ceilings: node.ceilings, cora: node.cora } : undefined,
    kernels: node?.kernels ? { runtime: node.runtime, ceilings: node.ceilings, ...node.kernels } : undefined,
    scale: node?.scale ? { runtime: node.runtime, rows: node.scale } : undefined,
    chromium: chromium && parts.has('chromium') ? { runtime: chromium.runtime, ceilings: chromium.ceilings, kernels: chromium.kernels, cora: chromium.cora } : undefined,
    peer: chromium?.peer ? { runtime: chromium.runtime, ours: chromium.cora, peer: chromium.peer } : undefined,
  };
  const all: string[] = [header];
  if (targets.length) all.push(targetsTable(device, targets));
  for (const p of PARTS) {
    if (!parts.has(p) || !raw[p]) continue;
    const tables = md.get(p) ?? [];
    writeFileSync(join(out, `${p}.json`), JSON.stringify({ meta, ...(raw[p] as object) }, null, 1) + '\n');
    writeFileSync(join(out, `${p}.md`), [header, ...tables].join('\n'));
    all.push(...tables);
  }
  writeFileSync(join(out, 'summary.md'), all.join('\n'));
  console.log(all.join('\n'));
  log(`done in ${num(seconds)} s; results in ${out}/ (${[...parts].map((p) => `${p}.json`).join(', ')}, summary.md)`);
  if (chromium?.peer) log(`peer accuracy ${pct(chromium.peer.result.testAcc)} after ${chromium.peer.result.epochsRun} epochs`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
