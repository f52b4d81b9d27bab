// The installable package: `npm pack`, install the tarball into a fresh project outside the repository (it sees
// only the packed files), then (a) Node trains on Cora through the package's entries, and (b) a page bundled by
// Vite from the package loads an .npz from a File and trains one epoch in headless Chromium (SwiftShader).
// The `webgpu` package (Dawn for Node, an optional peer dependency of 130 MB) is linked from this repository's
// node_modules instead of being installed again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { launchChromium } from '../browser/chromium.ts';
import { serve } from '../browser/serve.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const planetoid = join(repo, '../shared/datasets/planetoid');
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
let project: string;

before(() => {
  project = mkdtempSync(join(tmpdir(), 'webgpu-gat-consumer-'));
  execFileSync(process.execPath, ['tools/build-lib.mjs'], { cwd: repo, stdio: 'ignore' });
  const packed = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', project], repo));
  const tarball = join(project, packed[0].filename);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const install = ['install', '--no-audit', '--no-fund', '--no-package-lock', tarball];
  try {
    npm([...install, '--offline'], project);
  } catch {
    npm([...install, '--prefer-offline'], project); // a dependency missing from the local cache
  }
  symlinkSync(join(repo, 'node_modules/webgpu'), join(project, 'node_modules/webgpu'), 'dir');
  cpSync(join(repo, 'tests/package'), project, { recursive: true });
  cpSync(join(repo, 'tests/fixtures/npz/graph.npz'), join(project, 'page/public/graph.npz'));
});

after(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

test('the packed package holds the built entries and types, not the sources', () => {
  const pkg = join(project, 'node_modules/webgpu-gat');
  for (const f of ['dist/index.js', 'dist/node.js', 'dist/types/index.d.ts', 'dist/types/node.d.ts', 'package.json']) {
    assert.ok(existsSync(join(pkg, f)), f);
  }
  assert.ok(!existsSync(join(pkg, 'src')) && !existsSync(join(pkg, 'shaders')) && !existsSync(join(pkg, 'tests')));
});

test(
  '(a) Node: the installed package trains a 3-layer GATv2 with a residual and a Linear head on Cora to ' +
    'validation accuracy >= 70% in 30 epochs',
  () => {
    const r = spawnSync(process.execPath, ['train-node.mjs', planetoid], {
      cwd: project,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.ok(out.resolved.startsWith(`file://${project}/node_modules/webgpu-gat/`), out.resolved);
    assert.equal(out.epochs, 30);
    assert.ok(out.bestValAcc >= 0.7, `best validation accuracy ${out.bestValAcc}`);
  },
);

test('(b) browser: a page bundled by Vite from the package reads an .npz File and trains one epoch', async () => {
  const outDir = join(project, 'page/dist');
  await build({
    root: join(project, 'page'),
    configFile: false,
    logLevel: 'error',
    build: { outDir, target: 'es2022' },
  });
  const bundle = readdirSync(join(outDir, 'assets'))
    .filter((f) => f.endsWith('.js'))
    .map((f) => readFileSync(join(outDir, 'assets', f), 'utf8'))
    .join('\n');
  assert.ok(!/(from|import\()\s*["']node:/.test(bundle), 'the browser bundle imports no Node built-in');
  const server = await serve({ dir: outDir });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.waitForFunction(() => 'result' in window || 'error' in window, null, { timeout: 60_000 });
    type PageResult = { runtime: string; numNodes: number; epochs: number; loss: number };
    const { result, error } = await page.evaluate(() => {
      const w = window as unknown as { result: PageResult; error?: unknown };
      return { result: w.result, error: w.error };
    });
    assert.equal(error, undefined);
    assert.deepEqual(errors, []);
    assert.equal(result.runtime, 'browser');
    assert.equal(result.numNodes, 5);
    assert.equal(result.epochs, 1);
    assert.ok(Number.isFinite(result.loss));
  } finally {
    await browser.close();
    await server.close();
  }
});
