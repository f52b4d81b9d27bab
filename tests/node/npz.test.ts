// .npz graphs: files written by numpy itself (tests/fixtures/npz, made by make-fixtures.py), random good files in
// every accepted dtype, each class of bad file refused with an error naming the file and the array, and random
// damage to the bytes: every outcome is a Data or an error that names the file, never a hang or a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { loadNpz, readNpz } from '../../src/data/npz.ts';
import { loadNpzFile } from '../../src/data/npz-node.ts';
import { npy, npz } from '../helpers/npz-writer.ts';

const fixture = (name: string) => new URL(`../fixtures/npz/${name}`, import.meta.url).pathname;

test('numpy np.savez: x float32, edge_index int64, y int64, bool masks', async () => {
  const d = await loadNpzFile(fixture('graph.npz'));
  assert.equal(d.numNodes, 5);
  assert.equal(d.numFeatures, 3);
  assert.deepEqual(
    [...(d.x as Float32Array)],
    Array.from({ length: 15 }, (_, i) => i / 4),
  );
  assert.deepEqual([...d.edgeIndex], [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 2]);
  assert.deepEqual([...(d.y as Int32Array)], [0, 1, 2, 1, 0]);
  assert.equal(d.numClasses, 3);
  assert.deepEqual([...d.trainMask], [1, 1, 0, 0, 0]);
  assert.deepEqual([...d.valMask], [0, 0, 1, 0, 0]);
  assert.deepEqual([...d.testMask], [0, 0, 0, 1, 1]);
});

test('numpy np.savez_compressed: float64 x, int32 edges, uint8 masks, index list, float targets, edge_attr', () => {
  const d = loadNpz(readFileSync(fixture('graph-compressed.npz')), { name: 'graph-compressed.npz' });
  assert.deepEqual(
    [...(d.x as Float32Array)],
    Array.from({ length: 15 }, (_, i) => i / 4),
  );
  assert.deepEqual([...d.edgeIndex], [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 2]);
  assert.ok(d.y instanceof Float32Array);
  assert.deepEqual([...d.y], [1, 0, 0, 1, 0, 0, 0, 1, 1, 0]);
  assert.equal(d.numClasses, 2, 'two targets per node');
  assert.deepEqual([...d.trainMask], [1, 1, 0, 0, 0]);
  assert.deepEqual([...d.testMask], [0, 0, 0, 1, 1]);
  assert.equal(d.edgeDim, 2);
  assert.deepEqual(
    [...d.edgeAttr!],
    Array.from({ length: 12 }, (_, i) => i),
  );
});

test('numpy files of each bad class are refused with the file, the array and the problem', async () => {
  const cases: [string, RegExp][] = [
    ['bad-fortran.npz', /bad-fortran\.npz: x: Fortran-order arrays are not supported/],
    ['bad-object.npz', /bad-object\.npz: y: object arrays are not supported/],
    ['bad-big-endian.npz', /bad-big-endian\.npz: x: big-endian data \('>f4'\) is not supported/],
    ['bad-transposed.npz', /bad-transposed\.npz: edge_index: shape \(6, 2\) \(this is \(E, 2\)/],
    ['bad-missing-x.npz', /bad-missing-x\.npz: x: missing/],
    [
      'bad-out-of-range.npz',
      /bad-out-of-range\.npz: edge_index destination index 5 at edge 1 is out of range for 5 nodes/,
    ],
    ['bad-float-edges.npz', /bad-float-edges\.npz: edge_index: dtype float32: edge_index must be int64 or int32/],
  ];
  for (const [name, error] of cases) await assert.rejects(loadNpzFile(fixture(name)), error, name);
  await assert.rejects(loadNpzFile(fixture('no-such-file.npz')), /no-such-file\.npz: cannot read the file/);
});

/** A random graph as the arrays of an .npz, in randomly chosen (accepted) dtypes. */
const goodFile = fc
  .record({
    n: fc.integer({ min: 1, max: 10 }),
    f: fc.integer({ min: 1, max: 4 }),
    e: fc.integer({ min: 0, max: 20 }),
    x64: fc.boolean(),
    edges64: fc.boolean(),
    y64: fc.boolean(),
    boolMasks: fc.boolean(),
    byIndex: fc.boolean(),
    edgeAttr: fc.boolean(),
    compressed: fc.boolean(),
    numNodes: fc.boolean(),
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
  })
  .map((p) => {
    let s = p.seed;
    const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const int = (k: number) => Math.floor(rnd() * k);
    const x = Float64Array.from({ length: p.n * p.f }, () => rnd() - 0.5);
    const edges = Array.from({ length: 2 * p.e }, () => int(p.n));
    const y = Array.from({ length: p.n }, () => int(4));
    const mask = Uint8Array.from({ length: p.n }, () => (rnd() < 0.5 ? 1 : 0));
    const files: Record<string, Uint8Array> = {
      x: npy(p.x64 ? x : Float32Array.from(x), [p.n, p.f]),
      edge_index: npy(p.edges64 ? BigInt64Array.from(edges.map(BigInt)) : Int32Array.from(edges), [2, p.e]),
      y: npy(p.y64 ? BigInt64Array.from(y.map(BigInt)) : Int32Array.from(y), [p.n]),
    };
    if (p.byIndex)
      files.train_index = npy(BigInt64Array.from([...mask.keys()].filter((i) => mask[i]).map(BigInt)), [
        mask.reduce((a, b) => a + b, 0),
      ]);
    else files.train_mask = npy(mask, [p.n], { descr: p.boolMasks ? '|b1' : '|u1' });
    const attr = Float32Array.from({ length: p.e * 3 }, rnd);
    if (p.edgeAttr) files.edge_attr = npy(attr, [p.e, 3]);
    if (p.numNodes) files.num_nodes = npy(BigInt64Array.of(BigInt(p.n)), []);
    return { p, files, x, edges, y, mask, attr };
  });

test('random good files in every accepted dtype load as the arrays written', () => {
  fc.assert(
    fc.property(goodFile, ({ p, files, x, edges, y, mask, attr }) => {
      const d = loadNpz(npz(files, p.compressed), { name: 'g.npz' });
      assert.equal(d.numNodes, p.n);
      assert.equal(d.numFeatures, p.f);
      assert.deepEqual(d.x, Float32Array.from(x));
      assert.deepEqual([...d.edgeIndex], edges);
      assert.deepEqual([...(d.y as Int32Array)], y);
      assert.deepEqual(d.trainMask, mask);
      assert.equal(d.edgeDim, p.edgeAttr ? 3 : 0);
      if (p.edgeAttr) assert.deepEqual(d.edgeAttr, attr);
    }),
    { numRuns: 150 },
  );
});

/** One way to make a good file bad, and the error it must give (always after the file's name). */
type Breakage = {
  name: string;
  apply: (files: Record<string, Uint8Array>, n: number, e: number) => void;
  error: RegExp;
};
const BREAKAGES: Breakage[] = [
  { name: 'missing x', apply: (f) => delete f.x, error: /g\.npz: x: missing/ },
  { name: 'missing edge_index', apply: (f) => delete f.edge_index, error: /g\.npz: edge_index: missing/ },
  {
    name: 'x int',
    apply: (f, n) => (f.x = npy(new Int32Array(n), [n, 1])),
    error: /g\.npz: x: dtype int32: node features must be float32 or float64/,
  },
  {
    name: 'x 1-D',
    apply: (f, n) => (f.x = npy(new Float32Array(n), [n])),
    error: /g\.npz: x: shape \(\d+,\): node features must be 2-D/,
  },
  {
    name: 'x NaN',
    apply: (f, n) => (f.x = npy(new Float32Array(n).fill(NaN), [n, 1])),
    error: /g\.npz: NaN or infinite value in x at node 0, feature 0: NaN is not a finite number/,
  },
  {
    name: 'x float64 beyond float32',
    apply: (f, n) => (f.x = npy(new Float64Array(n).fill(1e300), [n, 1])),
    error: /g\.npz: NaN or infinite value in x at node 0, feature 0: 1e\+300 is beyond the float32 range/,
  },
  {
    name: 'x Fortran',
    apply: (f, n) => (f.x = npy(new Float32Array(n * 2), [n, 2], { fortran: true })),
    error: /g\.npz: x: Fortran-order arrays are not supported/,
  },
  {
    name: 'x big-endian',
    apply: (f, n) => (f.x = npy(new Float32Array(n * 2), [n, 2], { descr: '>f4' })),
    error: /g\.npz: x: big-endian data/,
  },
  {
    name: 'x complex',
    apply: (f, n) => (f.x = npy(new Float64Array(n * 2), [n, 1], { descr: '<c16' })),
    error: /g\.npz: x: dtype c16 \('<c16'\) is not supported/,
  },
  {
    name: 'y object',
    apply: (f, n) => (f.y = npy(new BigInt64Array(n), [n], { descr: '|O' })),
    error: /g\.npz: y: object arrays are not supported/,
  },
  {
    name: 'x truncated data',
    apply: (f) => (f.x = f.x.subarray(0, f.x.length - 1)),
    error: /g\.npz: x: data is truncated/,
  },
  {
    name: 'x extra data',
    apply: (f) => (f.x = Uint8Array.from([...f.x, 0, 0, 0, 0])),
    error: /g\.npz: x: data has extra bytes/,
  },
  {
    name: 'x header damaged',
    apply: (f) => ((f.x = f.x.slice()), (f.x[0] = 0)),
    error: /g\.npz: x: not an \.npy array/,
  },
  {
    name: 'edge_index float',
    apply: (f, _n, e) => (f.edge_index = npy(new Float64Array(2 * e), [2, e])),
    error: /g\.npz: edge_index: dtype float64: edge_index must be int64 or int32/,
  },
  {
    name: 'edge_index (3, E)',
    apply: (f, _n, e) => (f.edge_index = npy(new Int32Array(3 * e), [3, e])),
    error: /g\.npz: edge_index: shape \(3, \d+\).*expected \(2, num_edges\)/,
  },
  {
    name: 'edge_index out of range',
    apply: (f, n) => (delete f.edge_attr, (f.edge_index = npy(BigInt64Array.of(0n, BigInt(n)), [2, 1]))),
    error: /g\.npz: edge_index destination index \d+ at edge 0 is out of range for \d+ nodes/,
  },
  {
    name: 'edge_index negative',
    apply: (f) => (delete f.edge_attr, (f.edge_index = npy(Int32Array.of(-3, 0), [2, 1]))),
    error: /g\.npz: edge_index source index -3 at edge 0 is negative/,
  },
  {
    name: 'y wrong length',
    apply: (f, n) => (f.y = npy(new Int32Array(n + 1), [n + 1])),
    error: /g\.npz: y: shape \(\d+,\): expected \(\d+,\) class labels/,
  },
  {
    name: 'y beyond int32',
    apply: (f, n) => (f.y = npy(new BigInt64Array(n).fill(2n ** 40n), [n])),
    error: /g\.npz: y: value 1099511627776 at 0 is out of range/,
  },
  {
    name: 'y negative',
    apply: (f, n) => (f.y = npy(new Int32Array(n).fill(-1), [n])),
    error: /g\.npz: y: label -1 at node 0 is negative/,
  },
  {
    name: 'mask float',
    apply: (f, n) => (delete f.train_index, (f.train_mask = npy(new Float32Array(n), [n]))),
    error: /g\.npz: train_mask: dtype float32: masks must be bool/,
  },
  {
    name: 'mask wrong length',
    apply: (f, n) => (delete f.train_index, (f.train_mask = npy(new Uint8Array(n + 1), [n + 1]))),
    error: /g\.npz: train_mask: shape \(\d+,\): expected \(\d+,\)/,
  },
  {
    name: 'mask holds 3',
    apply: (f, n) => (delete f.train_index, (f.train_mask = npy(new Uint8Array(n).fill(3), [n]))),
    error: /g\.npz: train_mask holds 3 at node 0: a mask holds 0 or 1 \(node indices go in train_index\)/,
  },
  {
    name: 'index out of range',
    apply: (f, n) => (delete f.train_mask, (f.train_index = npy(Int32Array.of(n), [1]))),
    error: /g\.npz: train_index\[0\] = \d+ is not a node index/,
  },
  {
    name: 'edge_attr wrong rows',
    apply: (f, _n, e) => (f.edge_attr = npy(new Float32Array(e + 1), [e + 1, 1])),
    error: /g\.npz: edge_attr: shape \(\d+, 1\): expected \(\d+, D\)/,
  },
  {
    name: 'num_nodes disagrees',
    apply: (f, n) => (f.num_nodes = npy(Int32Array.of(n + 1), [])),
    error: /g\.npz: num_nodes: is \d+ but x has \d+ rows/,
  },
  {
    name: 'num_nodes not a scalar',
    apply: (f, n) => (f.num_nodes = npy(Int32Array.of(n), [1])),
    error: /g\.npz: num_nodes: must be an integer scalar/,
  },
  {
    name: 'unknown key',
    apply: (f, n) => (f.trian_mask = npy(new Uint8Array(n), [n])),
    error: /g\.npz: unknown array 'trian_mask'/,
  },
  {
    name: 'not an .npy entry',
    apply: (f) => (f['notes.txt'] = new Uint8Array(3)),
    error: /g\.npz: (entry "notes\.txt\.npy"|notes\.txt: not an \.npy)/,
  },
];

test('random bad files: each class refused with an error naming the file and the array', () => {
  fc.assert(
    fc.property(goodFile, fc.constantFrom(...BREAKAGES), ({ p, files: good }, b) => {
      const files = { ...good };
      b.apply(files, p.n, p.e);
      assert.throws(() => loadNpz(npz(files, p.compressed), { name: 'g.npz' }), b.error, b.name);
    }),
    { numRuns: 300 },
  );
});

test('random damage to the bytes (flips, truncation, insertion): the same Data, or an error naming the file', () => {
  const outcomes = { loaded: 0, refused: 0 };
  fc.assert(
    fc.property(
      goodFile,
      fc.array(
        fc.record({ at: fc.nat(), kind: fc.constantFrom('flip', 'set', 'truncate', 'insert'), byte: fc.nat(255) }),
        { minLength: 1, maxLength: 4 },
      ),
      ({ p, files, x, edges, y }, hits) => {
        let b = npz(files, p.compressed);
        for (const h of hits) {
          const at = h.at % b.length;
          if (h.kind === 'flip') (b = b.slice()), (b[at] ^= 1 << (h.byte % 8));
          else if (h.kind === 'set') (b = b.slice()), (b[at] = h.byte);
          else if (h.kind === 'truncate') b = b.subarray(0, at);
          else b = Uint8Array.from([...b.subarray(0, at), h.byte, ...b.subarray(at)]);
        }
        try {
          const d = loadNpz(b, { name: 'g.npz' });
          // Damage outside the arrays' bytes (dates, unused fields) is harmless; inside them the CRC-32 catches it.
          assert.deepEqual([d.x, [...d.edgeIndex], [...(d.y as Int32Array)]], [Float32Array.from(x), edges, y]);
          outcomes.loaded++;
        } catch (err) {
          assert.ok(err instanceof Error);
          assert.match(err.message, /^g\.npz: /, `an error that names the file: ${err.message}`);
          outcomes.refused++;
        }
      },
    ),
    { numRuns: 400 },
  );
  assert.ok(outcomes.refused > 100, `most damage is refused (${JSON.stringify(outcomes)})`);
});

test('an archive that claims huge entries is refused before anything is allocated for them', () => {
  const b = npz({ x: npy(new Float32Array(4), [4, 1]) }).slice();
  // Central directory entry: uncompressed size at offset 24 of the 'PK\1\2' record.
  const cd = b.findIndex((_, i) => b[i] === 0x50 && b[i + 1] === 0x4b && b[i + 2] === 1 && b[i + 3] === 2);
  new DataView(b.buffer).setUint32(cd + 24, 0xfffffff0, true);
  assert.throws(
    () => readNpz(b, { name: 'big.npz' }),
    /big\.npz: not a readable \.npz \(zip\) file: entry "x\.npy" is stored but its two sizes differ/,
  );
  assert.throws(
    () => readNpz(npz({ x: npy(new Float32Array(300), [300]) }), { name: 'c.npz', maxBytes: 1000 }),
    /c\.npz: .*more than 1000 bytes/,
  );
});

test('a damaged byte inside an array fails its CRC-32 check instead of loading as a wrong value', () => {
  const x = Float32Array.from({ length: 12 }, (_, i) => i + 0.5);
  const good = npz({ x: npy(x, [4, 3]), edge_index: npy(Int32Array.of(0, 1, 1, 2), [2, 2]) });
  const at = 30 + 'x.npy'.length + 128 + 8; // after x.npy's local header and .npy header: its third value
  const value = new DataView(good.buffer).getUint32(at);
  for (const bit of [0, 9, 31]) {
    const bad = good.slice();
    new DataView(bad.buffer).setUint32(at, value ^ (1 << bit));
    assert.throws(
      () => loadNpz(bad, { name: 'g.npz' }),
      /g\.npz: entry "x\.npy" fails its CRC-32 check: the file is damaged/,
    );
  }
  assert.deepEqual(loadNpz(good).x, x);
});
