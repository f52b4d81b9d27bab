// A small .npy / .npz writer for tests: builds numpy's format from typed arrays, including the forms loaders must
// refuse (Fortran order, big-endian, object dtype), so that good and bad files can be generated at random.
import { zipSync } from 'fflate';

export interface NpyOptions {
  /** The header's descr, e.g. '<f4', '|b1', '>i8', '|O' (default from the array's type). */
  descr?: string;
  fortran?: boolean;
}

const DESCR: [new (...a: never[]) => ArrayBufferView, string][] = [
  [Float32Array, '<f4'],
  [Float64Array, '<f8'],
  [Int32Array, '<i4'],
  [BigInt64Array, '<i8'],
  [Uint8Array, '|u1'],
  [Int8Array, '|i1'],
  [Uint32Array, '<u4'],
  [Int16Array, '<i2'],
  [Uint16Array, '<u2'],
  [BigUint64Array, '<u8'],
];

/** One .npy file (format 1.0, header padded to 64 bytes as numpy does). */
export function npy(data: ArrayBufferView, shape: number[], opts: NpyOptions = {}): Uint8Array {
  const descr = opts.descr ?? DESCR.find(([T]) => data instanceof T)?.[1];
  if (!descr) throw new Error('npy: unknown array type');
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': ${opts.fortran ? 'True' : 'False'}, 'shape': (${dims}), }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

/** An .npz: each array as `<key>.npy`, stored (np.savez) or deflated (np.savez_compressed). */
export function npz(files: Record<string, Uint8Array>, compressed = false): Uint8Array {
  const entries: Record<string, Uint8Array> = {};
  for (const [key, b] of Object.entries(files)) entries[`${key}.npy`] = b;
  return zipSync(entries, { level: compressed ? 6 : 0 });
}
