// A kernel's bindings and uniform fields come from its WGSL: filled by name, and every mismatch is an error that
// names the kernel and the binding or field.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Gpu } from '../../src/gpu/gpu.ts';
import { ELEMENT_TYPE, kernel, packUniforms } from '../../src/gpu/kernel.ts';

const code = `
struct Params { n: u32, scale: f32, shift: i32 }
@group(0) @binding(0) var<storage, read> values: array<f32>;
@group(0) @binding(0) var<storage, read> values4: array<vec4f>;
@group(0) @binding(1) var<storage, read> index: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(WG)
fn gather(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= P.n) { return; }
  out[i] = values[index[i]] * P.scale + f32(P.shift);
}

@compute @workgroup_size(WG)
fn scale4(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= P.n) { return; }
  let v = values4[i / 4u];
  out[i] = v[i % 4u] * P.scale;
}
`;

let gpu: Gpu;
before(async () => {
  gpu = await Gpu.create();
});
after(() => gpu.destroy());

test('the interface is read from the WGSL: names, access, element types, uniform offsets', () => {
  const k = kernel({ name: 'test.gather', code, entryPoint: 'gather' });
  assert.deepEqual(k.iface.storage, [
    { binding: 0, name: 'values', access: 'read', dtype: 'f32' },
    { binding: 1, name: 'index', access: 'read', dtype: 'u32' },
    { binding: 2, name: 'out', access: 'read_write', dtype: 'f32' },
  ]);
  assert.deepEqual(
    k.iface.uniform?.fields.map((f) => [f.name, f.offset, f.type]),
    [
      ['n', 0, 'u32'],
      ['scale', 4, 'f32'],
      ['shift', 8, 'i32'],
    ],
  );
  assert.equal(k.iface.uniform?.binding, 3);
  // scale4 uses the vec4f view of binding 0 and not binding 1: named by the binding's first declaration.
  const k4 = kernel({ name: 'test.scale4', code, entryPoint: 'scale4' });
  assert.deepEqual(
    k4.iface.storage.map((b) => b.name),
    ['values', 'out'],
  );
  assert.deepEqual(
    k4.iface.storage.map((b) => b.binding),
    [0, 2],
  );
});

test('bindings and uniforms are filled by name and the kernel computes with them', async () => {
  const k = kernel({ name: 'test.gather', code, entryPoint: 'gather' });
  const values = gpu.tensor('f32', [4], [1, 2, 3, 4]);
  const index = gpu.tensor('u32', [5], [3, 0, 1, 2, 3]);
  const out = gpu.full('f32', [5], NaN);
  gpu.dispatch(k, { bindings: { values, index, out }, uniforms: { n: 5, scale: 0.5, shift: -1 }, workgroups: 1 });
  assert.deepEqual([...(await out.read())], [1, -0.5, 0, 0.5, 1]);
  [values, index, out].forEach((t) => t.dispose());
});

test('a name or type that does not match the WGSL is an error naming the kernel and the binding or field', () => {
  const k = kernel({ name: 'test.gather', code, entryPoint: 'gather' });
  const f = gpu.empty('f32', [4]);
  const u = gpu.empty('u32', [4]);
  const uniforms = { n: 4, scale: 1, shift: 0 };
  const call = (bindings: Record<string, typeof f>, un: Record<string, number> = uniforms) =>
    gpu.dispatch(k, { bindings, uniforms: un, workgroups: 1 });
  assert.throws(() => call({ values: f, index: u }), /test\.gather: no tensor for binding 'out'/);
  assert.throws(
    () => call({ values: f, index: u, out: f, extra: f }),
    /test\.gather: the entry point binds no buffer named 'extra'/,
  );
  assert.throws(
    () => call({ values: f, index: f, out: u }),
    /test\.gather: binding 'index' holds u32, got a f32 tensor/,
  );
  assert.throws(
    () => call({ values: f, index: u, out: f }, { n: 4, scale: 1 }),
    /test\.gather: uniform field P\.shift \(i32\) is not given/,
  );
  assert.throws(
    () => call({ values: f, index: u, out: f }, { ...uniforms, scal: 2 }),
    /test\.gather: uniform P has no field 'scal'/,
  );
  assert.throws(() => call({ values: f, index: u, out: f }, { ...uniforms, n: -1 }), /P\.n \(u32\) must be an integer/);
  assert.throws(
    () => call({ values: f, index: u, out: f }, { ...uniforms, shift: 0.5 }),
    /P\.shift \(i32\) must be an integer/,
  );
  assert.throws(
    () => kernel({ name: 'test.none', code, entryPoint: 'nope' }).iface,
    /test\.none: the WGSL has no compute entry point 'nope'/,
  );
  const swizzle = kernel({ name: 'test.swizzle', code: code.replace(/\bout\b/g, 'x'), entryPoint: 'gather' });
  assert.throws(() => swizzle.iface, /binding 'x' is named like a vector swizzle/);
  f.dispose();
  u.dispose();
});

test('packUniforms lays fields at the offsets the WGSL struct gives them', () => {
  const k = kernel({ name: 'test.gather', code, entryPoint: 'gather' });
  const words = packUniforms(k, { n: 7, scale: 1.5, shift: -2 });
  assert.equal(words[0], 7);
  assert.equal(new Float32Array(words.buffer)[1], 1.5);
  assert.equal(new Int32Array(words.buffer)[2], -2);
});

test('preludes are prepended in order: a helper and a binding declared there serve the kernel', async () => {
  const prelude = `
@group(0) @binding(1) var<storage, read_write> doubled: array<f32>;
fn twice(v: f32) -> f32 { return 2.0 * v; }`;
  const body = `
struct Params { n: u32 }
@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x < P.n) { doubled[gid.x] = twice(input[gid.x]); }
}`;
  const k = kernel({ name: 'test.prelude', code: body, preludes: [prelude], entryPoint: 'main' });
  assert.deepEqual(
    k.iface.storage.map((b) => [b.binding, b.name]),
    [
      [0, 'input'],
      [1, 'doubled'],
    ],
  );
  const input = gpu.tensor('f32', [3], [1, -2, 0.5]);
  const doubled = gpu.full('f32', [3], NaN);
  gpu.dispatch(k, { bindings: { input, doubled }, uniforms: { n: 3 }, workgroups: 1 });
  assert.deepEqual([...(await doubled.read())], [2, -4, 1]);
  [input, doubled].forEach((t) => t.dispose());
});

test('kernels of one name and entry point but different preludes (element type) run their own code', async () => {
  const body = `
struct Params { n: u32 }
@group(0) @binding(0) var<storage, read> input: array<Elem>;
@group(0) @binding(1) var<storage, read_write> out: array<Elem>;
@group(0) @binding(2) var<uniform> P: Params;
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x < P.n) { out[gid.x] = input[gid.x] + Elem(1.0); }
}`;
  const [k1, k4] = ([1, 4] as const).map((w) =>
    kernel({ name: 'test.add_one', code: body, preludes: [ELEMENT_TYPE[w]], entryPoint: 'main' }),
  );
  assert.notEqual(k1.pipelineKey, k4.pipelineKey);
  const again = kernel({ name: 'test.add_one', code: body, preludes: [ELEMENT_TYPE[4]], entryPoint: 'main' });
  assert.equal(again.pipelineKey, k4.pipelineKey, 'the same module and entry point share a pipeline');
  const input = gpu.tensor('f32', [8], [0, 1, 2, 3, 4, 5, 6, 7]);
  const out = gpu.full('f32', [8], NaN);
  // f32 elements: one thread per element, all 8 written.
  gpu.dispatch(k1, { bindings: { input, out }, uniforms: { n: 8 }, workgroups: 1 });
  assert.deepEqual([...(await out.read())], [1, 2, 3, 4, 5, 6, 7, 8]);
  // vec4f elements: n counts groups of 4; one group written, the rest left as they were.
  out.write(new Float32Array(8).fill(NaN));
  gpu.dispatch(k4, { bindings: { input, out }, uniforms: { n: 1 }, workgroups: 1 });
  const got = [...(await out.read())];
  assert.deepEqual(got.slice(0, 4), [1, 2, 3, 4]);
  assert.ok(got.slice(4).every(Number.isNaN), `only the first vec4 group is written: ${got}`);
  [input, out].forEach((t) => t.dispose());
});

test('a binding given as undefined counts as not given; unread tensors have the dtype asked for', () => {
  const k = kernel({ name: 'test.gather', code, entryPoint: 'gather' });
  const f = gpu.empty('f32', [4]);
  const uniforms = { n: 0, scale: 1, shift: 0 };
  // `extra` is not a binding of the entry point, but undefined: ignored.
  gpu.dispatch(k, {
    bindings: { values: f, index: gpu.unread('u32'), out: f.view(0, [4]), extra: undefined },
    uniforms,
    workgroups: 1,
  });
  assert.throws(
    () => gpu.dispatch(k, { bindings: { values: f, index: undefined, out: f }, uniforms, workgroups: 1 }),
    /test\.gather: no tensor for binding 'index'/,
  );
  for (const dtype of ['f32', 'u32', 'i32'] as const) {
    const t = gpu.unread(dtype);
    assert.equal(t.dtype, dtype);
    assert.ok(t.byteLength >= 16, 'an unread tensor binds as a vec4 view');
    t.dispose(); // owned by the Gpu: disposing it does nothing
    assert.equal(gpu.unread(dtype), t);
    assert.ok(!t.isDisposed);
  }
  f.dispose();
});

test('an f32 field takes any number, NaN and infinities included; a non-number is an error', () => {
  const k = kernel({ name: 'test.gather', code, entryPoint: 'gather' });
  for (const scale of [Number.NaN, Number.POSITIVE_INFINITY, -0]) {
    const words = packUniforms(k, { n: 1, scale, shift: 0 });
    assert.ok(Object.is(new Float32Array(words.buffer)[1], scale));
  }
  const text = '1' as unknown as number;
  assert.throws(() => packUniforms(k, { n: 1, scale: text, shift: 0 }), /P\.scale \(f32\) got 1/);
});
