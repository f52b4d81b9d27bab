// A graph from numpy's .npz, the three lines a PyG user writes to export `data`:
//   np.savez('my-graph.npz', x=data.x.numpy(), edge_index=data.edge_index.numpy(), y=data.y.numpy(),
//            train_mask=data.train_mask.numpy(), val_mask=data.val_mask.numpy(), test_mask=data.test_mask.numpy())
// (np.savez_compressed works too). Works on bytes, so the same code serves Node (see npz-node.ts) and a browser
// File: loadNpz(new Uint8Array(await file.arrayBuffer()), { name: file.name }).
//
// The zip is read by fflate and each .npy by npyjs. npyjs trusts its input: it ignores the byte order, does not
// compare the data's length with the shape, and turns object or structured arrays into opaque errors. So each
// .npy header is checked here first (readNpyHeader: version, dtype and byte order, C order, shape, exact data
// length, alignment), and only a file that passes is handed to npyjs.
import { unzipSync } from 'fflate';
import { parse as parseNpy } from 'npyjs';
import { Data, type DataInit } from './data.ts';

/** One array of an .npz: its numpy dtype (e.g. 'f4', 'i8', 'b1'), shape and values. */
export interface NpyArray {
  dtype: string;
  shape: number[];
  data:
    | Float32Array
    | Float64Array
    | Int8Array
    | Int16Array
    | Int32Array
    | BigInt64Array
    | Uint8Array
    | Uint16Array
    | Uint32Array
    | BigUint64Array;
}

export interface NpzOptions {
  /** The file's name, for error messages (default 'npz'). */
  name?: string;
  /** Refuse archives whose arrays together hold more than this many bytes (default 2 GiB). */
  maxBytes?: number;
}

/** The keys loadNpz reads, in PyG's names. */
export const NPZ_KEYS = [
  'x',
  'edge_index',
  'y',
  'train_mask',
  'val_mask',
  'test_mask',
  'train_index',
  'val_index',
  'test_index',
  'edge_attr',
  'num_nodes',
] as const;

const SUPPORTED = new Set(['b1', 'u1', 'i1', 'u2', 'i2', 'u4', 'i4', 'u8', 'i8', 'f4', 'f8']);
const DTYPE_NAMES: Record<string, string> = {
  b1: 'bool',
  u1: 'uint8',
  i1: 'int8',
  u2: 'uint16',
  i2: 'int16',
  u4: 'uint32',
  i4: 'int32',
  u8: 'uint64',
  i8: 'int64',
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  O: 'object',
};
const dtypeName = (d: string) => DTYPE_NAMES[d] ?? d;

/**
 * Reads every array of an .npz (zip of .npy files, stored or deflated). Errors name the file, the array and the
 * problem; a damaged file gives an error, never a hang or a giant allocation.
 */
export function readNpz(bytes: Uint8Array, opts: NpzOptions = {}): Record<string, NpyArray> {
  const file = opts.name ?? 'npz';
  if (!(bytes instanceof Uint8Array)) throw new Error(`${file}: expected the file's bytes as a Uint8Array`);
  const maxBytes = opts.maxBytes ?? 2 ** 31;
  let entries: Record<string, Uint8Array>;
  let total = 0;
  let count = 0;
  try {
    entries = unzipSync(bytes, {
      // Sizes come from the zip's directory: refuse impossible ones before anything is allocated for them.
      filter: (f) => {
        const name = quote(f.name);
        if (++count > 10_000) throw new Error('more than 10000 entries');
        if (f.compression !== 0 && f.compression !== 8)
          throw new Error(`entry ${name} uses compression method ${f.compression} (numpy writes 0 or 8)`);
        if (f.size > bytes.length) throw new Error(`entry ${name} claims ${f.size} bytes, more than the whole file`);
        if (f.compression === 0 && f.originalSize !== f.size)
          throw new Error(`entry ${name} is stored but its two sizes differ`);
        if (f.compression === 8 && f.originalSize > f.size * 1032 + 1024)
          throw new Error(`entry ${name} claims an impossible size`);
        if ((total += f.originalSize) > maxBytes)
          throw new Error(`its arrays hold more than ${maxBytes} bytes (see the maxBytes option)`);
        return true;
      },
    });
  } catch (err) {
    throw new Error(`${file}: not a readable .npz (zip) file: ${(err as Error).message}`);
  }
  checkCrcs(bytes, entries, file);
  const arrays: Record<string, NpyArray> = {};
  for (const [entry, content] of Object.entries(entries)) {
    if (!entry.endsWith('.npy')) throw new Error(`${file}: entry ${quote(entry)} is not an .npy array`);
    const key = entry.slice(0, -4);
    arrays[key] = readNpy(content, `${file}: ${key}`);
  }
  return arrays;
}

/**
 * fflate does not compare an entry's CRC-32 with the one in the zip's directory (numpy's np.load does), so a
 * damaged byte in an array would load as a wrong value: each entry's checksum is checked here, against the
 * central directory that unzipSync has just read (zip64 end record as numpy writes it included).
 */
function checkCrcs(b: Uint8Array, entries: Record<string, Uint8Array>, file: string): void {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u32 = (at: number) => (at >= 0 && at + 4 <= b.length ? view.getUint32(at, true) : -1);
  const u16 = (at: number) => (at >= 0 && at + 2 <= b.length ? view.getUint16(at, true) : -1);
  let end = b.length - 22;
  while (end > 0 && u32(end) !== 0x06054b50) end--;
  let count = u16(end + 8);
  let at = u32(end + 16);
  if (u32(end - 20) === 0x07064b50 && u32(u32(end - 12)) === 0x06064b50) {
    const z = u32(end - 12);
    count = u32(z + 32);
    at = u32(z + 48);
  }
  for (let i = 0; i < count; i++) {
    if (u32(at) !== 0x02014b50) throw new Error(`${file}: not a readable .npz (zip) file: damaged central directory`);
    const crc = u32(at + 16);
    const nameLength = u16(at + 28);
    const name = new TextDecoder().decode(b.subarray(at + 46, at + 46 + nameLength));
    const content = entries[name];
    if (content && crc32(content) !== crc) {
      throw new Error(`${file}: entry ${quote(name)} fails its CRC-32 check: the file is damaged`);
    }
    at += 46 + nameLength + u16(at + 30) + u16(at + 32);
  }
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(d: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < d.length; i++) c = CRC_TABLE[(c ^ d[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A name from the file, quoted and shortened for an error message (a damaged directory gives garbage). */
function quote(name: string): string {
  return JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}...` : name);
}

interface NpyHeader {
  dtype: string;
  shape: number[];
  dataOffset: number;
}

/** Checks an .npy header and the data length against it; `what` names the array in errors. */
export function readNpyHeader(b: Uint8Array, what: string): NpyHeader {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (b.length < 10 || magic.some((m, i) => b[i] !== m))
    throw new Error(`${what}: not an .npy array (bad magic bytes)`);
  const major = b[6];
  if (major < 1 || major > 3) throw new Error(`${what}: .npy format version ${major}.${b[7]} is not supported`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const start = major === 1 ? 10 : 12;
  if (b.length < start) throw new Error(`${what}: truncated .npy header`);
  const len = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (start + len > b.length) throw new Error(`${what}: truncated .npy header`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(b.subarray(start, start + len));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined) {
    if (/'descr'\s*:\s*\[/.test(header)) throw new Error(`${what}: structured (record) arrays are not supported`);
    throw new Error(`${what}: malformed .npy header (no dtype)`);
  }
  if (fortran === undefined || shapeText === undefined) throw new Error(`${what}: malformed .npy header`);
  const order = descr[0];
  const code = '<>|='.includes(order) ? descr.slice(1) : descr;
  if (code === 'O')
    throw new Error(`${what}: object arrays are not supported (save a numeric array: np.asarray(a, dtype=...))`);
  if (!SUPPORTED.has(code)) throw new Error(`${what}: dtype ${dtypeName(code)} ('${descr}') is not supported`);
  const itemSize = Number(code.slice(1));
  if (order === '>' && itemSize > 1)
    throw new Error(
      `${what}: big-endian data ('${descr}') is not supported ` +
        `(save it with a little-endian dtype, e.g. a.astype('<${code}'))`,
    );
  if (fortran === 'True')
    throw new Error(`${what}: Fortran-order arrays are not supported (save np.ascontiguousarray(a))`);
  const dims = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (dims.some((d) => !/^\d+L?$/.test(d))) throw new Error(`${what}: malformed shape (${shapeText})`);
  const shape = dims.map((d) => Number.parseInt(d, 10));
  const count = shape.reduce((a, d) => a * d, 1);
  const dataOffset = start + len;
  const have = b.length - dataOffset;
  if (!Number.isSafeInteger(count * itemSize) || count * itemSize !== have) {
    const why = count * itemSize > have ? 'is truncated' : 'has extra bytes';
    throw new Error(
      `${what}: data ${why}: shape (${shape.join(', ')}) of ${dtypeName(code)} needs ${count * itemSize} bytes, ` +
        `found ${have}`,
    );
  }
  if ((b.byteOffset + dataOffset) % itemSize !== 0)
    throw new Error(`${what}: data is not aligned to its ${itemSize}-byte items (numpy aligns it)`);
  return { dtype: code, shape, dataOffset };
}

/** One .npy file: checked (readNpyHeader), then parsed by npyjs. */
export function readNpy(b: Uint8Array, what: string): NpyArray {
  const { dtype, shape } = readNpyHeader(b, what);
  const own = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.slice().buffer;
  let parsed: ReturnType<typeof parseNpy>;
  try {
    parsed = parseNpy(own as ArrayBuffer);
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  }
  const raw = parsed.data as unknown;
  // npyjs gives bool arrays as a JavaScript boolean[]; keep them as 0/1 bytes.
  const data =
    dtype === 'b1'
      ? Uint8Array.from(raw as ArrayLike<number | boolean>, (v) => (v ? 1 : 0))
      : (raw as NpyArray['data']);
  return { dtype, shape, data };
}

/** Reads a graph from an .npz (see the top of this file for the keys) into a validated Data. */
export function loadNpz(bytes: Uint8Array, opts: NpzOptions = {}): Data {
  const file = opts.name ?? 'npz';
  const arrays = readNpz(bytes, opts);
  return npzToData(arrays, file);
}

function npzToData(a: Record<string, NpyArray>, file: string): Data {
  const known = new Set<string>(NPZ_KEYS);
  for (const key of Object.keys(a)) {
    if (!known.has(key)) throw new Error(`${file}: unknown array '${key}' (expected some of: ${NPZ_KEYS.join(', ')})`);
  }
  const fail = (key: string, msg: string): never => {
    throw new Error(`${file}: ${key}: ${msg}`);
  };
  const shapeOf = (k: string) => `(${a[k].shape.join(', ')}${a[k].shape.length === 1 ? ',' : ''})`;
  const kind = (k: string) => a[k].dtype[0]; // f, i, u or b
  const need = (k: string) => a[k] ?? fail(k, 'missing (np.savez(path, x=..., edge_index=..., ...) must include it)');

  need('x');
  if (kind('x') !== 'f')
    fail('x', `dtype ${dtypeName(a.x.dtype)}: node features must be float32 or float64 (x.astype(np.float32))`);
  if (a.x.shape.length !== 2) fail('x', `shape ${shapeOf('x')}: node features must be 2-D (num_nodes, num_features)`);
  const [n, f] = a.x.shape;
  const x = a.x.data as Float32Array | Float64Array; // Data checks the values fit float32, then converts
  if (a.num_nodes) {
    if (a.num_nodes.shape.length !== 0 || kind('num_nodes') === 'f' || kind('num_nodes') === 'b')
      fail('num_nodes', 'must be an integer scalar');
    if (Number(a.num_nodes.data[0]) !== n) fail('num_nodes', `is ${a.num_nodes.data[0]} but x has ${n} rows`);
  }

  need('edge_index');
  const ei = a.edge_index;
  if (kind('edge_index') !== 'i' && kind('edge_index') !== 'u')
    fail('edge_index', `dtype ${dtypeName(ei.dtype)}: edge_index must be int64 or int32`);
  if (ei.shape.length !== 2 || ei.shape[0] !== 2) {
    const hint =
      ei.shape.length === 2 && ei.shape[1] === 2 ? ' (this is (E, 2): save edge_index, not edge_index.t())' : '';
    fail(
      'edge_index',
      `shape ${shapeOf('edge_index')}${hint}: expected (2, num_edges), row 0 sources, row 1 destinations`,
    );
  }
  const e = ei.shape[1];
  const init: DataInit = {
    x,
    numNodes: n,
    numFeatures: f,
    edgeIndex: [ei.data.subarray(0, e), ei.data.subarray(e)] as DataInit['edgeIndex'],
  };

  if (a.y) {
    const y = a.y;
    if (y.shape.length < 1 || y.shape.length > 2 || y.shape[0] !== n)
      fail('y', `shape ${shapeOf('y')}: expected (${n},) class labels or (${n}, T) targets`);
    if (y.shape.length === 1 && (kind('y') === 'i' || kind('y') === 'u')) init.y = toInt32(y.data, (m) => fail('y', m));
    else init.y = toFloat32(y.data);
  }

  for (const split of ['train', 'val', 'test'] as const) {
    const mk = `${split}_mask`,
      ik = `${split}_index`;
    if (a[mk]) {
      if (kind(mk) !== 'b' && a[mk].dtype !== 'u1')
        fail(mk, `dtype ${dtypeName(a[mk].dtype)}: masks must be bool (or uint8 0/1)`);
      if (a[mk].shape.length !== 1 || a[mk].shape[0] !== n)
        fail(mk, `shape ${shapeOf(mk)}: expected (${n},), one entry per node`);
      init[`${split}Mask`] = a[mk].data as Uint8Array;
    }
    if (a[ik]) {
      if (kind(ik) !== 'i' && kind(ik) !== 'u')
        fail(ik, `dtype ${dtypeName(a[ik].dtype)}: node indices must be int64 or int32`);
      if (a[ik].shape.length !== 1) fail(ik, `shape ${shapeOf(ik)}: expected a 1-D list of node indices`);
      init[`${split}Index`] = toInt32(a[ik].data, (m) => fail(ik, m));
    }
  }

  if (a.edge_attr) {
    const ea = a.edge_attr;
    if (kind('edge_attr') !== 'f')
      fail('edge_attr', `dtype ${dtypeName(ea.dtype)}: edge attributes must be float32 or float64`);
    if (ea.shape.length < 1 || ea.shape.length > 2 || ea.shape[0] !== e)
      fail('edge_attr', `shape ${shapeOf('edge_attr')}: expected (${e}, D), one row per edge`);
    init.edgeAttr = toFloat32(ea.data as Float32Array | Float64Array);
    init.edgeDim = ea.shape.length === 2 ? ea.shape[1] : 1;
  }

  const names = {
    edgeIndex: 'edge_index',
    edgeAttr: 'edge_attr',
    trainMask: 'train_mask',
    valMask: 'val_mask',
    testMask: 'test_mask',
    trainIndex: 'train_index',
    valIndex: 'val_index',
    testIndex: 'test_index',
  };
  return new Data(init, { source: file, names });
}

function toFloat32(d: NpyArray['data']): Float32Array {
  if (d instanceof Float32Array) return d;
  const out = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  return out;
}

/** Integers of any width to Int32Array; values beyond int32 are refused (they cannot be node or class indices). */
function toInt32(d: NpyArray['data'], fail: (msg: string) => never): Int32Array {
  if (d instanceof Int32Array) return d;
  const out = new Int32Array(d.length);
  for (let i = 0; i < d.length; i++) {
    const v = Number(d[i]);
    if (v < -(2 ** 31) || v > 2 ** 31 - 1) fail(`value ${d[i]} at ${i} is out of range`);
    out[i] = v;
  }
  return out;
}
