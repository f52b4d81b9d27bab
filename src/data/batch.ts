/**
 * Many small graphs as one graph, as PyG's `Batch.from_data_list`: the graphs' nodes are concatenated, so the
 * batch is one block-diagonal graph. Edge indices are offset by the nodes of the graphs before, `batch[i]` is the
 * graph of node i (sorted, since graphs stay in order), `ptr[g]..ptr[g+1]-1` are the nodes of graph g, and
 * `edgePtr` does the same for edges. Host-side (typed arrays); `loader.ts` forms the same batches on the GPU.
 */

/** One graph of a graph-level dataset (PyG's `Data` for one molecule or protein): local node ids 0..numNodes-1. */
export interface GraphSample {
  numNodes: number;
  numEdges: number;
  /** Node features, row-major [numNodes, numFeatures] (empty when the dataset has none). */
  x: Float32Array;
  /** [2, numEdges] flat: the sources, then the destinations (PyG's edge_index.flatten()). */
  edgeIndex: Int32Array;
  /** Edge features, row-major [numEdges, numEdgeFeatures], in edgeIndex's column order; null when none. */
  edgeAttr: Float32Array | null;
  /** The graph's class. */
  y: number;
}

export class Batch {
  readonly numGraphs: number;
  readonly numNodes: number;
  readonly numEdges: number;
  readonly numFeatures: number;
  readonly numEdgeFeatures: number;
  /** [numNodes, numFeatures] row-major. */
  readonly x: Float32Array;
  /** [2, numEdges] flat (sources, then destinations), node ids of the whole batch. */
  readonly edgeIndex: Int32Array;
  /** [numEdges, numEdgeFeatures] row-major, or null when the graphs have no edge features. */
  readonly edgeAttr: Float32Array | null;
  /** [numGraphs] the graphs' classes. */
  readonly y: Int32Array;
  /** [numNodes] graph of each node, non-decreasing. */
  readonly batch: Int32Array;
  /** [numGraphs + 1] first node of each graph, then numNodes. */
  readonly ptr: Int32Array;
  /** [numGraphs + 1] first edge of each graph, then numEdges. */
  readonly edgePtr: Int32Array;

  private constructor(b: Omit<Batch, 'toGraphs' | 'graph'>) {
    this.numGraphs = b.numGraphs;
    this.numNodes = b.numNodes;
    this.numEdges = b.numEdges;
    this.numFeatures = b.numFeatures;
    this.numEdgeFeatures = b.numEdgeFeatures;
    this.x = b.x;
    this.edgeIndex = b.edgeIndex;
    this.edgeAttr = b.edgeAttr;
    this.y = b.y;
    this.batch = b.batch;
    this.ptr = b.ptr;
    this.edgePtr = b.edgePtr;
  }

  /**
   * Joins `graphs` into one batch. All must have the same number of node features and of edge features (given
   * explicitly for graphs without nodes or edges, otherwise read from the first graph that shows them).
   */
  static fromGraphs(
    graphs: readonly GraphSample[],
    dims: { numFeatures?: number; numEdgeFeatures?: number } = {},
  ): Batch {
    const B = graphs.length;
    const ptr = new Int32Array(B + 1);
    const edgePtr = new Int32Array(B + 1);
    graphs.forEach((g, i) => {
      checkGraph(g, i);
      ptr[i + 1] = ptr[i]! + g.numNodes;
      edgePtr[i + 1] = edgePtr[i]! + g.numEdges;
    });
    const N = ptr[B]!;
    const E = edgePtr[B]!;
    const F = dims.numFeatures ?? widthOf(graphs, (g) => [g.x.length, g.numNodes]);
    const D = dims.numEdgeFeatures ?? widthOf(graphs, (g) => [g.edgeAttr?.length ?? 0, g.numEdges]);
    for (const [what, v] of [
      ['node features', F],
      ['edge features', D],
    ] as const) {
      if (!Number.isInteger(v) || v < 0) throw new Error(`The number of ${what} (${v}) is not a non-negative integer`);
    }
    const x = new Float32Array(N * F);
    const edgeIndex = new Int32Array(2 * E);
    const edgeAttr = D > 0 ? new Float32Array(E * D) : null;
    const batch = new Int32Array(N);
    graphs.forEach((g, i) => {
      const n0 = ptr[i]!;
      const e0 = edgePtr[i]!;
      if (g.x.length !== g.numNodes * F) {
        throw new Error(`graph ${i}: x has ${g.x.length} values, expected ${g.numNodes} x ${F} features`);
      }
      if (D > 0 && g.edgeAttr?.length !== g.numEdges * D) {
        throw new Error(`graph ${i}: edgeAttr has ${g.edgeAttr?.length ?? 'no'} values, expected ${g.numEdges} x ${D}`);
      }
      if (D === 0 && g.edgeAttr && g.edgeAttr.length > 0)
        throw new Error(`graph ${i}: edgeAttr given, but the batch has no edge features`);
      x.set(g.x, n0 * F);
      for (let k = 0; k < g.numEdges; k++) {
        edgeIndex[e0 + k] = g.edgeIndex[k]! + n0;
        edgeIndex[E + e0 + k] = g.edgeIndex[g.numEdges + k]! + n0;
      }
      if (edgeAttr) edgeAttr.set(g.edgeAttr!, e0 * D);
      batch.fill(i, n0, n0 + g.numNodes);
    });
    const y = Int32Array.from(graphs, (g) => g.y);
    return new Batch({
      numGraphs: B,
      numNodes: N,
      numEdges: E,
      numFeatures: F,
      numEdgeFeatures: D,
      x,
      edgeIndex,
      edgeAttr,
      y,
      batch,
      ptr,
      edgePtr,
    });
  }

  /** Graph g of the batch, with local node ids again (PyG's `get_example`). */
  graph(g: number): GraphSample {
    if (!Number.isInteger(g) || g < 0 || g >= this.numGraphs)
      throw new Error(`graph index ${g} is outside 0..${this.numGraphs - 1}`);
    const n0 = this.ptr[g]!;
    const n1 = this.ptr[g + 1]!;
    const e0 = this.edgePtr[g]!;
    const e1 = this.edgePtr[g + 1]!;
    const ne = e1 - e0;
    const edgeIndex = new Int32Array(2 * ne);
    for (let k = 0; k < ne; k++) {
      edgeIndex[k] = this.edgeIndex[e0 + k]! - n0;
      edgeIndex[ne + k] = this.edgeIndex[this.numEdges + e0 + k]! - n0;
    }
    const F = this.numFeatures;
    const D = this.numEdgeFeatures;
    return {
      numNodes: n1 - n0,
      numEdges: ne,
      x: this.x.slice(n0 * F, n1 * F),
      edgeIndex,
      edgeAttr: this.edgeAttr ? this.edgeAttr.slice(e0 * D, e1 * D) : null,
      y: this.y[g]!,
    };
  }

  /** Every graph back (PyG's `to_data_list`). */
  toGraphs(): GraphSample[] {
    return Array.from({ length: this.numGraphs }, (_, g) => this.graph(g));
  }
}

/** Checks one graph's counts and edge ids (the features' widths are checked against the batch's). */
export function checkGraph(g: GraphSample, i: number): void {
  if (!Number.isInteger(g.numNodes) || g.numNodes < 0)
    throw new Error(`graph ${i}: numNodes ${g.numNodes} is not a non-negative integer`);
  if (!Number.isInteger(g.numEdges) || g.numEdges < 0)
    throw new Error(`graph ${i}: numEdges ${g.numEdges} is not a non-negative integer`);
  if (g.edgeIndex.length !== 2 * g.numEdges) {
    throw new Error(`graph ${i}: edgeIndex has ${g.edgeIndex.length} values, expected 2 x ${g.numEdges} edges`);
  }
  for (let k = 0; k < g.edgeIndex.length; k++) {
    const v = g.edgeIndex[k]!;
    if (v < 0 || v >= g.numNodes) {
      throw new Error(
        `graph ${i}: edgeIndex ${k < g.numEdges ? 'source' : 'destination'} ${v} at edge ${k % g.numEdges} ` +
          `is out of range for ${g.numNodes} nodes`,
      );
    }
  }
  if (!Number.isInteger(g.y)) throw new Error(`graph ${i}: y ${g.y} is not an integer class`);
}

/** Values per row, from the first graph with rows; 0 when no graph has any. */
function widthOf(graphs: readonly GraphSample[], sizes: (g: GraphSample) => [number, number]): number {
  for (const g of graphs) {
    const [values, rows] = sizes(g);
    if (rows > 0) return values / rows;
  }
  return 0;
}
