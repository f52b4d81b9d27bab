// Graph structure for the kernels. Edges are kept sorted by destination (CSR), so every forward reduction over a
// node's incoming edges is one contiguous segment; a permutation to source order (CSC) gives the backward
// reductions over a node's outgoing edges. No atomics are needed, and results are bit-for-bit repeatable.
import type { Gpu } from './gpu/gpu.ts';
import type { Tensor } from './gpu/tensor.ts';

/**
 * PyG's edge_index [2, E]: row 0 sources, row 1 destinations. Either flat (2*E values in C order: the E sources,
 * then the E destinations, as `edge_index.flatten()` or numpy's bytes give them) or as two rows. int64 arrays
 * (BigInt64Array, as torch and numpy hold edge_index) are accepted when every index is within range.
 */
export type EdgeIndex =
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | readonly number[]
  | readonly [ArrayLike<number>, ArrayLike<number>]
  | readonly [BigInt64Array, BigInt64Array];

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

const LAYOUT = 'edge_index must be [2, E]: row 0 the E sources, row 1 the E destinations ' +
  '(two rows, or flat: the sources then the destinations)';

/**
 * Splits and validates an edge_index into sources and destinations: the one place where the accepted forms of an
 * edge_index are decided (see EdgeIndex). Throws an error naming the problem and the expected layout.
 */
export function splitEdgeIndex(edgeIndex: EdgeIndex, numNodes: number): { src: ArrayLike<number>; dst: ArrayLike<number> } {
  if (!Number.isInteger(numNodes) || numNodes < 0 || numNodes > 2 ** 31 - 1) {
    throw new Error(`numNodes must be a non-negative integer below 2^31, got ${numNodes}`);
  }
  if (edgeIndex === null || typeof edgeIndex !== 'object' || typeof (edgeIndex as ArrayLike<unknown>).length !== 'number') {
    throw new Error(`edge_index has the wrong type (${describe(edgeIndex)}): ${LAYOUT}`);
  }
  let src: ArrayLike<number | bigint>;
  let dst: ArrayLike<number | bigint>;
  const rows = edgeIndex as readonly unknown[];
  const isRow = (r: unknown) => r !== null && typeof r === 'object' && typeof (r as ArrayLike<unknown>).length === 'number';
  if (Array.isArray(rows) && rows.length > 0 && rows.some(isRow)) {
    if (rows.length !== 2 || !isRow(rows[0]) || !isRow(rows[1])) {
      const pairs = rows.every((r) => isRow(r) && (r as ArrayLike<unknown>).length === 2);
      const hint = pairs ? ` (this looks like [E, 2], one [source, destination] pair per edge: transpose it)` : '';
      throw new Error(`edge_index has the wrong shape: got ${rows.length} rows${hint}; ${LAYOUT}`);
    }
    [src, dst] = rows as [ArrayLike<number | bigint>, ArrayLike<number | bigint>];
    if (src.length !== dst.length) {
      throw new Error(`edge_index has the wrong shape: its two rows have ${src.length} and ${dst.length} entries; ${LAYOUT}`);
    }
  } else {
    if (!Array.isArray(edgeIndex) && !(edgeIndex instanceof Int32Array) && !(edgeIndex instanceof Uint32Array) &&
      !(edgeIndex instanceof BigInt64Array)) {
      throw new Error(`edge_index has the wrong type (${describe(edgeIndex)}): use an Int32Array, Uint32Array, ` +
        `BigInt64Array or number[]; ${LAYOUT}`);
    }
    const flat = edgeIndex as ArrayLike<number | bigint>;
    if (flat.length % 2 !== 0) {
      throw new Error(`edge_index has the wrong shape: a flat edge_index holds 2*E values (sources, then destinations), got ${flat.length}`);
    }
    const e = flat.length / 2;
    src = Array.prototype.slice.call(flat, 0, e) as number[];
    dst = Array.prototype.slice.call(flat, e) as number[];
  }
  const out: number[][] = [];
  for (const [name, arr] of [['source', src], ['destination', dst]] as const) {
    let big = arr instanceof BigInt64Array || arr instanceof BigUint64Array;
    for (let k = 0; k < arr.length; k++) {
      const raw = arr[k];
      if (typeof raw === 'bigint') big = true;
      const v = typeof raw === 'bigint' ? Number(raw) : raw;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= numNodes) {
        const why = typeof v !== 'number' || !Number.isInteger(v) ? 'is not an integer' : v < 0 ? 'is negative' : `is out of range for ${numNodes} nodes`;
        throw new Error(`edge_index ${name} index ${String(raw)} at edge ${k} ${why}`);
      }
    }
    out.push(big ? Array.from(arr, Number) : (arr as number[]));
  }
  return { src: out[0], dst: out[1] };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return (v as object).constructor?.name ?? 'object';
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
