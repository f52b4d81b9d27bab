/**
 * Node-only loader for the TU datasets: finds the raw `<NAME>_<part>.txt` files on disk, in PyG's layout
 * `<root>/<NAME>/raw/`, or downloads the dataset's zip from the TU collection, then parses them with `parseTU`.
 */
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseTU, TU_PARTS, TU_REQUIRED_PARTS, unzipTU, type TUDataset, type TUFiles, type TUOptions } from './tu.ts';

/** Where the TU collection publishes `<NAME>.zip` (the address PyG's TUDataset downloads from). */
export const TU_DEFAULT_URL = 'https://www.chrsmrrs.com/graphkerneldatasets';

export interface LoadTUOptions extends TUOptions {
  /** Directory searched first (holding `<NAME>/raw/`). */
  root?: string;
  /** Download missing datasets into ./data/tu (default true). */
  download?: boolean;
  /** Where download messages go (default console.error). */
  log?: (msg: string) => void;
  /** Base URL of the zips (default: env TU_URL, then TU_DEFAULT_URL). */
  baseUrl?: string;
}

/**
 * Loads a TU dataset by name (case as published: 'MUTAG', 'PROTEINS', 'ENZYMES', ...). Files are taken from the
 * first of these directories whose `<NAME>/raw/` holds the required parts: `opts.root`, env `TU_DIR`, `./data/tu`,
 * `../shared/datasets/tu` (relative to the cwd). If none has them, `<NAME>.zip` is downloaded and unpacked into
 * `./data/tu/<NAME>/raw/`.
 */
export async function loadTUDataset(name: string, opts: LoadTUOptions = {}): Promise<TUDataset> {
  if (!/^[A-Za-z0-9_-]+$/.test(name))
    throw new Error(`TU dataset name '${name}' may hold only letters, digits, '_' and '-'`);
  const raw = await findTUDir(name, opts);
  const files: TUFiles = {};
  for (const p of TU_PARTS) {
    const file = path.join(raw, `${name}_${p}.txt`);
    if (await exists(file)) files[p] = await readFile(file);
  }
  return parseTU(name, files, opts);
}

/**
 * The `raw/` directory holding the dataset's files, searched and (unless disabled) downloaded as loadTUDataset does.
 */
export async function findTUDir(name: string, opts: LoadTUOptions = {}): Promise<string> {
  const roots = [opts.root, process.env.TU_DIR, 'data/tu', '../shared/datasets/tu'];
  const dirs = [...new Set(roots.filter((d): d is string => !!d).map((d) => path.resolve(d, name, 'raw')))];
  const searched: string[] = [];
  for (const dir of dirs) {
    const absent: string[] = [];
    for (const p of TU_REQUIRED_PARTS)
      if (!(await exists(path.join(dir, `${name}_${p}.txt`)))) absent.push(`${name}_${p}.txt`);
    if (absent.length === 0) return dir;
    searched.push(`  ${dir} (missing ${absent.join(', ')})`);
  }
  const where = `Searched:\n${searched.join('\n')}`;
  if (opts.download === false) {
    throw new Error(
      `TU '${name}' files not found and download is disabled.\n${where}\n` +
        'Pass `root`, set TU_DIR, or allow downloading.',
    );
  }
  const dir = path.resolve('data/tu', name, 'raw');
  const base = (opts.baseUrl ?? process.env.TU_URL ?? TU_DEFAULT_URL).replace(/\/+$/, '');
  await downloadTU(name, dir, base, opts.log ?? ((m) => console.error(m)), where);
  return dir;
}

/** Fetches `<base>/<NAME>.zip` and writes its parts into `dir`, each under a temporary name renamed when complete. */
async function downloadTU(
  name: string,
  dir: string,
  base: string,
  log: (m: string) => void,
  searched: string,
): Promise<void> {
  const url = `${base}/${name}.zip`;
  log(`TU '${name}': files not found locally, downloading ${url} into ${dir}`);
  let zip: Uint8Array;
  try {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    zip = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw new Error(`TU '${name}': download of ${url} failed: ${errorText(e)}\n${searched}`);
  }
  const files = unzipTU(name, zip);
  const missing = TU_REQUIRED_PARTS.filter((p) => !files[p]);
  if (missing.length > 0) {
    throw new Error(`TU '${name}': ${url} does not hold ${missing.map((p) => `${name}_${p}.txt`).join(', ')}`);
  }
  parseTU(name, files); // reject a broken archive before anything is written
  await mkdir(dir, { recursive: true });
  // The required parts last, so that an interrupted download never looks complete.
  const order = [...TU_PARTS].sort(
    (a, b) => Number(TU_REQUIRED_PARTS.includes(a)) - Number(TU_REQUIRED_PARTS.includes(b)),
  );
  for (const p of order) {
    const bytes = files[p];
    if (!bytes) continue;
    const dest = path.join(dir, `${name}_${p}.txt`);
    await writeFile(`${dest}.part`, bytes);
    await rename(`${dest}.part`, dest);
  }
  log(`TU '${name}': downloaded ${url} (${zip.length} bytes) -> ${dir}`);
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** fetch() reports network failures as 'fetch failed' with the reason in `cause`. */
function errorText(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const cause = err.cause?.code ?? err.cause?.message;
  return cause ? `${err.message} (${cause})` : err.message;
}
