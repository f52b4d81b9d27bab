// Vite plugin that gets MUTAG's raw TU files to the page with no manual step: the dev server serves them under
// data/tu/MUTAG/, and a build copies them into dist/data/tu/MUTAG/. The page parses them itself (src/data/tu.ts).
// The files are found (or downloaded from the TU collection) exactly as the Node loader finds them (findTUDir):
// a local copy in ./data/tu or ../shared/datasets/tu, else the dataset's zip from the collection's public address.
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Plugin } from 'vite';
import { findTUDir } from '../../src/data/tu-node.ts';
import { TU_PARTS } from '../../src/data/tu.ts';

export const DEMO_TU_DATASETS = ['MUTAG'] as const;

/** `MUTAG_A.txt` etc. under the served folder `data/tu/MUTAG/`. */
const FILE_NAME = new RegExp(`^/?(${DEMO_TU_DATASETS.join('|')})/\\1_(${TU_PARTS.join('|')})\\.txt$`);

export function tuData(): Plugin {
  const dirs = new Map<string, Promise<string>>();
  const dirOf = (name: string) => {
    if (!dirs.has(name)) dirs.set(name, findTUDir(name, { log: (m) => console.log(m) }));
    return dirs.get(name)!;
  };
  return {
    name: 'tu-data',
    configureServer(server) {
      server.middlewares.use('/data/tu', (req, res, next) => {
        const m = FILE_NAME.exec(new URL(req.url ?? '/', 'http://x').pathname);
        if (!m) return next();
        dirOf(m[1]!)
          .then(async (dir) => {
            const file = path.join(dir, `${m[1]}_${m[2]}.txt`);
            if (!(await exists(file))) {
              res.statusCode = 404; // an optional part this dataset does not have
              res.end('not found');
              return;
            }
            res.setHeader('content-type', 'text/plain');
            res.end(await readFile(file));
          })
          .catch(next);
      });
    },
    async generateBundle() {
      for (const name of DEMO_TU_DATASETS) {
        const dir = await dirOf(name);
        for (const part of TU_PARTS) {
          const file = path.join(dir, `${name}_${part}.txt`);
          if (!(await exists(file))) continue; // optional parts (MUTAG has no attributes)
          this.emitFile({
            type: 'asset',
            fileName: `data/tu/${name}/${name}_${part}.txt`,
            source: await readFile(file),
          });
        }
      }
    },
  };
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
