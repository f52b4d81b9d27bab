// Graph structure for the kernels. Edges are kept sorted by destination (CSR), so every forward reduction over a
// node's incoming edges is one contiguous segment; a permutation to source order (CSC) gives the backward
// reductions over a node's outgoing edges. No atomics are needed, and results are bit-for-bit repeatable.
import type { Gpu } from './gpu/gpu.ts';
import type { Tensor } from './gpu/tensor.ts';
import { transposeSparse, uploadSparse, type SparseRows, type SparseTensors } from './kernels/spmm.ts';

/** One row of an edge_index, or a flat one: plain numbers, an integer typed array, or int64 (PyTorch's dtype). */
export type IndexArray = ArrayLike<number> | BigInt64Array | BigUint64Array | readonly bigint[];

/**
 * PyG's edge_index: row 0 sources, row 1 destinations. Either two rows ([2][E]: `[[s0, s1, ...], [d0, d1, ...]]`,
 * each row an array or typed array) or flat (2*E values: all sources, then all destinations; Int32Array, Uint32Array,
 * BigInt64Array, number[], ...). An outer array of two rows is always read as [2][E], also when E = 2.
 */
export type EdgeIndex = IndexArray | readonly [IndexArray, IndexArray];

export interface GraphOptions {
  /** Drop edges i -> i first (PyG's remove_self_loops). */
  removeSelfLoops?: boolean;
  /** Then add one edge i -> i per node (PyG's add_self_loops). Implies removeSelfLoops, as GATConv does. */
  addSelfLoops?: boolean;
}

export interface Graph {
  numNodes: number;
  numEdges: number;
  /** CSR by destination: the incoming edges of node i are positions rowPtr[i] .. rowPtr[i+1]-1. */
  rowPtr: Uint32Array;
  /** Source and destination of each edge, in CSR order. */
  src: Uint32Array;
  dst: Uint32Array;
  /** CSC by source: the outgoing edges of node j are perm[colPtr[j]] .. perm[colPtr[j+1]-1] (CSR positions). */
  colPtr: Uint32Array;
  perm: Uint32Array;
  /**
   * For each CSR position, the column of the caller's edge_index it came from; -1 for an added self loop. Added self
   * loops come after a node's other incoming edges: the loop of node i is position rowPtr[i+1]-1.
   */
  edgeId: Int32Array;
  /** Columns of the caller's edge_index (rows of its edge_attr), removed self loops included. */
  numInputEdges: number;
}

const LAYOUT =
  'expected [2][E] (two rows: [[sources...], [destinations...]]) or a flat array of 2*E values (all sources, then ' +
  'all destinations)';

const isIndexArray = (v: unknown): v is IndexArray =>
  (ArrayBuffer.isView(v) && !(v instanceof DataView)) || Array.isArray(v);

/**
 * Splits and validates an edge_index into sources and destinations (see EdgeIndex for the layouts).
 *
 * The rule for nested arrays: an outer array of exactly two rows is [2][E]. Anything else that is an array of
 * arrays is refused with the expected layout in the message: E x 2 pairs (`[[s, d], [s, d], ...]`, E != 2), more
 * or fewer than two rows, rows of different lengths. Every index must be an integer in [0, numNodes): NaN,
 * fractions, negatives and indices beyond the nodes are refused, naming the edge.
 */
export function splitEdgeIndex(edgeIndex: EdgeIndex, numNodes: number): { src: Uint32Array; dst: Uint32Array } {
  if (!Number.isInteger(numNodes) || numNodes < 0 || numNodes > 2 ** 31 - 1) {
    throw new Error(`numNodes must be a non-negative integer below 2^31, got ${numNodes}`);
  }
  if (!isIndexArray(edgeIndex)) {
    const got =
      edgeIndex === null
        ? 'null'
        : typeof edgeIndex === 'object'
          ? (edgeIndex as object).constructor?.name
          : typeof edgeIndex;
    throw new Error(`edge_index must be an array or typed array, got ${got}; ${LAYOUT}`);
  }
  const outer = edgeIndex as ArrayLike<unknown>;
  const nested = Array.isArray(outer) && outer.length > 0 && outer.some((r) => typeof r === 'object' && r !== null);
  let rows: [IndexArray, IndexArray];
  if (nested) {
    if (!outer.every((r) => isIndexArray(r))) {
      throw new Error(`edge_index mixes rows and single values; ${LAYOUT}`);
    }
    const lengths = (outer as IndexArray[]).map((r) => r.length);
    if (outer.length !== 2) {
      const pairs = lengths.every((l) => l === 2);
      throw new Error(
        pairs
          ? `edge_index looks like ${outer.length} x 2 pairs ([[src, dst], ...]); ${LAYOUT}: transpose it`
          : `edge_index has ${outer.length} rows; ${LAYOUT}`,
      );
    }
    if (lengths[0] !== lengths[1]) {
      const what = `its two rows have ${lengths[0]} and ${lengths[1]} entries`;
      throw new Error(`edge_index has the wrong shape: ${what}; ${LAYOUT}`);
    }
    rows = outer as unknown as [IndexArray, IndexArray];
  } else {
    const flat = edgeIndex as IndexArray;
    if (flat.length % 2 !== 0) {
      const what = `a flat edge_index holds 2*E values, got ${flat.length}`;
      throw new Error(`edge_index has the wrong shape: ${what}; ${LAYOUT}`);
    }
    const e = flat.length / 2;
    const sub = (a: number, b: number): IndexArray =>
      ArrayBuffer.isView(flat)
        ? ((flat as unknown as Int32Array).subarray(a, b) as unknown as IndexArray)
        : (Array.prototype.slice.call(flat, a, b) as number[]);
    rows = [sub(0, e), sub(e, 2 * e)];
  }
  const check = (row: IndexArray, name: string): Uint32Array => {
    const out = new Uint32Array(row.length);
    for (let k = 0; k < row.length; k++) {
      const v = row[k] as unknown;
      const isInt = typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));
      if (!isInt || (v as number | bigint) < 0 || (v as number | bigint) >= numNodes) {
        const why = !isInt
          ? typeof v === 'number'
            ? 'is not an integer'
            : `is a ${v === null ? 'null' : typeof v}, not an index`
          : (v as number | bigint) < 0
            ? 'is negative'
            : `is out of range for ${numNodes} nodes`;
        throw new Error(`edge_index ${name} index ${String(v)} at edge ${k} ${why}`);
      }
      out[k] = Number(v);
    }
    return out;
  };
  return { src: check(rows[0], 'source'), dst: check(rows[1], 'destination') };
}

export function buildGraph(edgeIndex: EdgeIndex, numNodes: number, opts: GraphOptions = {}): Graph {
  const { src: s0, dst: d0 } = splitEdgeIndex(edgeIndex, numNodes);
  const removeLoops = opts.removeSelfLoops || opts.addSelfLoops;
  const src: number[] = [];
  const dst: number[] = [];
  const ids: number[] = [];
  for (let k = 0; k < s0.length; k++) {
    if (removeLoops && s0[k] === d0[k]) continue;
    src.push(s0[k]);
    dst.push(d0[k]);
    ids.push(k);
  }
  if (opts.addSelfLoops) for (let i = 0; i < numNodes; i++) src.push(i), dst.push(i), ids.push(-1);
  const E = src.length;
  if (E > 2 ** 32 - 1) throw new Error(`${E} edges are beyond the 2^32 - 1 edge limit`);

  // Stable counting sort by destination -> CSR.
  const rowPtr = prefixCounts(dst, numNodes);
  const next = rowPtr.slice(0, numNodes);
  const csrSrc = new Uint32Array(E);
  const csrDst = new Uint32Array(E);
  const edgeId = new Int32Array(E);
  for (let k = 0; k < E; k++) {
    const p = next[dst[k]]++;
    csrSrc[p] = src[k];
    csrDst[p] = dst[k];
    edgeId[p] = ids[k];
  }
  // Stable counting sort of CSR positions by source -> CSC permutation.
  const colPtr = prefixCounts(csrSrc, numNodes);
  const nextCol = colPtr.slice(0, numNodes);
  const perm = new Uint32Array(E);
  for (let p = 0; p < E; p++) perm[nextCol[csrSrc[p]]++] = p;

  return { numNodes, numEdges: E, rowPtr, src: csrSrc, dst: csrDst, colPtr, perm, edgeId, numInputEdges: s0.length };
}

/** ptr[i] = number of entries of `keys` below i; ptr has n + 1 entries. */
function prefixCounts(keys: ArrayLike<number>, n: number): Uint32Array {
  const ptr = new Uint32Array(n + 1);
  for (let k = 0; k < keys.length; k++) ptr[keys[k] + 1]++;
  for (let i = 0; i < n; i++) ptr[i + 1] += ptr[i];
  return ptr;
}

/** The graph's index arrays on the GPU (u32, and edgeId i32), as `Graph` describes them. */
export interface GraphTensors {
  numNodes: number;
  numEdges: number;
  /** Columns of the caller's edge_index (rows of its edge_attr). */
  numInputEdges: number;
  rowPtr: Tensor;
  src: Tensor;
  dst: Tensor;
  colPtr: Tensor;
  perm: Tensor;
  /** i32 [numEdges]: the caller's edge column of each CSR position, -1 for an added self loop. */
  edgeId: Tensor;
  dispose(): void;
}

export function uploadGraph(gpu: Gpu, g: Graph): GraphTensors {
  const made: Tensor[] = [];
  const up = (a: Uint32Array | Int32Array) => {
    const t = gpu.tensor(a instanceof Int32Array ? 'i32' : 'u32', [a.length], a);
    made.push(t);
    return t;
  };
  let t: Omit<GraphTensors, 'dispose' | 'numNodes' | 'numEdges' | 'numInputEdges'>;
  try {
    t = {
      rowPtr: up(g.rowPtr),
      src: up(g.src),
      dst: up(g.dst),
      colPtr: up(g.colPtr),
      perm: up(g.perm),
      edgeId: up(g.edgeId),
    };
  } catch (err) {
    made.forEach((x) => x.dispose()); // nothing left behind on refusal
    throw err;
  }
  return {
    numNodes: g.numNodes,
    numEdges: g.numEdges,
    numInputEdges: g.numInputEdges,
    ...t,
    dispose: () => Object.values(t).forEach((x) => x.dispose()),
  };
}

export interface GcnNormOptions {
  /** Replace existing self loops by one per node (PyG's add_remaining_self_loops), when normalizing. Default true. */
  addSelfLoops?: boolean;
  /** Self loops weigh 2 instead of 1 (PyG's `improved`). Default false. */
  improved?: boolean;
  /**
   * Symmetric normalisation; without it the matrix is the plain (weighted) adjacency, no self loops added.
   * Default true.
   */
  normalize?: boolean;
  /** One weight per edge of edge_index (default 1). */
  edgeWeight?: ArrayLike<number>;
}

/** The propagation matrix of a GCN layer and its transpose, both CSR. */
export interface GcnMatrices {
  /** A_hat [N, N], row i = destination i: out = A_hat (x W) gathers each node's incoming edges. */
  matrix: SparseRows;
  /** A_hat^T (row j = source j): the backward, dx = A_hat^T dy. */
  transpose: SparseRows;
}

/**
 * PyG's gcn_norm (flow source -> target) on the host, in float64 then rounded:
 *   with normalize and addSelfLoops: every edge i -> i is dropped and one loop per node added, weighing fill (1, or
 *   2 when improved) or, if the node had self loops, the weight of its last one (1 without edge weights: PyG sets
 *   the weights to 1 before adding the loops, so `improved` leaves an existing loop at 1);
 *   deg[i] = sum of the weights of the edges into i;  norm(j -> i) = deg[j]^-1/2 w(j -> i) deg[i]^-1/2, with
 *   deg^-1/2 = 0 where deg = 0.
 * Without normalize, the weights as given (no self loops added). The matrix is CSR by destination: row i lists the
 * edges into i (sources in colIdx) in edge_index order, the added loop last; duplicate edges stay separate entries.
 */
export function gcnNorm(edgeIndex: EdgeIndex, numNodes: number, opts: GcnNormOptions = {}): GcnMatrices {
  const { src: s0, dst: d0 } = splitEdgeIndex(edgeIndex, numNodes);
  const normalize = opts.normalize ?? true;
  const loops = normalize && (opts.addSelfLoops ?? true);
  const w0 = opts.edgeWeight;
  if (w0) {
    if (w0.length !== s0.length) {
      throw new Error(`edge_weight has ${w0.length} entries, expected one per edge (${s0.length})`);
    }
    for (let k = 0; k < w0.length; k++) {
      if (!Number.isFinite(w0[k])) throw new Error(`edge_weight at edge ${k} is ${w0[k]} (weights must be finite)`);
    }
  }
  const src: number[] = [];
  const dst: number[] = [];
  const weight: number[] = [];
  const loopWeight = new Float64Array(loops ? numNodes : 0).fill(opts.improved ? 2 : 1);
  for (let k = 0; k < s0.length; k++) {
    if (loops && s0[k] === d0[k]) {
      loopWeight[s0[k]] = w0 ? w0[k] : 1; // as PyG: its weights are all set (to 1) before the loops are added
      continue;
    }
    src.push(s0[k]);
    dst.push(d0[k]);
    weight.push(w0 ? w0[k] : 1);
  }
  if (loops) for (let i = 0; i < numNodes; i++) src.push(i), dst.push(i), weight.push(loopWeight[i]);
  const E = src.length;
  if (E > 2 ** 32 - 1) throw new Error(`${E} edges are beyond the 2^32 - 1 edge limit`);

  const value = new Float64Array(E);
  if (normalize) {
    const deg = new Float64Array(numNodes);
    for (let k = 0; k < E; k++) deg[dst[k]] += weight[k];
    const negative = deg.findIndex((d) => d < 0);
    if (negative >= 0) {
      const d = deg[negative];
      throw new Error(`edge_weight gives node ${negative} a negative weighted degree (${d}); gcn_norm needs >= 0`);
    }
    const invSqrt = deg.map((d) => (d === 0 ? 0 : 1 / Math.sqrt(d)));
    for (let k = 0; k < E; k++) value[k] = invSqrt[src[k]] * weight[k] * invSqrt[dst[k]];
  } else {
    value.set(weight);
  }
  // Stable counting sort by destination -> CSR.
  const rowPtr = prefixCounts(dst, numNodes);
  const next = rowPtr.slice(0, numNodes);
  const colIdx = new Uint32Array(E);
  const values = new Float32Array(E);
  for (let k = 0; k < E; k++) {
    const p = next[dst[k]]++;
    colIdx[p] = src[k];
    values[p] = value[k];
  }
  const matrix: SparseRows = { rows: numNodes, cols: numNodes, rowPtr, colIdx, values };
  return { matrix, transpose: transposeSparse(matrix).matrix };
}

/** A GCN propagation matrix and its transpose on the GPU. */
export interface GcnTensors {
  numNodes: number;
  matrix: SparseTensors;
  transpose: SparseTensors;
  dispose(): void;
}

export function uploadGcn(gpu: Gpu, m: GcnMatrices): GcnTensors {
  const matrix = uploadSparse(gpu, m.matrix);
  const transpose = uploadSparse(gpu, m.transpose);
  return { numNodes: m.matrix.rows, matrix, transpose, dispose: () => (matrix.dispose(), transpose.dispose()) };
}
