// Fetches a Planetoid dataset's original files from data/ (served by the dev server, copied into the build)
// and parses them in the page, as PyG does.
import { parsePlanetoid, PLANETOID_PARTS, type GraphDataset, type PlanetoidName } from '../src/data/planetoid.ts';

const cache = new Map<PlanetoidName, Promise<GraphDataset>>();

export function loadDataset(name: PlanetoidName): Promise<GraphDataset> {
  let p = cache.get(name);
  if (!p) {
    p = fetchAndParse(name);
    p.catch(() => cache.delete(name)); // let a later attempt try again
    cache.set(name, p);
  }
  return p;
}

async function fetchAndParse(name: PlanetoidName): Promise<GraphDataset> {
  const files: Record<string, Uint8Array> = {};
  await Promise.all(
    PLANETOID_PARTS.map(async (part) => {
      const url = new URL(`data/ind.${name}.${part}`, document.baseURI);
      const res = await fetch(url);
      if (!res.ok) throw new Error(`Could not load ${url.pathname}: HTTP ${res.status}`);
      files[part] = new Uint8Array(await res.arrayBuffer());
    }),
  );
  return parsePlanetoid(name, files);
}
