// `npm run build:lib`: the installable package in dist/.
//   dist/index.js  the main entry (browsers and Node), dist/node.js  the Node entry (adds the file loaders),
//   dist/chunks/   code the two share, dist/types/  .d.ts declarations (tsc).
// The shaders (.wgsl) are inlined as strings; dependencies and Node built-ins stay imports.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));
const external = [
  ...Object.keys(pkg.dependencies ?? {}),
  ...Object.keys(pkg.peerDependencies ?? {}),
  ...Object.keys(pkg.optionalDependencies ?? {}),
  'node:*',
];

rmSync(`${root}/dist`, { recursive: true, force: true });
await esbuild.build({
  absWorkingDir: root,
  entryPoints: { index: 'src/index.ts', node: 'src/node.ts' },
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  loader: { '.wgsl': 'text' },
  external,
  sourcemap: true,
  logLevel: 'warning',
});
execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, '-p', 'tsconfig.lib.json'], {
  cwd: root,
  stdio: 'inherit',
});
// The public types name WebGPU's (GPUDevice, ...): the entry declarations pull them in for the user.
for (const entry of ['index', 'node']) {
  const file = `${root}/dist/types/${entry}.d.ts`;
  writeFileSync(file, `/// <reference types="@webgpu/types" />\n${readFileSync(file, 'utf8')}`);
}
console.log('dist/ written: index.js, node.js, types/');
