// The demo page, built with Vite as `npm run build` builds it, in headless Chromium on SwiftShader: the default
// run (GATv2 on Cora, 200 epochs) reaches the paper's accuracy, the plots and the kernel table fill, the page stays
// responsive, and nothing is logged as an error. Saves docs/demo.png. The molecule mode trains a graph classifier
// on a MUTAG fold past the majority class and draws a test molecule atom for atom and bond for bond, with
// attention that sums to one at every atom for every head; saves docs/demo-molecules.png. Without WebGPU the page
// says so in both modes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { loadTUDataset } from '../../src/data/tu-node.ts';
import { launchChromium } from './chromium.ts';
import { serve, type Served } from './serve.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const SCREENSHOT = join(repo, 'docs/demo.png');
const MOLECULE_SCREENSHOT = join(repo, 'docs/demo-molecules.png');

let outDir: string;
let server: Served;

before(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'gat-demo-'));
  const t0 = performance.now();
  await build({ configFile: join(repo, 'vite.config.ts'), build: { outDir, emptyOutDir: true }, logLevel: 'warn' });
  console.log(`demo built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  server = await serve({ dir: outDir });
});

after(async () => {
  await server?.close();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

/** Uncaught exceptions and console errors of the page. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return errors;
}

const text = (page: Page, selector: string) => page.locator(selector).innerText();
const epochNow = async (page: Page) => Number((await text(page, '#stat-epoch')).split('/')[0]) || 0;

/** The longest a 10 ms timer is late over about two seconds: how long the page's main thread is blocked. */
// (A string, so that tsx's helpers for named functions do not end up in the page.)
const worstTimerLagMs = (page: Page) =>
  page.evaluate<number>(`new Promise((resolve) => {
  let worst = 0, n = 0;
  const tick = (due) => {
    worst = Math.max(worst, performance.now() - due);
    if (++n >= 200) return resolve(worst);
    setTimeout(() => tick(performance.now() + 10), 10);
  };
  setTimeout(() => tick(performance.now() + 10), 10);
})`);

test('the built page trains GATv2 on Cora for 200 epochs', { timeout: 15 * 60_000 }, async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    const errors = watchErrors(page);
    await page.goto(server.url);
    await page.waitForSelector('body[data-state="idle"]', { timeout: 60_000 });
    assert.match(await text(page, '#adapter'), /vendor/);
    // The page is idle (Start enabled) while it still loads the chosen dataset to describe it: wait for that.
    await page.waitForFunction(() => /2708 nodes/.test(document.getElementById('status')!.textContent!), null, {
      timeout: 60_000,
    });

    const t0 = performance.now();
    await page.click('#start');
    await page.waitForFunction(
      () => Number(document.getElementById('stat-epoch')!.textContent!.split('/')[0]) >= 10,
      null,
      { timeout: 120_000 },
    );

    // Responsive while training: timers run on time and Pause stops the run after its epoch.
    const lag = await worstTimerLagMs(page);
    console.log(`worst timer lag while training: ${lag.toFixed(0)} ms`);
    assert.ok(lag < 250, `the page's main thread was blocked for ${lag.toFixed(0)} ms`);
    await page.click('#pause');
    await page.waitForSelector('body[data-state="paused"]');
    await page.waitForFunction(() => /Paused/.test(document.getElementById('status')!.textContent!), null, {
      timeout: 60_000,
    });
    const pausedAt = await epochNow(page);
    await page.waitForTimeout(1000);
    assert.equal(await epochNow(page), pausedAt, 'no epoch runs while paused');
    await page.click('#start');

    await page.waitForSelector('body[data-state="done"]', { timeout: 12 * 60_000 });
    const seconds = (performance.now() - t0) / 1000;
    const test = Number((await text(page, '#stat-test')).replace('%', ''));
    console.log(
      `200 epochs in ${seconds.toFixed(1)} s (paused at ${pausedAt}); page shows ${await text(page, '#stat-speed')} ` +
        `epochs/s; ` +
        `test accuracy ${test}%, at best validation ${await text(page, '#stat-best')}`,
    );

    assert.equal(await text(page, '#stat-epoch'), '200 / 200');
    assert.ok(test >= 78, `test accuracy ${test}% is below 78%`);
    for (const id of ['chart-loss', 'chart-acc']) {
      assert.equal(await page.locator(`#${id}`).getAttribute('data-points'), '200', `${id} has one point per epoch`);
    }
    const kernelRows = await page.locator('#kernel-table tbody tr').count();
    assert.ok(kernelRows > 0, 'the kernel table has rows');
    assert.ok(Number(await text(page, '#stat-speed')) > 0);

    // The attention view: one row per incoming edge with a weight per head that sums to 1 over the edges.
    const node = Number(await page.locator('#node-id').inputValue());
    const rows = page.locator('#attention-table tbody tr');
    assert.ok((await rows.count()) > 1, `node ${node} shows its neighbours`);
    assert.equal(await page.locator('#attention-table thead th').count(), 3 + 8 + 1, 'one column per head');
    const head1 = await page.locator('#attention-table tbody tr td:nth-child(4)').allInnerTexts();
    assert.ok(Math.abs(head1.reduce((s, v) => s + Number(v), 0) - 1) < 0.01 * head1.length, 'head 1 weights sum to 1');
    // A node can be chosen from the list, in the drawing, or by id.
    const listed = page.locator('#node-list button').first();
    await listed.click();
    assert.equal(await page.locator('#node-id').inputValue(), await listed.getAttribute('data-node'));
    const neighbour = page.locator('#ego-graph circle.node:not(.centre)').first();
    const drawn = await neighbour.getAttribute('data-node');
    await neighbour.click();
    assert.equal(await page.locator('#node-id').inputValue(), drawn);
    await page.locator('#node-id').fill(String(node));
    await page.locator('#node-id').press('Enter');
    assert.match(await text(page, '#node-summary'), new RegExp(`^Node ${node} `));

    await mkdir(join(repo, 'docs'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.deepEqual(errors, [], 'no errors in the page');
  } finally {
    await browser.close();
  }
});

/** What the molecule drawing shows, read from its SVG. */
interface Drawing {
  molecule: number;
  head: string;
  layer: string;
  elements: string[];
  selfAlpha: number[];
  beta: number[];
  bonds: { u: number; v: number; type: string; strokes: number }[];
  halves: { src: number; dst: number; alpha: number }[];
}
// (A string, as above.)
const readDrawing = (page: Page) =>
  page.evaluate<Drawing>(`(() => {
  const svg = document.getElementById('mol-drawing');
  const num = (e, a) => Number(e.getAttribute(a));
  const all = (sel) => Array.from(svg.querySelectorAll(sel));
  return {
    molecule: Number(svg.dataset.molecule),
    head: svg.dataset.head,
    layer: svg.dataset.layer,
    elements: all('circle.atom').map((c) => c.getAttribute('data-element')),
    selfAlpha: all('circle.atom').map((c) => num(c, 'data-self-alpha')),
    beta: all('circle.halo').map((c) => num(c, 'data-beta')),
    bonds: all('g.bond').map((g) => ({
      u: num(g, 'data-u'), v: num(g, 'data-v'), type: g.getAttribute('data-type'),
      strokes: g.querySelectorAll('line').length,
    })),
    halves: all('g.half-bond').map((g) => ({
      src: num(g, 'data-src'), dst: num(g, 'data-dst'), alpha: num(g, 'data-alpha'),
    })),
  };
})()`);

test('the molecule mode trains a graph classifier on MUTAG and draws its test molecules', {
  timeout: 5 * 60_000,
}, async () => {
  const mutag = await loadTUDataset('MUTAG', { download: false });
  const ELEMENTS = ['C', 'N', 'O', 'F', 'I', 'Cl', 'Br'];
  const BONDS = ['aromatic', 'single', 'double', 'triple'];
  const STROKES: Record<string, number> = { aromatic: 4, single: 2, double: 4, triple: 6 }; // two halves each
  const EPOCHS = 6;
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = watchErrors(page);
    await page.goto(server.url);
    await page.waitForSelector('body[data-state="idle"]', { timeout: 60_000 });
    await page.click('#tab-molecules');
    assert.equal(await page.locator('#app').isVisible(), false, 'the node mode is hidden');
    await page.waitForSelector('#molecules[data-state="idle"]');
    await page.waitForFunction(() => /188 molecules/.test(document.getElementById('mol-status')!.textContent!), null, {
      timeout: 60_000,
    });
    assert.match(page.url(), /#molecules$/);

    await page.locator('#mol-controls input[name="epochs"]').fill(String(EPOCHS));
    assert.equal(await page.locator('#mol-controls input[name="edgeFeatures"]').isChecked(), true);
    const t0 = performance.now();
    await page.click('#mol-start');
    await page.waitForSelector('#molecules[data-state="done"]', { timeout: 4 * 60_000 });
    const seconds = (performance.now() - t0) / 1000;
    const train = Number((await text(page, '#mol-stat-train')).replace('%', ''));
    const test = Number((await text(page, '#mol-stat-test')).replace('%', ''));
    const majority = 100 * Number(await page.locator('#molecules').getAttribute('data-majority'));
    const speed = await text(page, '#mol-stat-speed');
    console.log(
      `MUTAG fold 1 of 5, ${EPOCHS} epochs in ${seconds.toFixed(1)} s (${speed} epochs/s): ` +
        `training accuracy ${train}%, test accuracy ${test}%, majority class ${majority.toFixed(1)}%`,
    );
    assert.equal(await text(page, '#mol-stat-epoch'), `${EPOCHS} / ${EPOCHS}`);
    const edgeDim = await page.locator('#molecules').getAttribute('data-edge-dim');
    assert.equal(edgeDim, '4', 'attention reads the four one-hot bond types');
    assert.ok(test > majority, `test accuracy ${test}% is not above the majority class's ${majority.toFixed(1)}%`);
    assert.match(await text(page, '#mol-stat-majority'), new RegExp(`^${majority.toFixed(1)}%$`));
    for (const id of ['mol-chart-loss', 'mol-chart-acc']) {
      const points = await page.locator(`#${id}`).getAttribute('data-points');
      assert.equal(points, String(EPOCHS), `${id} has one point per epoch`);
    }

    // The drawing matches the molecule: its atoms' elements, its bonds' types, both directions of every bond.
    const options = await page.locator('#mol-molecule option').count();
    assert.equal(options, 38, 'one option per test molecule (a fifth of 188)');
    const checkDrawing = async (what: string) => {
      const d = await readDrawing(page);
      const g = mutag.graphs[d.molecule]!;
      const elementOf = (i: number) => ELEMENTS[g.x.subarray(7 * i, 7 * i + 7).indexOf(1)];
      const elements = Array.from({ length: g.numNodes }, (_, i) => elementOf(i));
      assert.deepEqual(d.elements, elements, `${what}: one atom per node, coloured by its element`);
      assert.equal(d.bonds.length, g.numEdges / 2, `${what}: one bond per pair of directed edges`);
      assert.equal(d.halves.length, g.numEdges, `${what}: one half-bond per directed edge`);
      const E = g.numEdges;
      const edges = new Map<string, number>();
      for (let k = 0; k < E; k++) edges.set(`${g.edgeIndex[k]}-${g.edgeIndex[E + k]}`, k);
      for (const b of d.bonds) {
        const k = edges.get(`${b.u}-${b.v}`);
        assert.ok(k !== undefined, `${what}: bond ${b.u}-${b.v} is an edge of the molecule`);
        const type = BONDS[g.edgeAttr!.subarray(4 * k!, 4 * k! + 4).indexOf(1)];
        assert.equal(b.type, type, `${what}: bond ${b.u}-${b.v}'s type`);
        assert.equal(b.strokes, STROKES[b.type], `${what}: a ${b.type} bond's strokes`);
      }
      const halves = d.halves.map((h) => `${h.src}-${h.dst}`).sort();
      assert.deepEqual(halves, [...edges.keys()].sort(), `${what}: every directed edge`);
      // Softmax over each atom's incoming edges and its self loop: the weights at every atom sum to 1.
      d.selfAlpha.forEach((self, i) => {
        const sum = self + d.halves.filter((h) => h.dst === i).reduce((s, h) => s + h.alpha, 0);
        assert.ok(Math.abs(sum - 1) < 2e-3, `${what}: attention at atom ${i} sums to ${sum}`);
      });
      assert.ok(Math.abs(d.beta.reduce((s, b) => s + b, 0) - 1) < 1e-3, `${what}: the pooling weights sum to 1`);
      const summary = await text(page, '#mol-summary');
      const truth = g.y ? 'mutagenic' : 'not mutagenic';
      assert.match(summary, new RegExp(`^Molecule #${d.molecule} .*True class: ${truth}; predicted: `));
      return d;
    };
    const first = await checkDrawing('the first molecule drawn');

    // Another head, another layer, the mean of the heads, another molecule.
    await page.selectOption('#mol-head', '1');
    const head2 = await checkDrawing('head 2');
    assert.equal(head2.head, '1');
    const alphas = (d: Drawing) => d.halves.map((h) => h.alpha);
    assert.notDeepEqual(alphas(head2), alphas(first), 'head 2 has weights of its own');
    await page.selectOption('#mol-layer', '1');
    assert.equal((await checkDrawing('layer 2, head 2')).layer, '1');
    await page.selectOption('#mol-head', 'mean');
    await checkDrawing('the mean of the heads');
    const other = await page.locator('#mol-molecule option').nth(5).getAttribute('value');
    await page.selectOption('#mol-molecule', other!);
    assert.equal((await checkDrawing(`molecule ${other}`)).molecule, Number(other));
    await page.selectOption('#mol-head', '0');
    await page.selectOption('#mol-layer', '0');
    await page.selectOption('#mol-molecule', String(first.molecule));

    await mkdir(join(repo, 'docs'), { recursive: true });
    await page.locator('#molecules').screenshot({ path: MOLECULE_SCREENSHOT });
    assert.deepEqual(errors, [], 'no errors in the page');
  } finally {
    await browser.close();
  }
});

test('without WebGPU the page says so and how to enable it', { timeout: 120_000 }, async () => {
  const browser = await launchChromium({ webgpu: false });
  try {
    const page = await browser.newPage();
    const uncaught: string[] = [];
    page.on('pageerror', (e) => uncaught.push(e.message));
    await page.goto(server.url);
    const banner = page.locator('#unavailable');
    await banner.waitFor({ state: 'visible', timeout: 60_000 });
    const message = await banner.innerText();
    assert.match(message, /WebGPU is not available/);
    assert.match(message, /enable-unsafe-webgpu/);
    assert.equal(await page.locator('#start').isDisabled(), true);
    await page.click('#tab-molecules');
    assert.match(await text(page, '#mol-status'), /WebGPU is not available/);
    assert.equal(await page.locator('#mol-start').isDisabled(), true);
    assert.deepEqual(uncaught, [], 'no uncaught errors');
  } finally {
    await browser.close();
  }
});
