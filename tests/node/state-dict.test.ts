// State dicts of composed models: generated corruptions of a valid dict (keys dropped, added or renamed, shapes
// changed, data of another type or length, dtype labels) are refused with an error that names the entry, and leave
// every parameter as it was; non-strict loading reports exactly the missing and unexpected keys.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Gpu } from '../../src/gpu/gpu.ts';
import { ELU } from '../../src/nn/activations.ts';
import { Dropout } from '../../src/nn/dropout.ts';
import { GATConv } from '../../src/nn/gat-conv.ts';
import { GATv2Conv } from '../../src/nn/gatv2-conv.ts';
import { Linear } from '../../src/nn/linear.ts';
import type { StateDict } from '../../src/nn/module.ts';
import { Sequential } from '../../src/nn/sequential.ts';

let gpu: Gpu;
before(async () => {
  gpu = await Gpu.create();
});
after(() => gpu.destroy());

const build = () =>
  new Sequential([
    new Dropout(0.5),
    new GATv2Conv(6, 3, { heads: 2, residual: true }),
    new ELU(),
    new GATConv(6, 4, { heads: 2, concat: false }),
    new Linear(4, 3),
  ]);

type Corruption =
  | { kind: 'drop'; at: number }
  | { kind: 'add'; name: string }
  | { kind: 'rename'; at: number; suffix: string }
  | { kind: 'shape'; at: number; dim: number; delta: number }
  | { kind: 'extraDim'; at: number }
  | { kind: 'type'; at: number; as: 'f64' | 'i32' | 'array' | 'null' }
  | { kind: 'length'; at: number; delta: number }
  | { kind: 'dtype'; at: number; label: string };

const corruption: fc.Arbitrary<Corruption> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('add' as const), name: fc.string({ minLength: 1, maxLength: 12 }) }),
  fc.record({ kind: fc.constant('rename' as const), at: fc.nat(), suffix: fc.string({ minLength: 1, maxLength: 4 }) }),
  fc.record({
    kind: fc.constant('shape' as const),
    at: fc.nat(),
    dim: fc.nat(),
    delta: fc.integer({ min: -3, max: 3 }).filter((d) => d !== 0),
  }),
  fc.record({ kind: fc.constant('extraDim' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('type' as const),
    at: fc.nat(),
    as: fc.constantFrom('f64' as const, 'i32' as const, 'null' as const),
  }),
  fc.record({
    kind: fc.constant('length' as const),
    at: fc.nat(),
    delta: fc.integer({ min: -5, max: 5 }).filter((d) => d !== 0),
  }),
  fc.record({
    kind: fc.constant('dtype' as const),
    at: fc.nat(),
    label: fc.constantFrom('F64', 'I32', 'BF16', 'float16'),
  }),
);

/**
 * Applies the corruption to `dict` (entries built from the valid dict `valid`); returns the corrupted dict and the
 * names the error may mention.
 */
function corrupt(
  dict0: Record<string, unknown>,
  valid: StateDict,
  c: Corruption,
): { dict: Record<string, unknown>; names: string[] } {
  const keys = Object.keys(valid);
  const dict: Record<string, unknown> = { ...dict0 };
  const key = 'at' in c ? keys[c.at % keys.length] : '';
  const t = valid[key];
  switch (c.kind) {
    case 'drop':
      delete dict[key];
      return { dict, names: [key] };
    case 'add': {
      const name = keys.includes(c.name) ? `${c.name}_extra` : c.name;
      dict[name] = { shape: [1], data: new Float32Array(1) };
      return { dict, names: [name] };
    }
    case 'rename':
      delete dict[key];
      dict[key + c.suffix] = t;
      return { dict, names: [key, key + c.suffix] };
    case 'shape': {
      const shape = [...t.shape];
      const d = c.dim % shape.length;
      shape[d] = Math.max(0, shape[d] + c.delta);
      if (shape[d] === t.shape[d]) shape[d] += 1;
      dict[key] = { shape, data: t.data };
      return { dict, names: [key] };
    }
    case 'extraDim':
      dict[key] = { shape: [...t.shape, 1], data: t.data };
      return { dict, names: [key] };
    case 'type': {
      const data =
        c.as === 'f64'
          ? Float64Array.from(t.data)
          : c.as === 'i32'
            ? Int32Array.from(t.data)
            : c.as === 'array'
              ? Array.from(t.data)
              : null;
      dict[key] = { shape: t.shape, data };
      return { dict, names: [key] };
    }
    case 'length':
      dict[key] = { shape: t.shape, data: new Float32Array(Math.max(0, t.data.length + c.delta)) };
      return { dict, names: [key] };
    case 'dtype':
      dict[key] = { ...t, dtype: c.label };
      return { dict, names: [key] };
  }
}

test('generated corruptions of a state dict are refused by name and change nothing', async () => {
  const source = build().init(gpu, { seed: 1 });
  const target = build().init(gpu, { seed: 2 });
  const sd = await source.stateDict();
  const before = (await target.parameterStore.values.read()) as Float32Array;
  fc.assert(
    fc.property(fc.array(corruption, { minLength: 1, maxLength: 3 }), (cs) => {
      let dict: Record<string, unknown> = sd;
      const names: string[] = [];
      for (const c of cs) {
        const r = corrupt(dict, sd, c);
        dict = r.dict;
        names.push(...r.names);
      }
      let message = '';
      try {
        target.loadStateDict(dict as StateDict);
      } catch (err) {
        message = (err as Error).message;
      }
      assert.match(message, /^Error\(s\) in loading state_dict for Sequential:/, `not refused: ${JSON.stringify(cs)}`);
      assert.ok(
        names.some((n) => message.includes(n)),
        `the error names none of ${names.join(', ')}: ${message}`,
      );
    }),
    { numRuns: 150, seed: 7 },
  );
  const after = (await target.parameterStore.values.read()) as Float32Array;
  assert.deepEqual(after, before, 'a refused dict changed a parameter');
  target.loadStateDict(sd);
  assert.deepEqual(await target.parameterStore.values.read(), await source.parameterStore.values.read());
  source.dispose();
  target.dispose();
});

test('non-strict loading reports exactly the missing and unexpected keys of generated subsets', async () => {
  const source = build().init(gpu, { seed: 3 });
  const sd = await source.stateDict();
  const keys = Object.keys(sd);
  // Whole modules at a time: a GATv2Conv's lin_l and lin_r share one buffer, so a module is given whole or not at all.
  const modules = [...new Set(keys.map((k) => k.split('.')[0]))];
  await fc.assert(
    fc.asyncProperty(
      fc.subarray(modules),
      fc.array(
        fc.string({ minLength: 1, maxLength: 6 }).map((s) => `x_${s}`),
        { maxLength: 3 },
      ),
      async (kept, extra) => {
        const target = build().init(gpu, { seed: 4 });
        const dict: StateDict = {};
        for (const k of keys) if (kept.includes(k.split('.')[0])) dict[k] = sd[k];
        for (const e of extra) dict[e] = { shape: [1], data: new Float32Array(1) };
        const r = target.loadStateDict(dict, { strict: false });
        assert.deepEqual(
          r.missing,
          keys.filter((k) => !(k in dict)),
        );
        assert.deepEqual(r.unexpected, [...new Set(extra)]);
        const got = await target.stateDict();
        for (const k of keys) if (k in dict) assert.deepEqual(got[k].data, sd[k].data, `${k} was not loaded`);
        target.dispose();
      },
    ),
    { numRuns: 12, seed: 8 },
  );
  source.dispose();
});

test(
  'shared weights: lin_r may be left out ' + "(safetensors' save_model keeps one of two names for one storage)",
  async () => {
    const make = () => new GATv2Conv(5, 3, { heads: 2, shareWeights: true }).init(gpu);
    const a = make().eval(),
      b = make();
    const sd = await a.stateDict();
    assert.deepEqual(Object.keys(sd), ['att', 'bias', 'lin_l.weight', 'lin_l.bias', 'lin_r.weight', 'lin_r.bias']);
    assert.deepEqual(sd['lin_r.weight'].data, sd['lin_l.weight'].data);
    const saved = { ...sd };
    delete saved['lin_r.weight'];
    delete saved['lin_r.bias'];
    const r = b.loadStateDict(saved);
    assert.deepEqual([r.missing, r.unexpected], [[], []]);
    assert.deepEqual(await b.parameterStore.values.read(), await a.parameterStore.values.read());
    const noLeft = { ...saved };
    delete noLeft['lin_l.weight'];
    assert.throws(() => b.loadStateDict(noLeft), /Missing key\(s\) in state_dict: "lin_l\.weight", "lin_r\.weight"\./);
    a.dispose();
    b.dispose();
  },
);
