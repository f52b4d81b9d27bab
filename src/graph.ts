// Graph structure for the kernels. Edges are kept sorted by destination (CSR), so every forward reduction over a
// node's incoming edges is one contiguous segment; a permutation to source order (CSC) gives the backward
// reductions over a node's outgoing edges. No atomics are needed, and results are bit-for-bit repeatable.
import type { Gpu } from './gpu/gpu.ts';
import type { Tensor } from './gpu/tensor.ts';

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
  /** For each CSR position, the column of the caller's edge_index it came from; -1 for an added self loop. */
  edgeId: Int32Array;
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
    const got = edgeIndex === null ? 'null'
      : typeof edgeIndex === 'object' ? (edgeIndex as object).constructor?.name
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
      throw new Error(pairs
        ? `edge_index looks like ${outer.length} x 2 pairs ([[src, dst], ...]); ${LAYOUT}: transpose it`
        : `edge_index has ${outer.length} rows; ${LAYOUT}`);
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
      ArrayBuffer.isView(flat) ? ((flat as unknown as Int32Array).subarray(a, b) as unknown as IndexArray)
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
          ? typeof v === 'number' ? 'is not an integer' : `is a ${v === null ? 'null' : typeof v}, not an index`
          : (v as number | bigint) < 0 ? 'is negative' : `is out of range for ${numNodes} nodes`;
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
  if (opts.addSelfLoops) for (let i = 0; i < numNodes; i++) (src.push(i), dst.push(i), ids.push(-1));
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

  return { numNodes, numEdges: E, rowPtr, src: csrSrc, dst: csrDst, colPtr, perm, edgeId };
}

/** ptr[i] = number of entries of `keys` below i; ptr has n + 1 entries. */
function prefixCounts(keys: ArrayLike<number>, n: number): Uint32Array {
  const ptr = new Uint32Array(n + 1);
  for (let k = 0; k < keys.length; k++) ptr[keys[k] + 1]++;
  for (let i = 0; i < n; i++) ptr[i + 1] += ptr[i];
  return ptr;
}

/** The graph's index arrays on the GPU (all u32). */
export interface GraphTensors {
  numNodes: number;
  numEdges: number;
  rowPtr: Tensor;
  src: Tensor;
  dst: Tensor;
  colPtr: Tensor;
  perm: Tensor;
  dispose(): void;
}

export function uploadGraph(gpu: Gpu, g: Graph): GraphTensors {
  const made: Tensor[] = [];
  const up = (a: Uint32Array) => {
    const t = gpu.tensor('u32', [a.length], a);
    made.push(t);
    return t;
  };
  let t;
  try {
    t = { rowPtr: up(g.rowPtr), src: up(g.src), dst: up(g.dst), colPtr: up(g.colPtr), perm: up(g.perm) };
  } catch (err) {
    made.forEach((x) => x.dispose()); // nothing left behind on refusal
    throw err;
  }
  return {
    numNodes: g.numNodes,
    numEdges: g.numEdges,
    ...t,
    dispose: () => Object.values(t).forEach((x) => x.dispose()),
  };
}
