// Runs the bench page in headless Chromium (WebGPU on the system's adapter, SwiftShader where there is no GPU):
// bundles bench/browser/page.ts with esbuild (.wgsl as text, as the browser tests do), serves it with the Cora
// data on 127.0.0.1, and lets the driver call window.bench.* one suite at a time.
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { bundleForBrowser, launchChromium } from '../../tests/browser/chromium.ts';
import { serve, type Served } from '../../tests/browser/serve.ts';
import type { NodeDataset } from '../../src/train/data.ts';
import type { BenchPage } from './page.ts';
import { datasetToJson } from './transfer.ts';

/** Timestamp queries without the 100 us quantization Chromium applies by default. */
const TIMESTAMP_FLAGS = ['--enable-dawn-features=allow_unsafe_apis', '--disable-dawn-features=timestamp_quantization'];

export interface BenchSession {
  call<K extends keyof BenchPage>(
    name: K,
    ...args: Parameters<BenchPage[K]>
  ): Promise<Awaited<ReturnType<BenchPage[K]>>>;
}

export async function withBenchPage<T>(
  cora: NodeDataset,
  log: (m: string) => void,
  fn: (s: BenchSession) => Promise<T>,
): Promise<T> {
  const js = await bundleForBrowser({ entryPoints: [fileURLToPath(new URL('./page.ts', import.meta.url))] });
  const server: Served = await serve({
    files: {
      '/index.html': '<!doctype html><title>webgpu-gat bench</title><script type="module" src="/bench.js"></script>',
      '/bench.js': js,
      '/cora.json': datasetToJson(cora),
      '/favicon.ico': new Uint8Array(0),
    },
  });
  let browser: Browser | null = null;
  try {
    browser = await launchChromium({ extraArgs: TIMESTAMP_FLAGS });
    const page: Page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => (m.type() === 'error' || m.type() === 'warning' ? errors.push(m.text()) : log(m.text())));
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.waitForFunction(() => 'bench' in window, null, { timeout: 60_000 });
    const session: BenchSession = {
      async call(name, ...args) {
        try {
          return (await page.evaluate(
            ([n, a]) => {
              const b = (window as unknown as { bench: Record<string, (...x: unknown[]) => Promise<unknown>> }).bench;
              return b[n as string](...(a as unknown[]));
            },
            [name, args] as const,
          )) as never;
        } catch (err) {
          throw new Error(
            `bench page: ${name} failed: ` +
              `${(err as Error).message}${errors.length ? `\npage errors:\n${errors.join('\n')}` : ''}`,
          );
        }
      },
    };
    const result = await fn(session);
    if (errors.length) log(`page warnings/errors:\n  ${errors.slice(0, 10).join('\n  ')}`);
    return result;
  } finally {
    await browser?.close();
    await server.close();
  }
}
