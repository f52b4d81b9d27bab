// Vite config for the demo page (demo/): `npm run demo` serves it, `npm run build` writes a static site to demo/dist/.
// (demo/vite.config.ts re-exports this file, because `vite demo` looks for its config in demo/.)
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { planetoidData } from './demo/build/planetoid-data.ts';
import { tuData } from './demo/build/tu-data.ts';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** `import code from './x.wgsl'` gives the file's text, as tools/wgsl-loader.mjs does in Node. */
function wgslText(): Plugin {
  return {
    name: 'wgsl-text',
    enforce: 'pre',
    transform(code, id) {
      if (!id.split('?')[0].endsWith('.wgsl')) return null;
      return { code: `export default ${JSON.stringify(code)};`, map: null };
    },
  };
}

export default defineConfig({
  root: here('./demo'),
  base: './', // relative URLs: the built site works from any folder of any static file server
  plugins: [wgslText(), planetoidData(), tuData()],
  build: {
    outDir: here('./demo/dist'),
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      // Only src/gpu/device.ts's Node path imports these, and only when it runs in Node.
      external: ['webgpu', 'node:fs'],
    },
  },
  server: { fs: { allow: [here('.')] } },
});
