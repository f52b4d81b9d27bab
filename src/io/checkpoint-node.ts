// Checkpoint files in Node: atomic saves, a writability check to run before training, and loads that name the file.
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { GATModel } from '../nn/model.ts';
import { loadCheckpoint, saveCheckpoint, type LoadCheckpointOptions } from './checkpoint.ts';
import type { StateDictCheck } from './state-dict.ts';

/**
 * Throws an error naming `file` when a file cannot be written there: its folder is missing or not a folder or not
 * writable, or `file` is a folder or a file that cannot be replaced. Call it before long work whose result is saved.
 */
export async function checkWritable(file: string, what = 'output file'): Promise<void> {
  const abs = path.resolve(file);
  const dir = path.dirname(abs);
  const dirStat = await stat(dir).catch(() => null);
  if (!dirStat) throw new Error(`Cannot write the ${what} ${file}: the folder ${dir} does not exist`);
  if (!dirStat.isDirectory()) throw new Error(`Cannot write the ${what} ${file}: ${dir} is not a folder`);
  const fileStat = await stat(abs).catch(() => null);
  if (fileStat?.isDirectory()) throw new Error(`Cannot write the ${what} ${file}: it is a folder`);
  // The save writes a temporary file in the folder and renames it over the target: both need the folder writable.
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw new Error(`Cannot write the ${what} ${file}: no permission to create files in ${dir}`);
  }
}

/**
 * Writes the model's checkpoint to `file` atomically (write-file-atomic: a temporary file beside the target,
 * flushed, then renamed over it), so a failed write never leaves a partial file or destroys the previous one.
 */
export async function saveCheckpointFile(model: GATModel, file: string): Promise<void> {
  await writeFileAtomically(file, await saveCheckpoint(model), 'checkpoint');
}

/** Writes `bytes` to `file` through a temporary file beside it and a rename (write-file-atomic). */
export async function writeFileAtomically(file: string, bytes: Uint8Array, what = 'file'): Promise<void> {
  try {
    await writeFileAtomic(file, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new Error(`Cannot write the ${what} ${file}: ${(e as Error).message}`);
  }
}

/** Reads a checkpoint file into the model (see loadCheckpoint: all checked first; errors name the file). */
export async function loadCheckpointFile(
  model: GATModel,
  file: string,
  opts: Omit<LoadCheckpointOptions, 'file'> = {},
): Promise<StateDictCheck> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new Error(`Cannot read the checkpoint ${file}: ${(e as Error).message}`);
  }
  return loadCheckpoint(model, bytes, { ...opts, file });
}
