// CSR by destination, the CSC permutation, self-loop handling and edge_index validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGraph } from '../../src/graph.ts';

function randomEdges(n: number, e: number, seed: number): [number[], number[]] {
  let s = seed;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const src: number[] = [],
    dst: number[] = [];
  for (let k = 0; k < e; k++) src.push(Math.floor(next() * n)), dst.push(Math.floor(next() * n));
  return [src, dst];
}

test('CSR holds every edge once, grouped by destination in input order; CSC is a permutation grouped by source', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const n = 1 + ((seed * 7) % 50),
      e = seed * 13;
    const [src, dst] = randomEdges(n, e, seed);
    const g = buildGraph([src, dst], n);
    assert.equal(g.numEdges, e);
    assert.equal(g.rowPtr[0], 0);
    assert.equal(g.rowPtr[n], e);
    for (let i = 0; i < n; i++) {
      let last = -1;
      for (let p = g.rowPtr[i]; p < g.rowPtr[i + 1]; p++) {
        assert.equal(g.dst[p], i);
        assert.ok(g.edgeId[p] > last, 'stable: input order kept within a destination');
        last = g.edgeId[p];
        assert.equal(g.src[p], src[g.edgeId[p]]);
      }
    }
    const seen = new Uint8Array(e);
    for (let j = 0; j < n; j++) {
      for (let q = g.colPtr[j]; q < g.colPtr[j + 1]; q++) {
        assert.equal(g.src[g.perm[q]], j);
        seen[g.perm[q]]++;
      }
    }
    assert.ok(
      seen.every((v) => v === 1),
      'perm visits every CSR position once',
    );
  }
});

test('self loops: removed, then one per node added last in each segment (PyG add_self_loops)', () => {
  const g = buildGraph(
    [
      [0, 1, 1, 2, 2],
      [1, 1, 0, 2, 1],
    ],
    4,
    { addSelfLoops: true },
  );
  assert.equal(g.numEdges, 3 + 4);
  for (let i = 0; i < 4; i++) {
    const last = g.rowPtr[i + 1] - 1;
    assert.equal(g.src[last], i);
    assert.equal(g.dst[last], i);
    assert.equal(g.edgeId[last], -1);
    for (let p = g.rowPtr[i]; p < last; p++) assert.notEqual(g.src[p], i);
  }
  const kept = buildGraph(
    [
      [0, 1, 1],
      [1, 1, 0],
    ],
    2,
  );
  assert.equal(kept.numEdges, 3, 'self loops stay when not asked to remove them');
  assert.equal(
    buildGraph(
      [
        [0, 1, 1],
        [1, 1, 0],
      ],
      2,
      { removeSelfLoops: true },
    ).numEdges,
    2,
  );
});

test('isolated nodes have empty segments; duplicates are kept', () => {
  const g = buildGraph(
    [
      [0, 0, 0],
      [2, 2, 2],
    ],
    5,
  );
  assert.deepEqual([...g.rowPtr], [0, 0, 0, 3, 3, 3]);
  assert.deepEqual([...g.colPtr], [0, 3, 3, 3, 3, 3]);
});

test('edge_index errors name the problem', () => {
  assert.throws(
    () =>
      buildGraph(
        [
          [0, 3],
          [1, 0],
        ],
        3,
      ),
    /source index 3 at edge 1 is out of range for 3 nodes/,
  );
  assert.throws(
    () =>
      buildGraph(
        [
          [0, 1],
          [-2, 0],
        ],
        3,
      ),
    /destination index -2 at edge 0 is negative/,
  );
  assert.throws(
    () =>
      buildGraph(
        [
          [0, 1.5],
          [1, 0],
        ],
        3,
      ),
    /source index 1.5 at edge 1 is not an integer/,
  );
  assert.throws(() => buildGraph([[0, 1], [1]], 3), /wrong shape: its two rows have 2 and 1 entries/);
  assert.throws(() => buildGraph(Int32Array.from([0, 1, 2]), 3), /wrong shape: a flat edge_index holds 2\*E values/);
  assert.throws(() => buildGraph([[0], [0]], -1), /numNodes must be a non-negative integer/);
  assert.throws(() => buildGraph([[NaN], [0]], 2), /source index NaN at edge 0 is not an integer/);
});

test('uploadGraph: edgeId (i32, -1 for added loops) and the input edge count reach the GPU', async () => {
  const { Gpu } = await import('../../src/gpu/gpu.ts');
  const { uploadGraph } = await import('../../src/graph.ts');
  const gpu = await Gpu.create();
  try {
    const edges: [number[], number[]] = [
      [0, 1, 1, 2, 2],
      [1, 1, 0, 2, 1],
    ];
    for (const addSelfLoops of [false, true]) {
      const g = buildGraph(edges, 4, { addSelfLoops });
      assert.equal(g.numInputEdges, 5);
      const t = uploadGraph(gpu, g);
      assert.equal(t.edgeId.dtype, 'i32');
      assert.equal(t.numInputEdges, 5);
      assert.deepEqual(await t.edgeId.read(), g.edgeId);
      t.dispose();
    }
  } finally {
    gpu.destroy();
  }
});
