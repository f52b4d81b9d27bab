// What users hand over: edge_index in every layout and type PyG users have (and the ones that are wrong), labels and
// features as plain arrays, and a GPU device that is lost in the middle of work.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGraph, splitEdgeIndex, type EdgeIndex } from '../../src/graph.ts';
import { Gpu } from '../../src/gpu/gpu.ts';
import { matmul } from '../../src/kernels/matmul.ts';
import { uploadDataset, type NodeDataset } from '../../src/train/data.ts';

const split = (e: unknown, n = 5) => {
  const { src, dst } = splitEdgeIndex(e as EdgeIndex, n);
  return [Array.from(src), Array.from(dst)];
};

describe('edge_index layouts and types', () => {
  test('accepted: [2][E] rows of any integer type, flat 2*E arrays, int64 within range', () => {
    const want = [
      [0, 1, 4],
      [2, 3, 0],
    ];
    assert.deepEqual(
      split([
        [0, 1, 4],
        [2, 3, 0],
      ]),
      want,
    );
    assert.deepEqual(split([Int32Array.of(0, 1, 4), Uint32Array.of(2, 3, 0)]), want);
    assert.deepEqual(split([BigInt64Array.of(0n, 1n, 4n), BigInt64Array.of(2n, 3n, 0n)]), want);
    assert.deepEqual(split(Int32Array.of(0, 1, 4, 2, 3, 0)), want);
    assert.deepEqual(split(Uint32Array.of(0, 1, 4, 2, 3, 0)), want);
    assert.deepEqual(split(BigInt64Array.of(0n, 1n, 4n, 2n, 3n, 0n)), want);
    assert.deepEqual(split([0, 1, 4, 2, 3, 0]), want);
    assert.deepEqual(split(Float64Array.of(0, 1, 4, 2, 3, 0)), want);
    assert.deepEqual(split([[], []]), [[], []]);
    assert.deepEqual(split([]), [[], []]);
    // Two rows are always [2][E], also when E = 2: [[0, 1], [2, 3]] is the edges 0->2 and 1->3.
    assert.deepEqual(
      split([
        [0, 1],
        [2, 3],
      ]),
      [
        [0, 1],
        [2, 3],
      ],
    );
  });

  test('refused with the expected layout in the message: null, E x 2 pairs, 4 x E, mixed, ragged', () => {
    const layout =
      /expected \[2\]\[E\] \(two rows: \[\[sources\.\.\.\], \[destinations\.\.\.\]\]\) or a flat array of 2\*E values/;
    for (const bad of [null, undefined, 7, 'edges', { src: [0], dst: [1] }, new DataView(new ArrayBuffer(8))]) {
      assert.throws(
        () => split(bad),
        (e: Error) => /edge_index must be an array or typed array/.test(e.message) && layout.test(e.message),
      );
    }
    assert.throws(
      () =>
        split([
          [0, 1],
          [1, 2],
          [2, 3],
        ]),
      /edge_index looks like 3 x 2 pairs .* transpose it/,
    );
    assert.throws(
      () =>
        split([
          [0, 1, 2],
          [1, 2, 3],
          [0, 0, 0],
          [1, 1, 1],
        ]),
      /edge_index has 4 rows; expected \[2\]\[E\]/,
    );
    assert.throws(() => split([[0, 1]]), /edge_index looks like 1 x 2 pairs/);
    assert.throws(() => split([[0, 1], 2]), /mixes rows and single values/);
    assert.throws(() => split([[0, 1], [2]]), /two rows have 2 and 1 entries/);
    assert.throws(() => split([0, 1, 2]), /flat edge_index holds 2\*E values, got 3/);
  });

  test('refused indices name the edge: NaN, fractions, negatives, beyond the nodes, int64 beyond range', () => {
    assert.throws(
      () =>
        split([
          [0, NaN],
          [1, 1],
        ]),
      /source index NaN at edge 1 is not an integer/,
    );
    assert.throws(
      () =>
        split([
          [0, 1],
          [2.5, 1],
        ]),
      /destination index 2.5 at edge 0 is not an integer/,
    );
    assert.throws(
      () =>
        split([
          [0, -1],
          [1, 1],
        ]),
      /source index -1 at edge 1 is negative/,
    );
    assert.throws(
      () =>
        split([
          [0, 5],
          [1, 1],
        ]),
      /source index 5 at edge 1 is out of range for 5 nodes/,
    );
    assert.throws(
      () => split(BigInt64Array.of(0n, 2n ** 40n, 1n, 1n)),
      /source index 1099511627776 at edge 1 is out of range/,
    );
    assert.throws(() => split(BigInt64Array.of(0n, -1n, 1n, 1n)), /source index -1 at edge 1 is negative/);
    assert.throws(
      () =>
        split([
          [0, '1'],
          [1, 1],
        ]),
      /source index 1 at edge 1 is a string, not an index/,
    );
    assert.throws(
      () =>
        split([
          [0, null],
          [1, 1],
        ]),
      /is a null, not an index/,
    );
    assert.throws(
      () =>
        buildGraph(
          [
            [0, 1],
            [1, 0],
          ],
          2.5,
        ),
      /numNodes must be a non-negative integer/,
    );
  });
});

describe('labels, features and the device', () => {
  let gpu: Gpu;
  before(async () => (gpu = await Gpu.create()));
  after(() => gpu.destroy());

  const dataset = (over: Partial<Record<keyof NodeDataset, unknown>>): NodeDataset =>
    ({
      numNodes: 3,
      numFeatures: 2,
      numClasses: 3,
      features: Float32Array.of(1, 0, 0, 1, 1, 1),
      labels: Int32Array.of(0, 1, 2),
      edgeIndex: [
        [0, 1],
        [1, 2],
      ],
      trainMask: Uint8Array.of(1, 1, 0),
      valMask: Uint8Array.of(0, 0, 1),
      testMask: Uint8Array.of(0, 0, 1),
      ...over,
    }) as NodeDataset;

  test('plain-array labels must be integers (never truncated); plain-array features must be finite', async () => {
    assert.throws(
      () => uploadDataset(gpu, dataset({ labels: [0, 2.5, 1] })),
      /labels: 2\.5 at node 1 is not an integer class/,
    );
    assert.throws(
      () => uploadDataset(gpu, dataset({ labels: [0, NaN, 1] })),
      /labels: NaN at node 1 is not an integer class/,
    );
    assert.throws(
      () => uploadDataset(gpu, dataset({ labels: [0, '1', 1] })),
      /labels: 1 at node 1 is not an integer class/,
    );
    assert.throws(
      () => uploadDataset(gpu, dataset({ features: [1, 0, 0, NaN, 1, 1] })),
      /NaN or infinite value in features at node 1, feature 1: NaN is not a finite number/,
    );
    assert.throws(
      () => uploadDataset(gpu, dataset({ features: [1, 0, 0, 1, 1e39, 1] })),
      /NaN or infinite value in features at node 2, feature 0: 1e\+39/,
    );
    const d = uploadDataset(gpu, dataset({ labels: [2, 0, 1], features: [1, 0, 0, 1, 1, 1] }));
    assert.deepEqual(Array.from((await d.labels.read()) as Int32Array), [2, 0, 1]);
    d.dispose();
  });

  test('a lost device: the next calls fail saying so, with the reason, and queue nothing', async () => {
    const own = await Gpu.create();
    const a = own.tensor('f32', [8, 8], new Float32Array(64).fill(1));
    const out = own.empty('f32', [8, 8]);
    matmul(own, a, a, { out });
    assert.equal(((await out.read()) as Float32Array)[0], 8);
    matmul(own, a, a, { out }); // recorded, not yet submitted when the device goes
    own.device.destroy(); // as a driver reset would, behind the library's back
    const lost = /The GPU device was lost \(reason: destroyed\): device was destroyed/;
    // The loss is reported asynchronously (device.lost): the first read already says so, not 'AbortError'.
    await assert.rejects(out.read(), lost);
    const submits = own.submitCount;
    assert.throws(() => matmul(own, a, a, { out }), lost);
    assert.throws(() => own.flush(true), lost);
    await assert.rejects(own.sync(), lost);
    await assert.rejects(own.done(), lost);
    assert.throws(() => a.write(new Float32Array(64)), lost);
    assert.equal(own.submitCount, submits, 'work was submitted to a lost device');
    own.destroy(); // still safe
  });
});
