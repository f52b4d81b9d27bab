// PyG's Batch on the host: offsets, the batch vector, ptr and edgePtr, and the round trip back to the graphs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Batch, type GraphSample } from '../../src/data/batch.ts';

/** Random graphs with F node features and D edge features (0 nodes and 0 edges included). */
export function graphsArb(F: number, D: number): fc.Arbitrary<GraphSample[]> {
  const graph = fc.integer({ min: 0, max: 7 }).chain((n) =>
    fc.record({
      numNodes: fc.constant(n),
      edges:
        n === 0
          ? fc.constant([] as [number, number][])
          : fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 12 }),
      x: fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: n * F, maxLength: n * F }),
      y: fc.nat(3),
      seed: fc.nat(),
    }),
  );
  return fc.array(graph, { minLength: 1, maxLength: 8 }).map((gs) =>
    gs.map(({ numNodes, edges, x, y, seed }) => ({
      numNodes,
      numEdges: edges.length,
      x: Float32Array.from(x),
      edgeIndex: Int32Array.from([...edges.map((e) => e[0]), ...edges.map((e) => e[1])]),
      edgeAttr: D > 0 ? Float32Array.from({ length: edges.length * D }, (_, i) => ((seed + i * 7) % 13) - 6) : null,
      y,
    })),
  );
}

describe('Batch', () => {
  it('offsets edge_index, fills batch, ptr and edgePtr, and gives every graph back (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 }).chain((D) => fc.tuple(fc.constant(D), graphsArb(2, D))),
        ([D, graphs]) => {
          const b = Batch.fromGraphs(graphs, { numFeatures: 2, numEdgeFeatures: D });
          assert.equal(b.numGraphs, graphs.length);
          let n0 = 0;
          let e0 = 0;
          graphs.forEach((g, i) => {
            assert.equal(b.ptr[i], n0);
            assert.equal(b.edgePtr[i], e0);
            for (let v = 0; v < g.numNodes; v++) assert.equal(b.batch[n0 + v], i);
            for (let k = 0; k < g.numEdges; k++) {
              assert.equal(b.edgeIndex[e0 + k], g.edgeIndex[k]! + n0);
              assert.equal(b.edgeIndex[b.numEdges + e0 + k], g.edgeIndex[g.numEdges + k]! + n0);
            }
            assert.deepEqual(b.x.subarray(2 * n0, 2 * (n0 + g.numNodes)), g.x);
            assert.equal(b.y[i], g.y);
            n0 += g.numNodes;
            e0 += g.numEdges;
          });
          assert.equal(b.ptr[graphs.length], n0);
          assert.equal(b.numNodes, n0);
          assert.equal(b.edgePtr[graphs.length], e0);
          for (let i = 1; i < b.batch.length; i++) assert.ok(b.batch[i - 1]! <= b.batch[i]!, 'batch is sorted');
          assert.deepEqual(b.toGraphs(), graphs, 'round trip');
        },
      ),
      { numRuns: 200, seed: 11 },
    );
  });

  it('reads the widths from the graphs, and rejects graphs that disagree', () => {
    const g = (n: number, F: number, edges: number[][] = [[], []]): GraphSample => ({
      numNodes: n,
      numEdges: edges[0]!.length,
      x: new Float32Array(n * F),
      edgeIndex: Int32Array.from(edges.flat()),
      edgeAttr: null,
      y: 0,
    });
    const b = Batch.fromGraphs([g(0, 3), g(2, 3, [[0], [1]]), g(1, 3)]);
    assert.equal(b.numFeatures, 3);
    assert.deepEqual([...b.ptr], [0, 0, 2, 3]);
    assert.deepEqual([...b.batch], [1, 1, 2]);
    assert.deepEqual([...b.edgeIndex], [0, 1]);
    assert.throws(() => Batch.fromGraphs([g(2, 3), g(2, 4)]), /graph 1: x has 8 values, expected 2 x 3 features/);
    assert.throws(
      () => Batch.fromGraphs([g(2, 3, [[0], [2]])]),
      /graph 0: edgeIndex destination 2 at edge 0 is out of range for 2 nodes/,
    );
    assert.throws(() => Batch.fromGraphs([g(2, 3)]).graph(1), /graph index 1 is outside 0\.\.0/);
  });
});
