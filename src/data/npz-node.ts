// Node only: an .npz graph from a path (the browser reads a File's bytes and calls loadNpz itself).
import { readFile } from 'node:fs/promises';
import type { Data } from './data.ts';
import { loadNpz, type NpzOptions } from './npz.ts';

/** Reads `path` and loads it as loadNpz does; errors name the file. */
export async function loadNpzFile(path: string, opts: Omit<NpzOptions, 'name'> = {}): Promise<Data> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new Error(`${path}: cannot read the file: ${(err as Error).message}`);
  }
  return loadNpz(bytes, { ...opts, name: path });
}
