// Vite plugin that gets the Planetoid files to the page with no manual step: the dev server serves them under
// data/, and a build copies them into dist/data/. The page parses them itself (src/data/planetoid.ts).
// The files are found (or downloaded) exactly as the Node loader finds them (findPlanetoidDir).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Plugin } from 'vite';
import { findPlanetoidDir } from '../../src/data/planetoid-node.ts';
import { PLANETOID_PARTS, type PlanetoidName } from '../../src/data/planetoid.ts';

export const DEMO_DATASETS: readonly PlanetoidName[] = ['cora', 'citeseer'];

/** `ind.cora.x` etc. under the served folder `data/`. */
const FILE_NAME = /^\/?ind\.(cora|citeseer)\.(x|tx|allx|y|ty|ally|graph|test\.index)$/;

export function planetoidData(): Plugin {
  const dirs = new Map<PlanetoidName, Promise<string>>();
  const dirOf = (name: PlanetoidName) => {
    if (!dirs.has(name)) dirs.set(name, findPlanetoidDir(name, { log: (m) => console.log(m) }));
    return dirs.get(name)!;
  };
  return {
    name: 'planetoid-data',
    configureServer(server) {
      server.middlewares.use('/data', (req, res, next) => {
        const m = FILE_NAME.exec(new URL(req.url ?? '/', 'http://x').pathname);
        if (!m) return next();
        const name = m[1] as PlanetoidName;
        dirOf(name)
          .then((dir) => readFile(path.join(dir, `ind.${name}.${m[2]}`)))
          .then((bytes) => {
            res.setHeader('content-type', 'application/octet-stream');
            res.end(bytes);
          }, next);
      });
    },
    async generateBundle() {
      for (const name of DEMO_DATASETS) {
        const dir = await dirOf(name);
        for (const part of PLANETOID_PARTS) {
          const fileName = `data/ind.${name}.${part}`;
          this.emitFile({ type: 'asset', fileName, source: await readFile(path.join(dir, `ind.${name}.${part}`)) });
        }
      }
    },
  };
}
