// Lets Node import `.wgsl` files as text (`import code from './x.wgsl'`), as Vite and esbuild do.
// Use: node --import tsx --import ./tools/wgsl-loader.mjs <entry>
import { register } from 'node:module';

register('./wgsl-hooks.mjs', import.meta.url);
