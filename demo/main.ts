// The demo page: trains GAT / GATv2 on Cora or Citeseer on the GPU with live curves, kernel timings and an
// attention view. The loop awaits each epoch's GPU completion, so the page stays responsive while it trains.
// Its second tab, the molecule mode (molecules.ts), trains a graph classifier on MUTAG.
import type { PlanetoidName } from '../src/data/planetoid.ts';
import { Gpu } from '../src/gpu/gpu.ts';
import { summarize, type EpochMetrics } from '../src/train/trainer.ts';
import { showAdapter, showUnavailable } from './adapter-panel.ts';
import { AttentionView } from './attention-view.ts';
import { Cadence } from './cadence.ts';
import { MetricCharts } from './charts.ts';
import { Controls, type RunState } from './controls.ts';
import { loadDataset } from './dataset.ts';
import { KernelTable } from './kernel-table.ts';
import { setUpMolecules } from './molecules.ts';
import { TrainingSession } from './session.ts';
import { setUpTabs } from './tabs.ts';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);

const controls = new Controls(byId<HTMLFormElement>('controls'));
const charts = new MetricCharts(byId('chart-loss'), byId('chart-acc'));
const kernels = new KernelTable(byId<HTMLTableElement>('kernel-table'), byId('kernel-note'));
const attention = new AttentionView({
  input: byId<HTMLInputElement>('node-id'),
  list: byId<HTMLUListElement>('node-list'),
  svg: document.getElementById('ego-graph') as unknown as SVGSVGElement,
  summary: byId('node-summary'),
  table: byId<HTMLTableElement>('attention-table'),
});
const stats = {
  epoch: byId('stat-epoch'),
  test: byId('stat-test'),
  best: byId('stat-best'),
  speed: byId('stat-speed'),
};

let gpu: Gpu;
let session: TrainingSession | null = null;
let state: RunState = 'busy';
let loop: Promise<void> = Promise.resolve();
/** Time spent training (pauses excluded), for epochs per second. */
let activeMs = 0;

function setState(s: RunState): void {
  state = s;
  controls.setState(s);
}

function fail(err: unknown): void {
  console.error(err);
  controls.say(`Error: ${(err as Error)?.message ?? err}`, 'error');
  setState(session ? 'done' : 'idle');
}

function showStats(history: readonly EpochMetrics[], s: TrainingSession): void {
  if (history.length === 0) return;
  const { final, best } = summarize([...history]);
  stats.epoch.textContent = `${final.epoch} / ${s.config.epochs}`;
  stats.test.textContent = pct(final.testAcc);
  stats.best.textContent = best ? `${pct(best.testAcc)} (epoch ${best.epoch}, validation ${pct(best.valAcc)})` : '–';
  stats.speed.textContent = activeMs > 0 ? (s.epoch / (activeMs / 1000)).toFixed(1) : '–';
}

async function trainLoop(s: TrainingSession): Promise<void> {
  // Kernels are timed on one epoch in ten (profiling puts each dispatch in a pass of its own, so it is slower);
  // metrics are read back after every epoch on a slow GPU, at most 20 times a second on a fast one.
  const profiling = new Cadence(10, 1000);
  const reading = new Cadence(1, 50);
  const inspecting = new Cadence(10, 500);
  let last = performance.now();
  while (state === 'running' && !s.done) {
    const e = s.epoch;
    const summary = await s.step(gpu.hasTimestamps && e >= 1 && profiling.due(e));
    const now = performance.now();
    activeMs += now - last;
    last = now;
    if (summary) kernels.show(summary, e + 1);
    if (reading.due(s.epoch) || s.done) {
      const history = await s.metrics();
      charts.update(history);
      showStats(history, s);
    }
    if (s.epoch === 1 || inspecting.due(s.epoch)) attention.show(await s.inspect());
  }
  if (s !== session) return; // reset meanwhile
  const history = await s.metrics();
  charts.update(history);
  showStats(history, s);
  attention.show(await s.inspect());
  if (s.done) {
    setState('done');
    controls.say(`Finished ${s.config.epochs} epochs. Reset to train again.`);
  } else {
    controls.say(`Paused after epoch ${s.epoch}.`);
  }
}

async function start(): Promise<void> {
  await loop; // a paused loop finishes its epoch first
  if (!session) {
    let config: ReturnType<typeof controls.read>;
    try {
      config = controls.read();
    } catch (err) {
      controls.say((err as Error).message, 'error'); // a setting out of range: say which
      return;
    }
    setState('busy');
    controls.say(`Loading ${config.dataset}…`);
    const dataset = await loadDataset(config.dataset);
    controls.say('Building the model…');
    session = new TrainingSession(gpu, dataset, config);
    attention.reset(dataset);
    activeMs = 0;
  }
  setState('running');
  controls.say(`Training ${session.config.model === 'gat' ? 'GAT' : 'GATv2'} on ${session.config.dataset}…`);
  loop = trainLoop(session).catch(fail);
}

async function reset(): Promise<void> {
  const s = session;
  session = null; // the loop sees this and stops after its epoch
  setState('busy');
  await loop;
  await s?.dispose();
  charts.clear();
  kernels.clear();
  attention.reset(null);
  for (const el of Object.values(stats)) el.textContent = '–';
  setState('idle');
  await describeDataset();
}

/** Loads the chosen dataset ahead of Start and says what it is. */
async function describeDataset(): Promise<void> {
  const name = controls.read().dataset as PlanetoidName;
  try {
    const d = await loadDataset(name);
    if (state === 'idle')
      controls.say(
        `${name}: ${d.numNodes} nodes, ${d.numEdges} edges, ${d.numFeatures} features, ${d.numClasses} classes. Ready.`,
      );
  } catch (err) {
    controls.say(`Could not load ${name}: ${(err as Error).message}`, 'error');
  }
}

async function main(): Promise<void> {
  setUpTabs();
  try {
    gpu = await Gpu.create();
  } catch (err) {
    const reason = !('gpu' in navigator)
      ? 'This browser does not expose WebGPU (navigator.gpu is missing).'
      : /No WebGPU adapter/.test((err as Error).message)
        ? 'This browser has WebGPU, but it offered no adapter: WebGPU may be turned off for this GPU or driver, or ' +
          'hardware acceleration is off.'
        : `Could not open a WebGPU device: ${(err as Error).message}`;
    showUnavailable(byId('unavailable'), byId('adapter'), reason);
    for (const mode of ['app', 'molecules']) byId(mode).classList.add('disabled');
    for (const status of ['status', 'mol-status']) {
      byId(status).textContent = 'WebGPU is not available.';
      byId(status).classList.add('error');
    }
    return;
  }
  showAdapter(byId('adapter'), gpu.adapterInfo, gpu.hasTimestamps);
  if (!gpu.hasTimestamps) kernels.unavailable();
  gpu.device.lost.then((info) => {
    if (info.reason !== 'destroyed') fail(new Error(`The GPU device was lost: ${info.message}`));
  });
  controls.start.addEventListener('click', () => start().catch(fail));
  controls.pause.addEventListener('click', () => state === 'running' && setState('paused'));
  controls.reset.addEventListener('click', () => reset().catch(fail));
  byId('controls').addEventListener('change', (ev) => {
    if ((ev.target as HTMLElement).getAttribute('name') === 'dataset') void describeDataset();
  });
  setUpMolecules(gpu);
  setState('idle');
  await describeDataset();
}

void main();
