// Runs the same tests/kernels/*.cases.ts suites in headless Chromium's WebGPU (SwiftShader).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { bundleForBrowser, launchChromium } from './chromium.ts';
import { serve, type Served } from './serve.ts';
// Loaded before any test is declared: suites declared after an await that outlasts the start of the run are lost.
import { gpuShapeSuites } from '../kernels/gpu-shapes.ts';
import type { CaseResult } from './kernels-entry.ts';

const kernelsDir = fileURLToPath(new URL('../kernels/', import.meta.url));
const families = readdirSync(kernelsDir)
  .filter((f) => f.endsWith('.cases.ts'))
  .sort();

/** One browser bundle: the entry plus every suite. */
function bundle(): Promise<string> {
  const imports = families.map((f, i) => `import { cases as c${i} } from './${f}';`).join('\n');
  const list = families.map((f, i) => `['${f.replace('.cases.ts', '')}', c${i}]`).join(', ');
  return bundleForBrowser({
    stdin: {
      contents:
        `${imports}\nimport { runSuites } from '../browser/kernels-entry.ts';\n` +
        `import { gpuShapeSuites } from './gpu-shapes.ts';\n` +
        `window.runKernelSuites = () => runSuites([${list}]);\n` +
        `window.runGpuShapeSuites = () => runSuites(gpuShapeSuites, { kernels: 'gpu' });\n`,
      resolveDir: kernelsDir,
      loader: 'ts',
    },
  });
}

let browser: Browser;
let server: Served;
type Outcome = { adapter: { vendor: string; isFallbackAdapter: boolean }; results: CaseResult[] };
let outcome: Outcome;
/** The kernels with two shapes, again on a device forced to the GPU shapes (tests/kernels/gpu-shapes.ts). */
let gpuShapeOutcome: Outcome;

before(async () => {
  const js = await bundle();
  server = await serve({
    files: { '/index.html': '<!doctype html><script type="module" src="/suite.js"></script>', '/suite.js': js },
  });
  browser = await launchChromium();
  const page = await browser.newPage();
  const consoleErrors: string[] = [];
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  await page.goto(server.url);
  await page.waitForFunction(() => 'runKernelSuites' in window, null, { timeout: 30_000 });
  outcome = await page.evaluate(() =>
    (window as unknown as { runKernelSuites: () => Promise<never> }).runKernelSuites(),
  );
  gpuShapeOutcome = await page.evaluate(() =>
    (window as unknown as { runGpuShapeSuites: () => Promise<never> }).runGpuShapeSuites(),
  );
  assert.deepEqual(consoleErrors, [], 'uncaught errors in the page');
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('the page runs on a WebGPU adapter', () => {
  assert.ok(outcome.adapter.vendor.length > 0, 'adapter has a vendor');
});

// The case names come from the same modules (they import nothing Node lacks); the results from the page.
for (const f of families) {
  const suite = f.replace('.cases.ts', '');
  const { cases } = (await import(new URL(f, new URL('../kernels/', import.meta.url)).href)) as {
    cases: { name: string }[];
  };
  describe(`chromium: ${suite}`, () => {
    for (const c of cases) {
      test(c.name, () => {
        const r = outcome.results.find((x) => x.suite === suite && x.name === c.name);
        assert.ok(r, `no result from the page for ${suite}: ${c.name}`);
        assert.ok(r.ok, r.error ?? 'failed');
      });
    }
  });
}

for (const [suite, cases] of gpuShapeSuites) {
  describe(`chromium, GPU shapes: ${suite}`, () => {
    for (const c of cases) {
      test(c.name, () => {
        const r = gpuShapeOutcome.results.find((x) => x.suite === suite && x.name === c.name);
        assert.ok(r, `no result from the page for ${suite}: ${c.name}`);
        assert.ok(r.ok, r.error ?? 'failed');
      });
    }
  });
}
