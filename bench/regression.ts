// No-regression check of the Cora training epoch in Node between two checkouts of this repository:
//
//   node --import tsx --import ./tools/wgsl-loader.mjs bench/regression.ts --baseline DIR [--candidate DIR]
//        [--rounds 6] [--warmup 3] [--epochs 30] [--out bench/results/swiftshader-regression.json]
//
// Each round runs one process per checkout, in alternating order (A B, B A, ...), so that a change in the load of a
// shared machine falls on both sides alike. A process trains the paper configuration on Cora with the checkout's
// own trainer, model and data code (the bench's Cora epoch: forward, loss, backward, Adam, no evaluation pass; the
// default kernel shapes of the device), runs the warm-up epochs, waits for the device, then times the measured
// epochs: wall milliseconds and the process's CPU milliseconds (user + system, every thread, process.cpuUsage) per
// epoch. CPU time is the fairer measure on a machine shared with other work: it counts only this process's work.
// Each process also hashes its weights (SHA-256 of the parameter values) after all its epochs: with seed 0 on the
// same device, equal hashes on both sides mean the arithmetic did not change (`--warmup 3 --epochs 197`: after 200).
// Prints a markdown table and writes the raw numbers as JSON.
//
// The child side (`--child`) imports nothing of this checkout: only the measured checkout's modules, by path.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

interface ChildResult {
  wallMsPerEpoch: number;
  cpuMsPerEpoch: number;
  /** The final loss: the same on both sides when the arithmetic is unchanged. */
  finalLoss: number;
  /** SHA-256 of the parameter values after every epoch (warm-up and measured), hex. */
  weightsSha256: string;
  kernelShape: string;
  adapter: string;
}

interface Side {
  label: string;
  dir: string;
  commit: string;
  runs: ChildResult[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** One measurement in this process, with the checkout at `root`. */
async function child(root: string, warmup: number, epochs: number): Promise<void> {
  const load = (p: string) => import(pathToFileURL(join(root, p)).href);
  const { Gpu } = await load('src/gpu/gpu.ts');
  const { loadPlanetoid } = await load('src/data/planetoid-node.ts');
  const { uploadDataset } = await load('src/train/data.ts');
  const { GATModel } = await load('src/nn/model.ts');
  const { PAPER_CONFIG } = await load('src/train/run.ts');
  const { Trainer } = await load('src/train/trainer.ts');

  const dataset = await loadPlanetoid('cora');
  const gpu = await Gpu.create({ log: () => {} });
  const data = uploadDataset(gpu, dataset);
  const config = { ...PAPER_CONFIG, inChannels: dataset.numFeatures, outChannels: dataset.numClasses };
  const model = new GATModel(config).init(gpu, { seed: PAPER_CONFIG.seed });
  const trainer = new Trainer(gpu, model, data, { ...PAPER_CONFIG, epochs: warmup + epochs, evaluate: false });
  // As Trainer.run does: at most two epochs queued ahead of the device.
  const record = async (n: number) => {
    const queued: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      queued.push(trainer.recordEpoch());
      if (queued.length >= 2) await queued.shift();
    }
    await Promise.all(queued);
    await gpu.sync();
  };
  await record(warmup);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await record(epochs);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const history = await trainer.metrics();
  const w = (await model.parameterStore.values.read()) as Float32Array;
  const weightsSha256 = createHash('sha256')
    .update(new Uint8Array(w.buffer, w.byteOffset, w.byteLength))
    .digest('hex');
  const result: ChildResult = {
    wallMsPerEpoch: wall / epochs,
    cpuMsPerEpoch: (cpu.user + cpu.system) / 1e3 / epochs,
    finalLoss: history[history.length - 1].loss,
    weightsSha256,
    kernelShape: gpu.kernelShape ?? 'cpu (the only shape)',
    adapter: [gpu.adapterInfo?.vendor, gpu.adapterInfo?.architecture, gpu.adapterInfo?.description]
      .filter(Boolean)
      .join(' '),
  };
  trainer.dispose();
  model.dispose();
  data.dispose();
  console.log(JSON.stringify(result));
  process.exit(0); // the device keeps the event loop alive
}

function runChild(side: Side, warmup: number, epochs: number): ChildResult {
  const self = fileURLToPath(import.meta.url);
  const args = ['--import', 'tsx', '--import', './tools/wgsl-loader.mjs', self];
  args.push('--child', side.dir, '--warmup', String(warmup), '--epochs', String(epochs));
  const r = spawnSync(process.execPath, args, { cwd: side.dir, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${side.label} (${side.dir}) failed (exit ${r.status}):\n${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as ChildResult;
}

function commitOf(dir: string): string {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

function report(sides: [Side, Side], o: { rounds: number; warmup: number; epochs: number }, command: string): string {
  const f = (x: number) => x.toFixed(1);
  const stats = (s: Side, k: 'wallMsPerEpoch' | 'cpuMsPerEpoch') => {
    const xs = s.runs.map((r) => r[k]);
    return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), all: xs };
  };
  const lines = [
    `Command: \`${command}\``,
    `${o.rounds} rounds, alternating order; per process ${o.warmup} warm-up epochs, then ${o.epochs} measured.`,
    `Adapter: ${sides[0].runs[0].adapter}; kernel shapes: ` +
      `${sides.map((s) => `${s.label} ${s.runs[0].kernelShape}`).join(', ')}.`,
    `Load average before / after: ${loadBefore} / ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} on ${os.cpus().length} cores.`,
    '',
    '| side | commit | measure | median ms/epoch | min | max | every run |',
    '| --- | --- | --- | ---: | ---: | ---: | --- |',
  ];
  for (const s of sides)
    for (const k of ['wallMsPerEpoch', 'cpuMsPerEpoch'] as const) {
      const st = stats(s, k);
      const what = k === 'wallMsPerEpoch' ? 'wall' : 'CPU';
      lines.push(
        `| ${s.label} | ${s.commit} | ${what} | ${f(st.median)} | ${f(st.min)} | ${f(st.max)} | ` +
          `${st.all.map(f).join(', ')} |`,
      );
    }
  lines.push('');
  for (const k of ['wallMsPerEpoch', 'cpuMsPerEpoch'] as const) {
    const r = stats(sides[1], k).median / stats(sides[0], k).median;
    lines.push(
      `- ${k === 'wallMsPerEpoch' ? 'Wall' : 'CPU'} time, ${sides[1].label} / ${sides[0].label}: ${r.toFixed(3)}`,
    );
  }
  const losses = sides.map((s) => [...new Set(s.runs.map((r) => r.finalLoss))]);
  lines.push(`- Final loss: ${sides.map((s, i) => `${s.label} ${losses[i].join(', ')}`).join('; ')}`);
  const hashes = sides.map((s) => [...new Set(s.runs.map((r) => r.weightsSha256))]);
  const same = hashes[0].length === 1 && hashes[1].length === 1 && hashes[0][0] === hashes[1][0];
  lines.push(
    `- Weights after ${o.warmup + o.epochs} epochs (SHA-256): ` +
      `${sides.map((s, i) => `${s.label} ${hashes[i].join(', ')}`).join('; ')}: ` +
      `${same ? 'byte-identical' : 'they differ'}`,
  );
  return lines.join('\n');
}

const loadBefore = os
  .loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      baseline: { type: 'string' },
      candidate: { type: 'string' },
      rounds: { type: 'string', default: '6' },
      warmup: { type: 'string', default: '3' },
      epochs: { type: 'string', default: '30' },
      out: { type: 'string', default: 'bench/results/swiftshader-regression.json' },
    },
  });
  const count = (name: 'rounds' | 'warmup' | 'epochs', min: number) => {
    const v = Number(values[name]);
    if (!Number.isInteger(v) || v < min)
      throw new Error(`--${name}: expected a whole number >= ${min}, got '${values[name]}'`);
    return v;
  };
  const rounds = count('rounds', 1);
  const warmup = count('warmup', 1);
  const epochs = count('epochs', 1);
  if (values.child !== undefined) return child(resolve(values.child), warmup, epochs);
  if (values.baseline === undefined) throw new Error('--baseline: the checkout to compare with is required');
  const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const mk = (label: string, dir: string): Side => ({
    label,
    dir: resolve(dir),
    commit: commitOf(resolve(dir)),
    runs: [],
  });
  const sides: [Side, Side] = [mk('baseline', values.baseline), mk('candidate', values.candidate ?? here)];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? sides : [sides[1], sides[0]];
    for (const s of order) {
      const res = runChild(s, warmup, epochs);
      s.runs.push(res);
      console.error(
        `round ${r + 1}/${rounds} ${s.label}: ${res.wallMsPerEpoch.toFixed(1)} ms wall, ` +
          `${res.cpuMsPerEpoch.toFixed(1)} ms CPU per epoch`,
      );
    }
  }
  const command =
    `node --import tsx --import ./tools/wgsl-loader.mjs bench/regression.ts ` + `${process.argv.slice(2).join(' ')}`;
  const md = report(sides, { rounds, warmup, epochs }, command);
  console.log(md);
  mkdirSync(dirname(values.out!), { recursive: true });
  // Checkouts as paths relative to this one: the results say nothing of the machine's folders.
  const saved = sides.map((s) => ({ ...s, dir: relative(here, s.dir) || '.' }));
  writeFileSync(values.out!, `${JSON.stringify({ rounds, warmup, epochs, loadBefore, sides: saved }, null, 2)}\n`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
