import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../../src/io/safetensors.ts';

/** Builds a safetensors file by hand: u64 LE header length, header text, data bytes. */
function handBuilt(header: string, data: number[]): Uint8Array {
  const head = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

/** Little-endian bytes of a typed array. */
const le = (a: ArrayBufferView): number[] => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

describe('safetensors round trip', () => {
  const tensors: Record<string, SafeTensor> = {
    'layer.0.weight': { dtype: 'F32', shape: [2, 3], data: Float32Array.of(1, -2.5, 3, 4, 5e-8, -0) },
    'layer.0.bias': { dtype: 'F64', shape: [3], data: Float64Array.of(Math.PI, -1e300, Number.MIN_VALUE) },
    step: { dtype: 'I64', shape: [], data: BigInt64Array.of(-(2n ** 62n)) },
    edges: { dtype: 'I32', shape: [2, 2], data: Int32Array.of(-1, 2147483647, -2147483648, 0) },
    counts: { dtype: 'U32', shape: [4], data: Uint32Array.of(0, 1, 4294967295, 7) },
    mask: { dtype: 'U8', shape: [5], data: Uint8Array.of(0, 1, 1, 0, 255) },
    empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    'empty.u8': { dtype: 'U8', shape: [0], data: new Uint8Array(0) },
    scalar: { dtype: 'F32', shape: [], data: Float32Array.of(0.5) },
  };

  it('keeps dtypes, shapes, values and metadata', () => {
    const bytes = encodeSafetensors(tensors, { format: 'pt', note: 'ünïcode "quoted"' });
    const { tensors: back, metadata } = decodeSafetensors(bytes);
    assert.deepEqual(metadata, { format: 'pt', note: 'ünïcode "quoted"' });
    assert.deepEqual(Object.keys(back).sort(), Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      assert.deepEqual(back[name], t, name);
      assert.equal(back[name]!.data.constructor, t.data.constructor, name);
    }
  });

  it('pads the header to a multiple of 8 with spaces and aligns every tensor', () => {
    const bytes = encodeSafetensors(tensors);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(n % 8, 0);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    assert.match(header, /^\{.*\} *$/);
    const json = JSON.parse(header) as Record<string, { dtype: string; data_offsets: [number, number] }>;
    assert.equal(json.__metadata__, undefined, 'no metadata key without metadata');
    const size: Record<string, number> = { F64: 8, I64: 8, F32: 4, I32: 4, U32: 4, U8: 1 };
    for (const [name, info] of Object.entries(json)) {
      assert.equal((8 + n + info.data_offsets[0]) % size[info.dtype]!, 0, `${name} is not aligned`);
    }
  });

  it('orders data like the reference: by dtype alignment (largest first), then name', () => {
    const bytes = encodeSafetensors(tensors);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const names = Object.keys(JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))));
    assert.deepEqual(names, [
      'step', // I64
      'layer.0.bias', // F64
      'empty',
      'layer.0.weight',
      'scalar', // F32
      'counts', // U32
      'edges', // I32
      'empty.u8',
      'mask', // U8
    ]);
  });

  it('encodes an empty dict as the reference does', () => {
    // The reference writes `{}` padded with 6 spaces: header length 8.
    assert.deepEqual(encodeSafetensors({}), handBuilt('{}      ', []));
    assert.deepEqual(decodeSafetensors(encodeSafetensors({})), { tensors: {}, metadata: {} });
  });
});

describe('safetensors hand-built fixtures', () => {
  // What `safetensors.torch.save_file({"attn.0": torch.arange(6.).reshape(1, 2, 3)}, f)` writes:
  // u64 LE header length, then compact JSON (no spaces) whose tensor entry lists
  // dtype, shape, data_offsets in that order; the header is 64 bytes, already a
  // multiple of 8, so no padding; then 6 little-endian f32 values 0..5.
  const header1 = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
  const fixture1 = handBuilt(header1, le(Float32Array.of(0, 1, 2, 3, 4, 5)));

  // With metadata and two dtypes: `__metadata__` comes first; the F64 tensor is
  // written before the I32 one (larger alignment first) even though its name
  // sorts later; the 141-byte header is padded with 3 spaces to 144.
  const header2 =
    '{"__metadata__":{"format":"pt"},"z":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},' +
    '"a":{"dtype":"I32","shape":[3],"data_offsets":[16,28]}}   ';
  const fixture2 = handBuilt(header2, [...le(Float64Array.of(1.5, -2)), ...le(Int32Array.of(7, -8, 9))]);

  it('decodes the single-tensor fixture', () => {
    assert.equal(header1.length, 64);
    const { tensors, metadata } = decodeSafetensors(fixture1);
    assert.deepEqual(metadata, {});
    assert.deepEqual(tensors, {
      'attn.0': { dtype: 'F32', shape: [1, 2, 3], data: Float32Array.of(0, 1, 2, 3, 4, 5) },
    });
  });

  it('encodes to the same bytes as the fixture', () => {
    const t: SafeTensor = { dtype: 'F32', shape: [1, 2, 3], data: Float32Array.of(0, 1, 2, 3, 4, 5) };
    assert.deepEqual(encodeSafetensors({ 'attn.0': t }), fixture1);
  });

  it('decodes and re-encodes the metadata fixture byte for byte', () => {
    assert.equal(header2.length, 144);
    const { tensors, metadata } = decodeSafetensors(fixture2);
    assert.deepEqual(metadata, { format: 'pt' });
    assert.deepEqual(tensors.z, { dtype: 'F64', shape: [2], data: Float64Array.of(1.5, -2) });
    assert.deepEqual(tensors.a, { dtype: 'I32', shape: [3], data: Int32Array.of(7, -8, 9) });
    assert.deepEqual(encodeSafetensors({ a: tensors.a!, z: tensors.z! }, metadata), fixture2);
  });

  it('reads tensors whose data is not aligned in the input buffer', () => {
    // Same file at an odd byte offset of a larger buffer.
    const big = new Uint8Array(fixture1.length + 3);
    big.set(fixture1, 3);
    const { tensors } = decodeSafetensors(big.subarray(3));
    assert.deepEqual(tensors['attn.0']!.data, Float32Array.of(0, 1, 2, 3, 4, 5));
  });
});

describe('safetensors validation', () => {
  const f32 = (n: number): number[] => le(new Float32Array(n));
  const entry = (dtype: string, shape: number[], a: number, b: number): string =>
    `{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[${a},${b}]}`;

  it('rejects a file shorter than the length prefix', () => {
    assert.throws(() => decodeSafetensors(new Uint8Array(5)), /too small for the 8-byte header length/);
  });

  it('rejects a header length beyond the file', () => {
    const bytes = handBuilt('{}      ', []);
    new DataView(bytes.buffer).setBigUint64(0, 1000n, true);
    assert.throws(() => decodeSafetensors(bytes), /header length 1000 exceeds the file size \(16 bytes\)/);
    new DataView(bytes.buffer).setBigUint64(0, 2n ** 63n, true);
    assert.throws(() => decodeSafetensors(bytes), /exceeds the 100000000-byte limit/);
  });

  it('rejects a corrupted header', () => {
    assert.throws(() => decodeSafetensors(handBuilt('{"x":{"dtype":"F32",', [])), /header is not valid JSON/);
    assert.throws(() => decodeSafetensors(handBuilt('[1,2,3] ', [])), /header does not start with '\{'/);
    assert.throws(() => decodeSafetensors(handBuilt('{"x":1}', [])), /header entry for tensor 'x' is not an object/);
    const badUtf8 = handBuilt('{"a":""}', []);
    badUtf8[14] = 0xff;
    assert.throws(() => decodeSafetensors(badUtf8), /not valid UTF-8/);
    assert.throws(
      () => decodeSafetensors(handBuilt('{"__metadata__":{"n":1}}', [])),
      /__metadata__ value 'n' is not a string/,
    );
  });

  it('names an unknown dtype and the tensor', () => {
    assert.throws(
      () => decodeSafetensors(handBuilt(`{"w":${entry('BF16', [2], 0, 4)}}`, [0, 0, 0, 0])),
      /tensor 'w' has unsupported dtype 'BF16'/,
    );
  });

  it('rejects offsets outside the data buffer', () => {
    const bytes = handBuilt(`{"w":${entry('F32', [2], 0, 8)}}`, f32(1));
    assert.throws(() => decodeSafetensors(bytes), /tensor 'w' data_offsets \[0, 8\] exceed the 4-byte data buffer/);
  });

  it('rejects offsets that disagree with shape and dtype', () => {
    const bytes = handBuilt(`{"w":${entry('F32', [3], 0, 8)}}`, f32(2));
    assert.throws(
      () => decodeSafetensors(bytes),
      /tensor 'w' data_offsets \[0, 8\] hold 8 bytes but F32 shape \[3\] needs 12/,
    );
  });

  it('rejects reversed, malformed, overlapping or gapped offsets', () => {
    assert.throws(
      () => decodeSafetensors(handBuilt(`{"w":${entry('U8', [0], 4, 0)}}`, [0, 0, 0, 0])),
      /tensor 'w' data_offsets \[4, 0\] end before they begin/,
    );
    assert.throws(
      () => decodeSafetensors(handBuilt('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0]}}', [0])),
      /tensor 'w' has invalid data_offsets \[0\]/,
    );
    assert.throws(
      () => decodeSafetensors(handBuilt(`{"w":${entry('U8', [-1], 0, 0)}}`, [])),
      /tensor 'w' has an invalid shape \[-1\]/,
    );
    const overlap = `{"a":${entry('F32', [2], 0, 8)},"b":${entry('F32', [1], 4, 8)}}`;
    assert.throws(
      () => decodeSafetensors(handBuilt(overlap, f32(2))),
      /tensor 'b' data_offsets \[4, 8\] start at 4, expected 8/,
    );
    const gap = `{"a":${entry('F32', [1], 0, 4)},"b":${entry('F32', [1], 8, 12)}}`;
    assert.throws(
      () => decodeSafetensors(handBuilt(gap, f32(3))),
      /tensor 'b' data_offsets \[8, 12\] start at 8, expected 4/,
    );
  });

  it('rejects trailing bytes not covered by any tensor', () => {
    const bytes = handBuilt(`{"w":${entry('F32', [1], 0, 4)}}`, f32(2));
    assert.throws(() => decodeSafetensors(bytes), /tensors cover 4 bytes but the data buffer has 8 bytes/);
  });

  it('checks tensors when encoding', () => {
    assert.throws(
      () => encodeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } }),
      /tensor 'w' has 3 elements but shape \[2, 2\] needs 4/,
    );
    assert.throws(
      () => encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Int32Array(2) } }),
      /tensor 'w' has dtype F32 but its data is a Int32Array, expected Float32Array/,
    );
    assert.throws(
      () => encodeSafetensors({ w: { dtype: 'F16' as 'F32', shape: [1], data: new Float32Array(1) } }),
      /tensor 'w' has unsupported dtype 'F16'/,
    );
    assert.throws(() => encodeSafetensors({}, { n: 1 as unknown as string }), /metadata 'n' must be a string/);
  });
});
