// The page's molecule mode: trains a GATv2 graph classifier on MUTAG on one stratified fold, with live curves, then
// shows the test molecules with their attention and pooling weights (molecule-view.ts). Like the node mode, the
// loop awaits each epoch's GPU work, so the page stays responsive while it trains.
import type { TUDataset } from '../src/data/tu.ts';
import type { Gpu } from '../src/gpu/gpu.ts';
import { MetricCharts } from './charts.ts';
import { FormControls, type RunState } from './controls.ts';
import { MoleculeSession, type MoleculeConfig } from './molecule-session.ts';
import { ATTENTION_GRADIENT, ELEMENT_COLORS, MoleculeView } from './molecule-view.ts';
import { ELEMENTS, loadMutag } from './mutag.ts';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);

class MoleculeControls extends FormControls {
  read(): MoleculeConfig {
    const c = {
      heads: this.num('heads', true),
      hiddenChannels: this.num('hiddenChannels', true),
      numLayers: this.num('numLayers', true),
      dropout: this.num('dropout', false),
      lr: this.num('lr', false),
      batchSize: this.num('batchSize', true),
      epochs: this.num('epochs', true),
      folds: this.num('folds', true),
      fold: this.num('fold', true) - 1,
      seed: this.num('seed', true),
      edgeFeatures: this.checked('edgeFeatures'),
    };
    if (c.fold >= c.folds) throw new Error(`Fold: choose one of 1..${c.folds}`);
    return c;
  }
}

/** Sets up the mode's controls; training starts with its Start button. */
export function setUpMolecules(gpu: Gpu): void {
  const section = byId('molecules');
  const controls = new MoleculeControls(byId<HTMLFormElement>('mol-controls'), section);
  const charts = new MetricCharts(byId('mol-chart-loss'), byId('mol-chart-acc'), { label: 'test', key: 'testAcc' });
  const view = new MoleculeView({
    molecule: byId<HTMLSelectElement>('mol-molecule'),
    layer: byId<HTMLSelectElement>('mol-layer'),
    head: byId<HTMLSelectElement>('mol-head'),
    svg: document.getElementById('mol-drawing') as unknown as SVGSVGElement,
    summary: byId('mol-summary'),
  });
  const stats = {
    epoch: byId('mol-stat-epoch'),
    train: byId('mol-stat-train'),
    test: byId('mol-stat-test'),
    majority: byId('mol-stat-majority'),
    speed: byId('mol-stat-speed'),
  };
  fillLegend();

  let session: MoleculeSession | null = null;
  let state: RunState = 'busy';
  let loop: Promise<void> = Promise.resolve();
  /** Time in epochs after the first (which compiles the GPU pipelines), and how many, for epochs per second. */
  let activeMs = 0;
  let timedEpochs = 0;

  const setState = (s: RunState) => {
    state = s;
    controls.setState(s);
  };
  const fail = (err: unknown) => {
    console.error(err);
    controls.say(`Error: ${(err as Error)?.message ?? err}`, 'error');
    setState(session ? 'done' : 'idle');
  };

  const showStats = (s: MoleculeSession) => {
    const history = s.metrics();
    const last = history[history.length - 1];
    if (!last) return;
    stats.epoch.textContent = `${last.epoch} / ${s.config.epochs}`;
    stats.train.textContent = pct(last.trainAcc);
    stats.test.textContent = pct(last.testAcc);
    stats.speed.textContent = timedEpochs > 0 ? (timedEpochs / (activeMs / 1000)).toFixed(1) : '–';
    charts.update(history);
  };

  async function trainLoop(s: MoleculeSession): Promise<void> {
    let lastDrawn = -Infinity;
    while (state === 'running' && !s.done) {
      const t0 = performance.now();
      await s.step();
      const now = performance.now();
      if (s.epoch > 1) {
        activeMs += now - t0;
        timedEpochs++;
      }
      showStats(s);
      // Redraw the molecule every tenth epoch, at most every two seconds.
      if (s.epoch === 1 || (s.epoch % 10 === 0 && now - lastDrawn > 2000)) {
        view.show(await s.inspect());
        lastDrawn = performance.now();
      }
    }
    if (s !== session) return; // reset meanwhile
    showStats(s);
    view.show(await s.inspect());
    if (s.done) {
      setState('done');
      controls.say(`Finished ${s.config.epochs} epochs. Reset to train again.`);
    } else {
      controls.say(`Paused after epoch ${s.epoch}.`);
    }
  }

  async function start(): Promise<void> {
    await loop;
    if (!session) {
      let config: MoleculeConfig;
      try {
        config = controls.read();
      } catch (err) {
        controls.say((err as Error).message, 'error');
        return;
      }
      setState('busy');
      controls.say('Loading MUTAG…');
      const dataset = await loadMutag();
      controls.say('Building the model…');
      session = new MoleculeSession(gpu, dataset, config);
      view.reset(dataset);
      activeMs = 0;
      timedEpochs = 0;
      stats.majority.textContent = pct(session.majorityShare);
      section.dataset.majority = String(session.majorityShare);
      section.dataset.edgeDim = String(session.model.config.edgeDim);
    }
    setState('running');
    const { fold, folds, edgeFeatures } = session.config;
    controls.say(
      `Training on fold ${fold + 1} of ${folds}: ${session.fold.train.length} molecules, ` +
        `testing on ${session.fold.test.length}; attention ${edgeFeatures ? 'reads' : 'ignores'} the bond types…`,
    );
    loop = trainLoop(session).catch(fail);
  }

  async function reset(): Promise<void> {
    const s = session;
    session = null;
    setState('busy');
    await loop;
    await s?.dispose();
    charts.clear();
    view.reset(null);
    for (const el of Object.values(stats)) el.textContent = '–';
    setState('idle');
    await describe();
  }

  async function describe(): Promise<void> {
    try {
      const d: TUDataset = await loadMutag();
      const mutagenic = d.labels.reduce((n, y) => n + y, 0);
      if (state === 'idle') {
        controls.say(
          `MUTAG: ${d.graphs.length} molecules (${mutagenic} mutagenic), ${d.numNodes} atoms, ` +
            `${d.numEdges / 2} bonds. Ready.`,
        );
      }
    } catch (err) {
      controls.say(`Could not load MUTAG: ${(err as Error).message}`, 'error');
    }
  }

  controls.start.addEventListener('click', () => start().catch(fail));
  controls.pause.addEventListener('click', () => state === 'running' && setState('paused'));
  controls.reset.addEventListener('click', () => reset().catch(fail));
  view.reset(null);
  setState('idle');
  void describe();
}

/** The element swatches and the attention ramp of the legend. */
function fillLegend(): void {
  const list = byId('mol-elements');
  list.replaceChildren(
    ...ELEMENTS.map((el) => {
      const li = document.createElement('li');
      const dot = li.appendChild(document.createElement('span'));
      dot.className = 'atom-swatch';
      dot.style.background = ELEMENT_COLORS[el]![0];
      dot.style.color = ELEMENT_COLORS[el]![1];
      dot.textContent = el;
      return li;
    }),
  );
  byId('mol-ramp').style.background = ATTENTION_GRADIENT;
}
