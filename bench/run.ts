// The benchmark driver: `npm run bench [-- --only node,kernels,scale,chromium,peer] [--quick] [--out DIR]`.
//
//   node      ceilings (copy GB/s, our matmul GFLOP/s), the Cora training epoch and a MUTAG graph-classification
//             epoch (batch 32), each with its kernel profile, in Node
//   kernels   every edge kernel (with and without edge features) and the graph readout kernels on power-law graphs
//             of 1e3 .. 1e6 edges, in Node
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
import { runChromium, type ChromiumResults } from './browser/run-browser.ts';
import { runNode, type NodeResults } from './node/run-node.ts';
import { deviceLabel, num, pct } from './report.ts';
import { graphEpochTable } from './suites/graph.ts';
import { ceilingRates } from './suites/ceilings.ts';
import {
  ceilingsTable,
  CORA_TARGET_MS,
  edgeFeatureTable,
  kernelsTable,
  readoutTable,
  MEMORY_TARGET_RATIO,
  PEER_TARGET_RATIO,
  peerTable,
  profileTable,
  scaleTable,
  targetsTable,
  trainTable,
  type TargetStatus,
} from './tables.ts';

const PARTS = ['node', 'kernels', 'scale', 'chromium', 'peer'] as const;
type Part = (typeof PARTS)[number];

function parse(): { parts: Set<Part>; quick: boolean; out: string } {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log('Usage: npm run bench -- [--only node,kernels,scale,chromium,peer] [--quick] [--out DIR]');
    process.exit(0);
  }
  const parts = (values.only ?? PARTS.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const p of parts)
    if (!PARTS.includes(p as Part)) throw new Error(`--only: unknown part '${p}' (parts: ${PARTS.join(', ')})`);
  // Quick runs go beside the published results, never over them.
  const out = values.out ?? (values.quick ? 'bench/results/quick' : 'bench/results');
  return { parts: new Set(parts as Part[]), quick: values.quick, out };
}

const started = performance.now();
const log = (m: string) =>
  console.error(`[bench ${((performance.now() - started) / 1e3).toFixed(0).padStart(4)} s] ${m}`);
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  const { parts, quick, out } = parse();
  const loadBefore = load();
  log(
    `parts: ${[...parts].join(', ')}${quick ? ' (quick)' : ''}; load average ${loadBefore} on ${os.cpus().length} ` +
      `cores`,
  );
  const cora = await loadPlanetoid('cora', { log });

  let node: NodeResults | undefined;
  if (parts.has('node') || parts.has('kernels') || parts.has('scale')) {
    node = await runNode(
      { node: parts.has('node'), kernels: parts.has('kernels'), scale: parts.has('scale') },
      quick,
      cora,
      log,
    );
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
  if (node?.cora)
    add('node', trainTable(node.runtime, node.cora, CORA_TARGET_MS)),
      add('node', profileTable(node.runtime, node.cora));
  if (node?.mutag) add('node', graphEpochTable(deviceLabel(node.runtime.device), node.mutag));
  if (node?.kernels && node.ceilings) {
    if (!parts.has('node')) add('kernels', ceilingsTable(node.runtime, node.ceilings));
    add('kernels', kernelsTable(node.runtime, node.kernels.rows, ceilingRates(node.ceilings)));
    const rows = node.kernels.rows;
    for (const t of [edgeFeatureTable(node.runtime, rows), readoutTable(node.runtime, rows)]) if (t) add('kernels', t);
  }
  if (node?.scale) add('scale', scaleTable(node.runtime, node.scale));
  if (chromium?.ceilings) add('chromium', ceilingsTable(chromium.runtime, chromium.ceilings));
  if (chromium?.kernels && chromium.ceilings) {
    add('chromium', kernelsTable(chromium.runtime, chromium.kernels.rows, ceilingRates(chromium.ceilings)));
    const rows = chromium.kernels.rows;
    for (const t of [edgeFeatureTable(chromium.runtime, rows), readoutTable(chromium.runtime, rows)])
      if (t) add('chromium', t);
  }
  if (chromium?.cora && parts.has('chromium'))
    add('chromium', trainTable(chromium.runtime, chromium.cora)),
      add('chromium', profileTable(chromium.runtime, chromium.cora));
  if (chromium?.peer && chromium.cora)
    add(
      'peer',
      peerTable(
        chromium.runtime,
        chromium.cora,
        chromium.peer.result,
        chromium.peer.options.epochs,
        chromium.peer.ours,
      ),
    );

  const targets: TargetStatus[] = [];
  if (node?.cora) {
    const ms = node.cora.msPerEpoch;
    targets.push({
      target: `Cora paper configuration, Node, <= ${CORA_TARGET_MS} ms per training epoch`,
      measured: `${num(ms)} ms`,
      status: ms <= CORA_TARGET_MS ? 'met' : `missed, ${num(ms / CORA_TARGET_MS)}x over`,
    });
  }
  if (chromium?.peer && chromium.cora) {
    const r = chromium.peer.result.msPerEpoch / chromium.cora.msPerEpoch;
    targets.push({
      target: `>= ${PEER_TARGET_RATIO}x faster than the TF.js peer (same Chromium page)`,
      measured: `${num(r)}x (${num(chromium.peer.result.msPerEpoch)} vs ${num(chromium.cora.msPerEpoch)} ms)`,
      status: r >= PEER_TARGET_RATIO ? 'met' : 'missed',
    });
  }
  const big = node?.scale?.at(-1);
  if (big) {
    const full = big.fraction === 1 ? 'ogbn-arxiv size' : `${num(big.fraction)} of ogbn-arxiv`;
    targets.push({
      target: `${full} trains; peak GPU memory <= ${MEMORY_TARGET_RATIO}x (inputs + params + kept)`,
      measured: `trains, ${num(big.msPerEpoch)} ms per epoch; peak ${num(big.ratio)}x`,
      status: big.ratio <= MEMORY_TARGET_RATIO ? 'met' : 'missed',
    });
  }

  const device = node ? deviceLabel(node.runtime.device) : chromium ? deviceLabel(chromium.runtime.device) : 'n/a';
  const header = [
    `# webgpu-gat benchmarks${quick ? ' (--quick)' : ''}`,
    '',
    `Run ${new Date().toISOString()} with \`npm run bench -- --only ` +
      `${[...parts].join(',')}${quick ? ' --quick' : ''}\` in ${num(seconds)} s.`,
    `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), load average (1, 5, 15 min) ` +
      `${loadBefore} before, ${loadAfter} after.`,
    `Node ${process.version}${chromium ? `; ${chromium.userAgent}` : ''}.`,
    '',
    'On a CPU driver (SwiftShader) every time is CPU time: compare ratios measured in the same run, not absolute ' +
      'numbers.',
    '',
  ].join('\n');
  const meta = {
    date: new Date().toISOString(),
    quick,
    parts: [...parts],
    seconds,
    loadBefore,
    loadAfter,
    cores: os.cpus().length,
    node: process.version,
    userAgent: chromium?.userAgent,
  };

  mkdirSync(out, { recursive: true });
  const raw: Record<Part, unknown> = {
    node:
      node && parts.has('node')
        ? { runtime: node.runtime, ceilings: node.ceilings, cora: node.cora, mutag: node.mutag }
        : undefined,
    kernels: node?.kernels ? { runtime: node.runtime, ceilings: node.ceilings, ...node.kernels } : undefined,
    scale: node?.scale ? { runtime: node.runtime, rows: node.scale } : undefined,
    chromium:
      chromium && parts.has('chromium')
        ? { runtime: chromium.runtime, ceilings: chromium.ceilings, kernels: chromium.kernels, cora: chromium.cora }
        : undefined,
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
  if (chromium?.peer)
    log(`peer accuracy ${pct(chromium.peer.result.testAcc)} after ${chromium.peer.result.epochsRun} epochs`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
