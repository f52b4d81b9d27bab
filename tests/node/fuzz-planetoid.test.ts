// Randomly corrupted Planetoid files (bit flips, truncation, inserted and overwritten bytes in every part, under a
// fixed seed): every outcome must be an error that names the corrupted file, or a dataset that is structurally
// valid (and identical to the original for a truncation); never a hang, a crash or an out-of-memory abort.
// CI runs a few hundred cases; FUZZ_RUNS=5000 runs more.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { PLANETOID_PARTS } from '../../src/data/planetoid.ts';
import { corrupt, FUZZ_SEED, fuzzRuns, PLANETOID_DIR, Watchdog } from './fuzz/watchdog.ts';
import { corruptionArb } from './fuzz/corruption.ts';

let watchdog: Watchdog;
before(() => (watchdog = new Watchdog(10_000)));
after(() => watchdog.close());

test('the watchdog fails a case that hangs or runs out of memory, and recovers', async () => {
  const dog = new Watchdog(1000, 64);
  await assert.rejects(dog.run('hang', {}), /hang: no answer within 1000 ms/);
  await assert.rejects(dog.run('oom', {}), /hang|crash/);
  assert.equal((await dog.run('edgeIndex', { edgeIndex: [[0], [1]], numNodes: 2 })).ok, true);
  await dog.close();
});

for (const [name, share] of [
  ['cora', 0.6],
  ['citeseer', 0.4],
] as const) {
  test(`corrupted ind.${name}.* files: a named error or valid data, never a hang or a crash`, async () => {
    const files: Record<string, Uint8Array> = {};
    for (const p of PLANETOID_PARTS)
      files[p] = new Uint8Array(await readFile(path.join(PLANETOID_DIR, `ind.${name}.${p}`)));
    const clean = await watchdog.run('planetoid', { name, part: 'x', bytes: null });
    assert.ok(clean.ok && clean.problems.length === 0);
    const tally = { refused: 0, same: 0, changed: 0 };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PLANETOID_PARTS), corruptionArb, async (part, c) => {
        const { bytes, pos } = corrupt(files[part]!, c);
        const what = `ind.${name}.${part} ${c.kind} at byte ${pos}`;
        const out = await watchdog.run('planetoid', { name, part, bytes });
        if (!out.ok) {
          assert.match(out.message, /^Error: planetoid /, `${what}: ${out.message}`);
          assert.ok(
            out.message.includes(`ind.${name}.${part}`),
            `${what}: the error does not name the file: ${out.message}`,
          );
          tally.refused++;
          return;
        }
        assert.deepEqual(out.problems, [], `${what}: an invalid dataset was returned`);
        if (c.kind === 'truncate')
          assert.equal(out.digest, clean.digest, `${what}: a truncated file was read as other data`);
        // A flipped bit inside a stored number (a feature value, an id) is data no format check can tell from
        // the original: it is counted, and the data is valid.
        tally[out.digest === clean.digest ? 'same' : 'changed']++;
      }),
      { seed: FUZZ_SEED, numRuns: Math.round(fuzzRuns(350) * share), endOnFailure: true, includeErrorInReport: true },
    );
    console.log(`ind.${name}.*: ${JSON.stringify(tally)}`);
  });
}
