// The demo page, built with Vite as `npm run build` builds it, in headless Chromium on SwiftShader: the default
// run (GATv2 on Cora, 200 epochs) reaches the paper's accuracy, the plots and the kernel table fill, the page stays
// responsive, and nothing is logged as an error. Saves docs/demo.png. Without WebGPU the page says so.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { launchChromium } from './chromium.ts';
import { serve, type Served } from './serve.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const SCREENSHOT = join(repo, 'docs/demo.png');

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
const worstTimerLagMs = (page: Page) => page.evaluate<number>(`new Promise((resolve) => {
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
    assert.match(await text(page, '#status'), /2708 nodes/);

    const t0 = performance.now();
    await page.click('#start');
    await page.waitForFunction(() => Number(document.getElementById('stat-epoch')!.textContent!.split('/')[0]) >= 10, null, { timeout: 120_000 });

    // Responsive while training: timers run on time and Pause stops the run after its epoch.
    const lag = await worstTimerLagMs(page);
    console.log(`worst timer lag while training: ${lag.toFixed(0)} ms`);
    assert.ok(lag < 250, `the page's main thread was blocked for ${lag.toFixed(0)} ms`);
    await page.click('#pause');
    await page.waitForSelector('body[data-state="paused"]');
    await page.waitForFunction(() => /Paused/.test(document.getElementById('status')!.textContent!), null, { timeout: 60_000 });
    const pausedAt = await epochNow(page);
    await page.waitForTimeout(1000);
    assert.equal(await epochNow(page), pausedAt, 'no epoch runs while paused');
    await page.click('#start');

    await page.waitForSelector('body[data-state="done"]', { timeout: 12 * 60_000 });
    const seconds = (performance.now() - t0) / 1000;
    const test = Number((await text(page, '#stat-test')).replace('%', ''));
    console.log(`200 epochs in ${seconds.toFixed(1)} s (paused at ${pausedAt}); page shows ${await text(page, '#stat-speed')} epochs/s; ` +
      `test accuracy ${test}%, at best validation ${await text(page, '#stat-best')}`);

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
    assert.deepEqual(uncaught, [], 'no uncaught errors');
  } finally {
    await browser.close();
  }
});
