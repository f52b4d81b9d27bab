/**
 * Node-only loader for the Planetoid datasets: finds the `ind.<name>.<part>`
 * files on disk, or downloads them, then parses them with `parsePlanetoid`.
 */
import { mkdir, readFile, rename, writeFile, access } from 'node:fs/promises';
import path from 'node:path';
import { PLANETOID_PARTS, parsePlanetoid, type GraphDataset, type PlanetoidName } from './planetoid.ts';

/** The files PyG downloads for `Planetoid(name=...)`. */
export const PLANETOID_DEFAULT_URL = 'https://github.com/kimiyoung/planetoid/raw/master/data';

export interface LoadPlanetoidOptions {
  /** Directory searched first. */
  root?: string;
  /**
   * Read the files from this directory only: no search, no download. A directory without all the files is an
   * error that names it and the missing files.
   */
  dir?: string;
  /** PyG's NormalizeFeatures (default true). */
  normalizeFeatures?: boolean;
  /** Download missing files into ./data/planetoid (default true). */
  download?: boolean;
  /** Where download messages go (default console.error). */
  log?: (msg: string) => void;
  /** Base URL of the files (default: env PLANETOID_URL, then PLANETOID_DEFAULT_URL). */
  baseUrl?: string;
}

/**
 * Loads Cora or Citeseer. Files are taken from the first of these directories
 * that has all eight parts: `opts.root`, env `PLANETOID_DIR`,
 * `./data/planetoid`, `../shared/datasets/planetoid` (relative to the cwd).
 * If none has them, they are downloaded into `./data/planetoid`.
 */
export async function loadPlanetoid(name: PlanetoidName, opts: LoadPlanetoidOptions = {}): Promise<GraphDataset> {
  const dir = await findPlanetoidDir(name, opts);
  const files: Record<string, Uint8Array> = {};
  for (const p of PLANETOID_PARTS) files[p] = await readFile(partPath(dir, name, p));
  try {
    return parsePlanetoid(name, files, { normalizeFeatures: opts.normalizeFeatures });
  } catch (e) {
    throw new Error(`${(e as Error).message} (files in ${dir})`);
  }
}

/** The directory holding all of a dataset's files, searched and (unless disabled) downloaded as loadPlanetoid does. */
export async function findPlanetoidDir(name: PlanetoidName, opts: LoadPlanetoidOptions = {}): Promise<string> {
  if (opts.dir !== undefined) {
    const dir = path.resolve(opts.dir);
    const absent = await missingParts(dir, name);
    if (absent.length > 0) {
      const what = absent.length === PLANETOID_PARTS.length ? 'has none of the files' : `lacks ${absent.join(', ')}`;
      throw new Error(`Planetoid '${name}': the directory ${dir} ${what} (ind.${name}.{${PLANETOID_PARTS.join(',')}})`);
    }
    return dir;
  }
  const dirs = searchDirs(opts.root);
  let dir: string | undefined;
  const missing: string[] = [];
  for (const d of dirs) {
    const absent = await missingParts(d, name);
    if (absent.length === 0) {
      dir = d;
      break;
    }
    missing.push(`  ${d} (missing ${absent.length === PLANETOID_PARTS.length ? 'all files' : absent.join(', ')})`);
  }
  if (!dir) {
    const searched = `Searched:\n${missing.join('\n')}`;
    if (opts.download === false) {
      throw new Error(
        `Planetoid '${name}' files (ind.${name}.{${PLANETOID_PARTS.join(',')}}) not found and download is ` +
          `disabled.\n${searched}\n` +
          'Pass `root`, set PLANETOID_DIR, or allow downloading.',
      );
    }
    dir = path.resolve('data/planetoid');
    const baseUrl = opts.baseUrl ?? process.env.PLANETOID_URL ?? PLANETOID_DEFAULT_URL;
    await downloadPlanetoid(name, dir, baseUrl, opts.log ?? ((m) => console.error(m)), searched);
  }
  return dir;
}

function searchDirs(root: string | undefined): string[] {
  const dirs = [root, process.env.PLANETOID_DIR, 'data/planetoid', '../shared/datasets/planetoid'];
  const abs = dirs.filter((d): d is string => !!d).map((d) => path.resolve(d));
  return [...new Set(abs)];
}

function partPath(dir: string, name: string, part: string): string {
  return path.join(dir, `ind.${name}.${part}`);
}

async function missingParts(dir: string, name: string): Promise<string[]> {
  const absent: string[] = [];
  for (const p of PLANETOID_PARTS) {
    try {
      await access(partPath(dir, name, p));
    } catch {
      absent.push(`ind.${name}.${p}`);
    }
  }
  return absent;
}

/**
 * Fetches every part into `dir`. Each file is written under a temporary name
 * and renamed when complete, so an interrupted download never looks complete.
 */
async function downloadPlanetoid(
  name: string,
  dir: string,
  baseUrl: string,
  log: (m: string) => void,
  searched: string,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const base = baseUrl.replace(/\/+$/, '');
  log(`Planetoid '${name}': files not found locally, downloading from ${base} into ${dir}`);
  for (const p of PLANETOID_PARTS) {
    const file = `ind.${name}.${p}`;
    const url = `${base}/${file}`;
    let bytes: Uint8Array;
    try {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      throw new Error(`Planetoid '${name}': download of ${url} failed: ${errorText(e)}\n${searched}`);
    }
    const dest = path.join(dir, file);
    await writeFile(`${dest}.part`, bytes);
    await rename(`${dest}.part`, dest);
    log(`Planetoid '${name}': downloaded ${url} -> ${dest} (${bytes.length} bytes)`);
  }
}

/** fetch() reports network failures as 'fetch failed' with the reason in `cause`. */
function errorText(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const cause = err.cause?.code ?? err.cause?.message;
  return cause ? `${err.message} (${cause})` : err.message;
}
