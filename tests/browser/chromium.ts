// Headless Chromium with WebGPU on SwiftShader, driven by playwright-core (the system's /usr/bin/chromium).
import { chromium, type Browser } from 'playwright-core';
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const WEBGPU_FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-webgpu-adapter=swiftshader',
  '--enable-unsafe-swiftshader',
];

const QUIET_FLAGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export async function launchChromium(opts: { webgpu?: boolean; extraArgs?: string[] } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  const args = [...QUIET_FLAGS, ...(opts.webgpu === false ? [] : WEBGPU_FLAGS), ...(opts.extraArgs ?? [])];
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/** One ES-module bundle for a page, `.wgsl` files inlined as text; the Node-only paths stay external. */
export async function bundleForBrowser(entry: Pick<esbuild.BuildOptions, 'entryPoints' | 'stdin'>): Promise<string> {
  const out = await esbuild.build({
    ...entry,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    loader: { '.wgsl': 'text' },
    external: ['webgpu', 'node:*'],
    logLevel: 'error',
  });
  return out.outputFiles[0].text;
}
