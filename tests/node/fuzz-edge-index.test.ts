// Generated edge lists in every layout and element type users hand over, with corrupted entries (NaN, fractions,
// negatives, indices past the nodes, non-numbers) and wrong shapes: splitEdgeIndex must return exactly the edges a
// reference reading gives, or refuse with a message naming edge_index; each case runs under a time limit.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FUZZ_SEED, fuzzRuns, Watchdog } from './fuzz/watchdog.ts';

let watchdog: Watchdog;
before(() => (watchdog = new Watchdog(10_000)));
after(() => watchdog.close());

type ElementType = 'number' | 'int32' | 'uint32' | 'float64' | 'bigint64';
/** What the user's array holds once built (typed arrays convert on construction: Int32Array.of(2.5) is 2). */
function build(values: unknown[], type: ElementType): { array: unknown; seen: unknown[] } {
  const numeric = values.every((v) => typeof v === 'number');
  if (type === 'number' || !numeric) return { array: values, seen: values };
  if (type === 'bigint64') {
    if (!values.every((v) => Number.isSafeInteger(v))) return { array: values, seen: values };
    const a = BigInt64Array.from(values as number[], (v) => BigInt(v));
    return { array: a, seen: Array.from(a) };
  }
  const Ctor = { int32: Int32Array, uint32: Uint32Array, float64: Float64Array }[type];
  const a = Ctor.from(values as number[]);
  return { array: a, seen: Array.from(a) };
}

const valid = (v: unknown, n: number) =>
  ((typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint') && (v as number) >= 0 && (v as number) < n;

test('generated edge_index: the reference edges or an error naming edge_index', async () => {
  const arb = fc.record({
    numNodes: fc.integer({ min: 0, max: 12 }),
    edges: fc.array(fc.tuple(fc.nat(11), fc.nat(11)), { maxLength: 8 }),
    layout: fc.constantFrom('rows', 'rows', 'flat', 'flat', 'pairs', 'three-rows', 'ragged', 'not-an-array'),
    type: fc.constantFrom<ElementType>('number', 'int32', 'uint32', 'float64', 'bigint64'),
    bad: fc.option(
      fc.record({
        at: fc.nat(),
        value: fc.constantFrom<unknown>(NaN, -1, 2.5, 12, 2 ** 31, 2 ** 40, Infinity, -0, '3', null, undefined, true),
      }),
      { nil: null, freq: 2 },
    ),
  });
  const tally = { accepted: 0, refused: 0 };
  await fc.assert(
    fc.asyncProperty(arb, async ({ numNodes, edges, layout, type, bad }) => {
      // Mostly in range (ids taken modulo the node count); a node count of 0 leaves every edge out of range.
      const id = (v: number) => (numNodes > 0 ? v % numNodes : v);
      const src: unknown[] = edges.map((e) => id(e[0]));
      const dst: unknown[] = edges.map((e) => id(e[1]));
      if (bad && edges.length > 0) (bad.at % 2 ? dst : src)[bad.at % edges.length] = bad.value;
      const rowS = build(src, type),
        rowD = build(dst, type);
      let input: unknown;
      let expect: { src: unknown[]; dst: unknown[] } | null = null; // null: must be refused
      switch (layout) {
        case 'rows':
          input = [rowS.array, rowD.array];
          expect = { src: rowS.seen, dst: rowD.seen };
          break;
        case 'flat': {
          const flat = build([...src, ...dst], type);
          input = flat.array;
          const e = src.length;
          expect = { src: flat.seen.slice(0, e), dst: flat.seen.slice(e) };
          break;
        }
        case 'pairs': {
          // E x 2 pairs: only E = 2 is also a valid [2][E] (two rows are always [2][E]); E = 0 is an empty array.
          const pairs = edges.map((_, k) => build([src[k], dst[k]], type));
          input = pairs.map((p) => p.array);
          if (edges.length === 2) expect = { src: pairs[0]!.seen, dst: pairs[1]!.seen };
          if (edges.length === 0) expect = { src: [], dst: [] };
          break;
        }
        case 'three-rows':
          input = [rowS.array, rowD.array, rowD.array];
          break;
        case 'ragged':
          input = [rowS.array, [...rowD.seen, 0]];
          break;
        case 'not-an-array':
          input = { src: rowS.array, dst: rowD.array };
          break;
      }
      if (expect && !(expect.src.every((v) => valid(v, numNodes)) && expect.dst.every((v) => valid(v, numNodes))))
        expect = null;
      const out = await watchdog.run('edgeIndex', { edgeIndex: input, numNodes });
      if (expect) {
        assert.ok(out.ok, `${layout} ${type}: refused valid edges: ${!out.ok && out.message}`);
        assert.equal(out.digest, JSON.stringify([expect.src.map(Number), expect.dst.map(Number)]));
        tally.accepted++;
      } else {
        assert.ok(
          !out.ok,
          `${layout} ${type}: accepted ${JSON.stringify(input, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}`,
        );
        assert.match(out.message, /^Error: edge_index /, out.message);
        tally.refused++;
      }
    }),
    { seed: FUZZ_SEED, numRuns: fuzzRuns(400), endOnFailure: true, includeErrorInReport: true },
  );
  console.log(`edge_index: ${JSON.stringify(tally)}`);
});
