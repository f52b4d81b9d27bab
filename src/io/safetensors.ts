/**
 * safetensors reader/writer (https://github.com/huggingface/safetensors),
 * runtime-agnostic.
 *
 * File layout:
 *   [8 bytes]  N, little-endian u64: length of the header
 *   [N bytes]  UTF-8 JSON object, right-padded with spaces so that N % 8 == 0:
 *              { "__metadata__": { "k": "v", ... },            (optional, string values only)
 *                "<name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, ... }
 *   [rest]     the byte buffer; offsets are relative to its start, tensors are
 *              little-endian, C order, packed with no holes, and the last
 *              tensor ends at the end of the file.
 *
 * Writing follows the reference implementation's `serialize` (Rust crate,
 * used by `safetensors.torch.save_file`): tensors sorted by dtype alignment,
 * largest first (reference enum order ... U8 < I32 < U32 < F32 < F64 < I64),
 * then by name; compact JSON with `__metadata__` first, then the tensors in
 * data order, each as {"dtype","shape","data_offsets"}.
 */

export type SafeDType = 'F32' | 'I32' | 'U32' | 'I64' | 'F64' | 'U8';

export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  data: Float32Array | Int32Array | Uint32Array | Uint8Array | Float64Array | BigInt64Array;
}

type TypedCtor =
  | typeof Float32Array
  | typeof Int32Array
  | typeof Uint32Array
  | typeof Uint8Array
  | typeof Float64Array
  | typeof BigInt64Array;

interface DTypeInfo {
  size: number;
  /** Position in the reference `Dtype` enum, which is in increasing alignment order. */
  rank: number;
  ctor: TypedCtor;
}

const DTYPES: Record<SafeDType, DTypeInfo> = {
  U8: { size: 1, rank: 1, ctor: Uint8Array },
  I32: { size: 4, rank: 9, ctor: Int32Array },
  U32: { size: 4, rank: 10, ctor: Uint32Array },
  F32: { size: 4, rank: 11, ctor: Float32Array },
  F64: { size: 8, rank: 12, ctor: Float64Array },
  I64: { size: 8, rank: 13, ctor: BigInt64Array },
};

/** The reference reader refuses headers above 100 MB. */
const MAX_HEADER_SIZE = 100_000_000;

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function dtypeInfo(dtype: string, name: string): DTypeInfo {
  const info = (DTYPES as Record<string, DTypeInfo | undefined>)[dtype];
  if (!info)
    throw new Error(
      `safetensors: tensor '${name}' has unsupported dtype '${dtype}' (supported: ${Object.keys(DTYPES).join(', ')})`,
    );
  return info;
}

function numElements(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function checkShape(shape: unknown, name: string): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(
      `safetensors: tensor '${name}' has an invalid shape ${JSON.stringify(shape)} (expected non-negative integers)`,
    );
  }
  return shape as number[];
}

function requireLittleEndian(): void {
  if (!littleEndianHost) throw new Error('safetensors: big-endian hosts are not supported');
}

// ---------------------------------------------------------------------------
// encode

/** Serializes tensors (and optional string metadata) to safetensors bytes. */
export function encodeSafetensors(tensors: Record<string, SafeTensor>, metadata?: Record<string, string>): Uint8Array {
  requireLittleEndian();
  const entries = Object.entries(tensors).map(([name, t]) => {
    const info = dtypeInfo(t.dtype, name);
    const shape = checkShape(t.shape, name);
    if (!(t.data instanceof info.ctor)) {
      throw new Error(
        `safetensors: tensor '${name}' has dtype ${t.dtype} but its data is a ` +
          `${t.data?.constructor?.name ?? typeof t.data}, expected ${info.ctor.name}`,
      );
    }
    if (t.data.length !== numElements(shape)) {
      throw new Error(
        `safetensors: tensor '${name}' has ${t.data.length} elements but shape [${shape.join(', ')}] needs ` +
          `${numElements(shape)}`,
      );
    }
    return { name, info, t };
  });
  // Sort: descending dtype alignment, then name (byte order of the UTF-8 names).
  entries.sort((a, b) => b.info.rank - a.info.rank || compareUtf8(a.name, b.name));

  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`"__metadata__":${metadataJson(metadata)}`);
  let offset = 0;
  for (const { name, t } of entries) {
    const end = offset + t.data.byteLength;
    parts.push(
      `${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  const header = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = header.length + ((8 - (header.length % 8)) % 8);

  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(header, 8);
  out.fill(0x20, 8 + header.length, 8 + padded); // spaces
  let pos = 8 + padded;
  for (const { t } of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

function metadataJson(metadata: Record<string, string>): string {
  const items = Object.entries(metadata).map(([k, v]) => {
    if (typeof v !== 'string') throw new Error(`safetensors: metadata '${k}' must be a string, got ${typeof v}`);
    return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
  });
  return `{${items.join(',')}}`;
}

const utf8Encoder = new TextEncoder();

function compareUtf8(a: string, b: string): number {
  const x = utf8Encoder.encode(a);
  const y = utf8Encoder.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

// ---------------------------------------------------------------------------
// decode

interface HeaderEntry {
  name: string;
  dtype: SafeDType;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parses safetensors bytes; validates the header (length within the file, UTF-8 JSON object, string metadata) and
 * every tensor (dtype, shape, offsets within the data, no overlap or hole, shape x dtype size = byte length) before
 * copying anything. Errors start with 'safetensors: ' ('safetensors <file>: ' when `file` is given) and name the
 * tensor.
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  opts: { file?: string } = {},
): { tensors: Record<string, SafeTensor>; metadata: Record<string, string> } {
  try {
    // A plain view: Node's Buffer.slice does not copy, and the tensors must own aligned copies of their bytes.
    return decode(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    const err = e as Error;
    if (opts.file) err.message = err.message.replace(/^safetensors:/, `safetensors ${opts.file}:`);
    throw err;
  }
}

function decode(bytes: Uint8Array): { tensors: Record<string, SafeTensor>; metadata: Record<string, string> } {
  requireLittleEndian();
  const { json, dataStart } = readHeader(bytes);
  const metadata = readMetadata(json.__metadata__);
  const entries = Object.entries(json)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, v]) => headerEntry(name, v));

  // Like the reference: in offset order, tensors must tile the buffer exactly.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataLength = bytes.length - dataStart;
  let expected = 0;
  for (const e of entries) {
    if (e.begin !== expected) {
      throw new Error(
        `safetensors: tensor '${e.name}' data_offsets [${e.begin}, ${e.end}] start at ${e.begin}, expected ` +
          `${expected} (overlap or hole in the data)`,
      );
    }
    if (e.end > dataLength) {
      throw new Error(
        `safetensors: tensor '${e.name}' data_offsets [${e.begin}, ${e.end}] exceed the ${dataLength}-byte data buffer`,
      );
    }
    expected = e.end;
  }
  if (expected !== dataLength) {
    throw new Error(`safetensors: tensors cover ${expected} bytes but the data buffer has ${dataLength} bytes`);
  }

  const tensors: Record<string, SafeTensor> = {};
  for (const e of entries) {
    // Copy into a fresh (aligned) buffer: the data need not be aligned in `bytes`.
    const buf = bytes.slice(dataStart + e.begin, dataStart + e.end).buffer;
    tensors[e.name] = { dtype: e.dtype, shape: e.shape, data: new DTYPES[e.dtype].ctor(buf) };
  }
  return { tensors, metadata };
}

function readHeader(bytes: Uint8Array): { json: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8)
    throw new Error(`safetensors: file has ${bytes.length} bytes, too small for the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_SIZE))
    throw new Error(`safetensors: header length ${n} exceeds the ${MAX_HEADER_SIZE}-byte limit`);
  if (8n + n > BigInt(bytes.length))
    throw new Error(`safetensors: header length ${n} exceeds the file size (${bytes.length} bytes)`);
  const len = Number(n);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + len));
  } catch {
    throw new Error('safetensors: header is not valid UTF-8');
  }
  if (!text.startsWith('{')) throw new Error(`safetensors: header does not start with '{'`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`safetensors: header is not valid JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new Error('safetensors: header is not a JSON object');
  return { json: json as Record<string, unknown>, dataStart: 8 + len };
}

function readMetadata(v: unknown): Record<string, string> {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new Error('safetensors: __metadata__ is not an object');
  for (const [k, s] of Object.entries(v)) {
    if (typeof s !== 'string') throw new Error(`safetensors: __metadata__ value '${k}' is not a string`);
  }
  return { ...(v as Record<string, string>) };
}

function headerEntry(name: string, v: unknown): HeaderEntry {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new Error(`safetensors: header entry for tensor '${name}' is not an object`);
  const { dtype, shape, data_offsets: offsets } = v as Record<string, unknown>;
  if (typeof dtype !== 'string') throw new Error(`safetensors: tensor '${name}' has no dtype`);
  const info = dtypeInfo(dtype, name);
  const dims = checkShape(shape, name);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new Error(`safetensors: tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin)
    throw new Error(`safetensors: tensor '${name}' data_offsets [${begin}, ${end}] end before they begin`);
  const nbytes = numElements(dims) * info.size;
  if (end - begin !== nbytes) {
    throw new Error(
      `safetensors: tensor '${name}' data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} shape ` +
        `[${dims.join(', ')}] needs ${nbytes}`,
    );
  }
  return { name, dtype: dtype as SafeDType, shape: dims, begin, end };
}
