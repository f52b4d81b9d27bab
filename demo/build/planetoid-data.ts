// Vite plugin that gets the Planetoid files to the page with no manual step: the dev server serves them under
// data/, and a build copies them into dist/data/. The page parses them itself (src/data/planetoid.ts).
// The files are taken from the folders the Node loader searches, and downloaded there when none has them.
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Plugin } from 'vite';
import { loadPlanetoid } from '../../src/data/planetoid-node.ts';
import { PLANETOID_PARTS, type PlanetoidName } from '../../src/data/planetoid.ts';

export const DEMO_DATASETS: readonly PlanetoidName[] = ['cora', 'citeseer'];

/** `ind.cora.x` etc. under the served folder `data/`. */
const FILE_NAME = /^\/?ind\.(cora|citeseer)\.(x|tx|allx|y|ty|ally|graph|test\.index)$/;

async function hasAllParts(dir: string, name: PlanetoidName): Promise<boolean> {
  try {
    await Promise.all(PLANETOID_PARTS.map((p) => access(path.join(dir, `ind.${name}.${p}`))));
    return true;
  } catch {
    return false;
  }
}

/** The folder holding all of a dataset's files; downloads them (into ./data/planetoid) when no folder has them. */
async function datasetDir(name: PlanetoidName, repoRoot: string): Promise<string> {
  const candidates = () => [process.env.PLANETOID_DIR, path.join(repoRoot, 'data/planetoid'), path.join(repoRoot, '../shared/datasets/planetoid'), path.resolve('data/planetoid')]
    .filter((d): d is string => !!d);
  for (const dir of candidates()) if (await hasAllParts(dir, name)) return dir;
  await loadPlanetoid(name, { log: (m) => console.log(m) }); // the Node loader's download fallback
  for (const dir of candidates()) if (await hasAllParts(dir, name)) return dir;
  throw new Error(`Planetoid '${name}' files not found (searched ${candidates().join(', ')})`);
}

export function planetoidData(opts: { repoRoot: string }): Plugin {
  const dirs = new Map<PlanetoidName, Promise<string>>();
  const dirOf = (name: PlanetoidName) => {
    if (!dirs.has(name)) dirs.set(name, datasetDir(name, opts.repoRoot));
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
