// Randomly corrupted safetensors checkpoints (fixed seed): every outcome must be an error that names the file (and
// the tensor where one is at fault) or refuses the state dict, or the same tensors (names, dtypes, shapes; and the
// same bytes when the corruption hit the header); never a hang or a crash. Random headers are generated too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeSafetensors, type SafeTensor } from '../../src/io/safetensors.ts';
import { corrupt, FUZZ_SEED, fuzzRuns, Watchdog } from './fuzz/watchdog.ts';
import { corruptionArb } from './fuzz/corruption.ts';

let watchdog: Watchdog;
before(() => (watchdog = new Watchdog(10_000)));
after(() => watchdog.close());

const FILE = 'checkpoints/model.safetensors';
const fill = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
const TENSORS: Record<string, SafeTensor> = {
  'conv1.lin_l.weight': { dtype: 'F32', shape: [16, 12], data: fill(192, (i) => Math.sin(i)) },
  'conv1.lin_l.bias': { dtype: 'F32', shape: [16], data: fill(16, (i) => i / 7) },
  'conv1.att': { dtype: 'F32', shape: [1, 2, 8], data: fill(16, (i) => -i) },
  'conv2.lin_l.weight': { dtype: 'F32', shape: [3, 16], data: fill(48, (i) => Math.cos(i)) },
  'conv2.bias': { dtype: 'F32', shape: [3], data: fill(3, (i) => i) },
};
const SPEC = Object.entries(TENSORS).map(([name, t]) => ({ name, shape: t.shape }));
const BYTES = encodeSafetensors(TENSORS, { format: 'pt', config: '{"heads": 2}' });
const DATA_START = 8 + Number(new DataView(BYTES.buffer).getBigUint64(0, true));

test('corrupted safetensors: a named error or the same tensors, never a hang or a crash', async () => {
  const clean = await watchdog.run('safetensors', { bytes: BYTES, file: FILE, spec: SPEC });
  assert.ok(clean.ok);
  const tally = { refused: 0, same: 0, dataChanged: 0 };
  await fc.assert(
    fc.asyncProperty(corruptionArb, async (c) => {
      const { bytes, pos } = corrupt(BYTES, c);
      const what = `${c.kind} at byte ${pos} (data starts at ${DATA_START})`;
      const out = await watchdog.run('safetensors', { bytes, file: FILE, spec: SPEC });
      if (!out.ok) {
        const named =
          out.message.startsWith(`Error: safetensors ${FILE}: `) ||
          out.message.startsWith('StateDictError: Error(s) in loading state_dict:');
        assert.ok(named, `${what}: ${out.message}`);
        tally.refused++;
        return;
      }
      const [layout, cleanLayout] = [out.digest.slice(0, -64), clean.digest.slice(0, -64)];
      assert.equal(layout, cleanLayout, `${what}: tensors read with other names, dtypes or shapes`);
      if (pos < DATA_START || (c.kind !== 'flip' && c.kind !== 'overwrite')) {
        assert.equal(out.digest, clean.digest, `${what}: a corrupted header or length changed the data silently`);
      }
      // Flipped bits inside the tensor data are data no format check can tell from the original.
      tally[out.digest === clean.digest ? 'same' : 'dataChanged']++;
    }),
    { seed: FUZZ_SEED, numRuns: fuzzRuns(300), endOnFailure: true, includeErrorInReport: true },
  );
  console.log(`safetensors: ${JSON.stringify(tally)}`);
});

test('generated headers (offsets, shapes, dtypes, lengths): a named error or a consistent file', async () => {
  const entry = fc.record({
    dtype: fc.constantFrom('F32', 'F64', 'I32', 'U8', 'I64', 'F16', 'bogus'),
    shape: fc.array(fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constant(-1), fc.constant(2 ** 53), fc.constant(1.5)), {
      maxLength: 3,
    }),
    offsets: fc.tuple(fc.integer({ min: -2, max: 80 }), fc.integer({ min: -2, max: 80 })),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.dictionary(fc.constantFrom('a', 'b', 'c'), entry),
      fc.integer({ min: 0, max: 80 }),
      async (entries, dataLength) => {
        const header: Record<string, unknown> = {};
        for (const [k, e] of Object.entries(entries))
          header[k] = { dtype: e.dtype, shape: e.shape, data_offsets: e.offsets };
        const text = new TextEncoder().encode(JSON.stringify(header));
        const bytes = new Uint8Array(8 + text.length + dataLength);
        new DataView(bytes.buffer).setBigUint64(0, BigInt(text.length), true);
        bytes.set(text, 8);
        const spec = Object.entries(entries).map(([name, e]) => ({ name, shape: e.shape, dtype: e.dtype }));
        const out = await watchdog.run('safetensors', { bytes, file: FILE, spec });
        if (!out.ok) {
          assert.match(out.message, new RegExp(`^(Error: safetensors ${FILE}: |StateDictError: )`), out.message);
          return;
        }
        // Accepted: the tensors tile the data exactly and each holds shape x dtype bytes.
        const size: Record<string, number> = { F32: 4, F64: 8, I32: 4, U8: 1, I64: 8 };
        let total = 0;
        for (const e of Object.values(entries)) {
          const n = e.shape.reduce((a, b) => a * b, 1) * size[e.dtype]!;
          assert.equal(e.offsets[1] - e.offsets[0], n);
          total += n;
        }
        assert.equal(total, dataLength);
      },
    ),
    { seed: FUZZ_SEED, numRuns: fuzzRuns(300), endOnFailure: true, includeErrorInReport: true },
  );
});
