// One graph on the host, as PyG's `Data`: node features x, edge_index, labels y, split masks and optional edge
// attributes, all typed arrays, validated once when the object is made. `data.to(gpu)` uploads it.
//
//   const data = new Data({ x, numFeatures: F, edgeIndex, y, trainMask, valMask, testMask });
//   const batch = data.to(gpu);   // batch.x, batch.graph, batch.y, batch.trainMask, ... ; batch.dispose()
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { splitEdgeIndex, type EdgeIndex } from '../graph.ts';
import { uploadSparse, uploadSparseTranspose, validateSparse, type SparseRows } from '../kernels/spmm.ts';
import { GraphSet } from '../nn/graphs.ts';
import type { NodeFeatures } from '../nn/model.ts';

/** A node mask: one entry per node, 0/1 (numpy's bool arrays arrive as Uint8Array) or booleans. */
export type NodeMask = Uint8Array | readonly boolean[];
/** A list of node indices (PyG's `train_idx` style); int64 allowed when within range. */
export type NodeIndex = Int32Array | Uint32Array | BigInt64Array | readonly number[];

export type Split = 'train' | 'val' | 'test';
const SPLITS: readonly Split[] = ['train', 'val', 'test'];

export interface DataInit {
  /** Node features: dense row-major [numNodes * numFeatures] (number[] is converted), or sparse CSR rows. */
  x: Float32Array | Float64Array | readonly number[] | SparseRows;
  /** F, the feature width; needed for a dense x unless numNodes is given. */
  numFeatures?: number;
  /** N; by default the sparse x's rows, else x.length / numFeatures. */
  numNodes?: number;
  /** [2, E]: row 0 sources, row 1 destinations (see EdgeIndex for the accepted forms). */
  edgeIndex: EdgeIndex;
  /** Class labels [N] (Int32Array or number[]), or float targets [N, T] row-major (multi-label 0/1 or regression). */
  y?: Int32Array | readonly number[] | Float32Array;
  /** C for class labels; default max(y) + 1. */
  numClasses?: number;
  trainMask?: NodeMask;
  valMask?: NodeMask;
  testMask?: NodeMask;
  /** The same splits as lists of node indices (give a mask or an index for a split, not both). */
  trainIndex?: NodeIndex;
  valIndex?: NodeIndex;
  testIndex?: NodeIndex;
  /** Edge attributes [E, D] row-major, in the order of edgeIndex's columns. */
  edgeAttr?: Float32Array;
  /** D; default edgeAttr.length / E. */
  edgeDim?: number;
}

/** The arrays and counts of a DataInit. */
export type ArrayKey = keyof DataInit;

/** How a Data's errors name their source and its arrays (for loaders: the file, and the file's keys). */
export interface DataNaming {
  source?: string;
  names?: Partial<Record<ArrayKey, string>>;
}

const KEYS = new Set([
  'x',
  'numFeatures',
  'numNodes',
  'edgeIndex',
  'y',
  'numClasses',
  'trainMask',
  'valMask',
  'testMask',
  'trainIndex',
  'valIndex',
  'testIndex',
  'edgeAttr',
  'edgeDim',
]);

/** A Data on the GPU (what `data.to(gpu)` returns). Everything it holds is freed by dispose(). */
export interface GpuData {
  numNodes: number;
  numEdges: number;
  numFeatures: number;
  numClasses: number;
  /** Node features (dense tensor [N, F], or sparse CSR with its transpose for the backward). */
  x: NodeFeatures;
  /** The graph, built and uploaded on first use with or without self loops. */
  graph: GraphSet;
  /** i32 [N] class labels or f32 [N, T] targets (reading it throws when the Data has no y: see hasY). */
  readonly y: Tensor;
  hasY: boolean;
  /** u32 [N] masks (0/1) and the number of nodes in each. */
  trainMask: Tensor;
  valMask: Tensor;
  testMask: Tensor;
  counts: Record<Split, number>;
  /** f32 [E, D], or null. */
  edgeAttr: Tensor | null;
  /** The same tensors under the names the trainer uses. */
  features: NodeFeatures;
  graphs: GraphSet;
  readonly labels: Tensor;
  masks: Record<Split, Tensor>;
  dispose(): void;
}

export class Data {
  readonly numNodes: number;
  readonly numEdges: number;
  readonly numFeatures: number;
  /** C for class labels, T for float targets, 0 without y. */
  readonly numClasses: number;
  readonly x: Float32Array | SparseRows;
  /** Flat [2 * E]: the E sources, then the E destinations. */
  readonly edgeIndex: Int32Array;
  readonly y: Int32Array | Float32Array | null;
  readonly trainMask: Uint8Array;
  readonly valMask: Uint8Array;
  readonly testMask: Uint8Array;
  readonly edgeAttr: Float32Array | null;
  readonly edgeDim: number;

  /**
   * Validates everything (each problem an error naming the array) and keeps the arrays without copying them
   * (a plain number[] x or y is converted). `opts` lets a loader say where the arrays come from in its errors:
   * `source` replaces the leading 'Data', `names` the argument names (e.g. { trainMask: 'train_mask' }).
   */
  constructor(init: DataInit, opts: DataNaming = {}) {
    const source = opts.source ?? 'Data';
    const nm = (k: ArrayKey) => opts.names?.[k] ?? k;
    const fail: Fail = (msg) => {
      throw new Error(`${source}: ${msg}`);
    };
    if (init === null || typeof init !== 'object') fail('expected an object { x, edgeIndex, y, ... }');
    for (const key of Object.keys(init)) {
      if (KEYS.has(key)) continue;
      const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()).replace(/Idx$/, 'Index');
      fail(`unknown key '${key}'${KEYS.has(camel) ? ` (did you mean ${camel}?)` : ''}`);
    }
    const X = nm('x');
    const raw = init.x as unknown;
    if (raw === undefined || raw === null) fail(`${X} (node features) is missing`);
    if (init.edgeIndex === undefined || init.edgeIndex === null) fail(`${nm('edgeIndex')} is missing`);

    // x and the node count.
    if (raw instanceof Float32Array || raw instanceof Float64Array || Array.isArray(raw)) {
      const dense = raw as Float32Array | Float64Array | readonly unknown[];
      let f = init.numFeatures;
      if (f === undefined) {
        if (init.numNodes === undefined) fail(`${X} is dense ([numNodes * numFeatures] row-major): give numFeatures`);
        f = init.numNodes! > 0 ? dense.length / init.numNodes! : 0;
      }
      expectCount(fail, 'numFeatures', f);
      const n = init.numNodes ?? (f > 0 ? dense.length / f : 0);
      expectCount(fail, 'numNodes', n);
      if (dense.length !== n * f) {
        fail(`${X} has ${dense.length} values, expected numNodes x numFeatures = ${n} x ${f} = ${n * f}`);
      }
      // Checked before any conversion to float32, which would turn a non-number into NaN and 1e39 into Infinity.
      const bad = dense.findIndex((v: unknown) => typeof v !== 'number' || !Number.isFinite(Math.fround(v)));
      if (bad >= 0) {
        const v = dense[bad];
        const why =
          typeof v === 'number' && Number.isFinite(v) ? 'is beyond the float32 range' : 'is not a finite number';
        fail(`NaN or infinite value in ${X} at node ${Math.floor(bad / f)}, feature ${bad % f}: ${String(v)} ${why}`);
      }
      this.x = dense instanceof Float32Array ? dense : Float32Array.from(dense as ArrayLike<number>);
      this.numNodes = n;
      this.numFeatures = f;
    } else if (typeof raw === 'object' && 'rowPtr' in raw!) {
      const x = raw as SparseRows;
      validateSparse(x, `${source}: ${X} (sparse)`);
      if (init.numNodes !== undefined && init.numNodes !== x.rows)
        fail(`${X} has ${x.rows} rows but numNodes is ${init.numNodes}`);
      if (init.numFeatures !== undefined && init.numFeatures !== x.cols) {
        fail(`${X} has ${x.cols} columns but numFeatures is ${init.numFeatures}`);
      }
      this.x = x;
      this.numNodes = x.rows;
      this.numFeatures = x.cols;
    } else {
      fail(
        `${X} must be a Float32Array or number[] (dense, row-major) or sparse CSR rows { rows, cols, rowPtr, colIdx, ` +
          `values }, got ${typeName(raw)}`,
      );
    }
    const n = this.numNodes;

    // edge_index, then edge attributes in its column order.
    let split: { src: ArrayLike<number>; dst: ArrayLike<number> };
    try {
      split = splitEdgeIndex(init.edgeIndex, n);
    } catch (err) {
      throw new Error(`${source}: ${(err as Error).message}`);
    }
    const { src, dst } = split;
    this.numEdges = src.length;
    this.edgeIndex = new Int32Array(2 * src.length);
    this.edgeIndex.set(src, 0);
    this.edgeIndex.set(dst, src.length);
    const e = this.numEdges;
    const A = nm('edgeAttr');
    if (init.edgeAttr !== undefined) {
      const a = init.edgeAttr;
      if (!(a instanceof Float32Array)) fail(`${A} must be a Float32Array [E * D], got ${typeName(a)}`);
      const d = init.edgeDim ?? (e > 0 ? a.length / e : 0);
      expectCount(fail, 'edgeDim', d);
      if (d === 0 && e > 0) fail(`${A} is empty; leave it out, or give D >= 1 values per edge`);
      if (a.length !== e * d) fail(`${A} has ${a.length} values, expected E x D = ${e} x ${d} = ${e * d}`);
      const bad = a.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0)
        fail(`${A}: value ${a[bad]} at edge ${Math.floor(bad / d)}, column ${bad % d} is not a finite number`);
      this.edgeAttr = a;
      this.edgeDim = d;
    } else {
      if (init.edgeDim !== undefined) fail(`edgeDim is given without ${A}`);
      this.edgeAttr = null;
      this.edgeDim = 0;
    }

    // y: class labels or float targets.
    const Y = nm('y');
    let y = init.y as unknown;
    if (Array.isArray(y)) {
      const bad = y.findIndex(
        (v: unknown) => typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) > 2 ** 31 - 1,
      );
      if (bad >= 0) fail(`${Y}: ${String(y[bad])} at node ${bad} is not an integer class`);
      y = Int32Array.from(y as number[]);
    }
    if (y === undefined || y === null) {
      if (init.numClasses !== undefined) fail(`numClasses is given without ${Y}`);
      this.y = null;
      this.numClasses = 0;
    } else if (y instanceof Int32Array) {
      if (y.length !== n) fail(`${Y} has ${y.length} labels for ${n} nodes (class labels are [numNodes])`);
      let max = -1;
      for (let i = 0; i < n; i++) {
        if (y[i] < 0) fail(`${Y}: label ${y[i]} at node ${i} is negative (class labels are 0 .. numClasses - 1)`);
        if (y[i] > max) max = y[i];
      }
      const c = init.numClasses ?? max + 1;
      expectCount(fail, 'numClasses', c);
      if (max >= c) fail(`${Y}: label ${max} at node ${y.indexOf(max)} is out of range for ${c} classes`);
      this.y = y;
      this.numClasses = c;
    } else if (y instanceof Float32Array) {
      const t = n > 0 ? y.length / n : 0;
      if (!Number.isInteger(t) || (n > 0 && t < 1)) {
        fail(`${Y} has ${y.length} values for ${n} nodes: float targets are [numNodes, T] row-major`);
      }
      if (init.numClasses !== undefined && init.numClasses !== t) {
        fail(`${Y} has ${t} targets per node but numClasses is ${init.numClasses}`);
      }
      const bad = y.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0)
        fail(`${Y}: value ${y[bad]} at node ${Math.floor(bad / t)}, target ${bad % t} is not a finite number`);
      this.y = y;
      this.numClasses = t;
    } else {
      fail(
        `${Y} must be an Int32Array or number[] (class labels) or a Float32Array (targets [N, T]), got ${typeName(y)}`,
      );
    }

    // Splits: a mask or an index list each.
    const masks = {} as Record<Split, Uint8Array>;
    for (const split of SPLITS) {
      const mk = `${split}Mask` as const,
        ik = `${split}Index` as const;
      const m = init[mk];
      const idx = init[ik];
      if (m !== undefined && idx !== undefined) fail(`give ${nm(mk)} or ${nm(ik)}, not both`);
      masks[split] =
        m !== undefined
          ? toMask(fail, nm(mk), nm(ik), m, n)
          : idx !== undefined
            ? indexToMask(fail, nm(ik), idx, n)
            : new Uint8Array(n);
    }
    this.trainMask = masks.train;
    this.valMask = masks.val;
    this.testMask = masks.test;
  }

  /**
   * The same graph with x as sparse CSR rows: for mostly-zero features (bag of words, one-hot) the first layer then
   * runs as a sparse product, as for the Planetoid datasets. Returns this Data when x is sparse already.
   */
  withSparseX(): Data {
    if (!(this.x instanceof Float32Array)) return this;
    const n = this.numNodes,
      f = this.numFeatures,
      x = this.x;
    const rowPtr = new Uint32Array(n + 1);
    let nnz = 0;
    for (let k = 0; k < x.length; k++) if (x[k] !== 0) nnz++;
    const colIdx = new Uint32Array(nnz);
    const values = new Float32Array(nnz);
    for (let i = 0, p = 0; i < n; i++) {
      for (let j = 0; j < f; j++) {
        const v = x[i * f + j];
        if (v !== 0) (colIdx[p] = j), (values[p++] = v);
      }
      rowPtr[i + 1] = p;
    }
    return new Data({
      x: { rows: n, cols: f, rowPtr, colIdx, values },
      edgeIndex: this.edgeIndex,
      y: this.y ?? undefined,
      numClasses: this.y instanceof Int32Array ? this.numClasses : undefined,
      trainMask: this.trainMask,
      valMask: this.valMask,
      testMask: this.testMask,
      edgeAttr: this.edgeAttr ?? undefined,
      edgeDim: this.edgeAttr ? this.edgeDim : undefined,
    });
  }

  /** The split masks by name. */
  get masks(): Record<Split, Uint8Array> {
    return { train: this.trainMask, val: this.valMask, test: this.testMask };
  }

  /**
   * Uploads features, labels, masks and edge attributes, and prepares the graph (CSR/CSC, built on first use).
   * Checks the device's size limits first; on any refusal everything made so far is freed.
   */
  to(gpu: Gpu): GpuData {
    const made: { dispose(): void }[] = [];
    const keep = <T extends { dispose(): void }>(t: T): T => (made.push(t), t);
    try {
      const n = this.numNodes;
      const graph = keep(new GraphSet(gpu, this.edgeIndex, n));
      let x: NodeFeatures;
      if (this.x instanceof Float32Array) {
        x = { kind: 'dense', x: keep(gpu.tensor('f32', [n, this.numFeatures], this.x)) };
      } else {
        x = { kind: 'sparse', x: keep(uploadSparse(gpu, this.x)), xT: keep(uploadSparseTranspose(gpu, this.x)) };
      }
      let y: Tensor | null = null;
      if (this.y instanceof Int32Array) y = keep(gpu.tensor('i32', [n], this.y));
      else if (this.y instanceof Float32Array) y = keep(gpu.tensor('f32', [n, this.numClasses], this.y));
      const masks = {} as Record<Split, Tensor>;
      const counts = {} as Record<Split, number>;
      for (const [split, m] of Object.entries(this.masks) as [Split, Uint8Array][]) {
        masks[split] = keep(gpu.tensor('u32', [n], Uint32Array.from(m)));
        counts[split] = m.reduce((s, v) => s + v, 0);
      }
      const edgeAttr = this.edgeAttr ? keep(gpu.tensor('f32', [this.numEdges, this.edgeDim], this.edgeAttr)) : null;
      const all = [...made];
      const labels = (): Tensor => {
        if (!y) throw new Error('Data: this graph has no y (labels or targets): give y when making the Data');
        return y;
      };
      return {
        numNodes: n,
        numEdges: this.numEdges,
        numFeatures: this.numFeatures,
        numClasses: this.numClasses,
        x,
        graph,
        get y() {
          return labels();
        },
        hasY: y !== null,
        trainMask: masks.train,
        valMask: masks.val,
        testMask: masks.test,
        counts,
        edgeAttr,
        features: x,
        graphs: graph,
        get labels() {
          return labels();
        },
        masks,
        dispose: () => all.forEach((t) => t.dispose()),
      };
    } catch (err) {
      for (const t of made.reverse()) t.dispose();
      throw err;
    }
  }
}

type Fail = (msg: string) => never;

function expectCount(fail: Fail, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1) fail(`${name} must be a non-negative integer, got ${v}`);
}

function toMask(fail: Fail, name: string, indexName: string, m: NodeMask, n: number): Uint8Array {
  if (!(m instanceof Uint8Array) && !Array.isArray(m)) {
    fail(`${name} must be a Uint8Array (0/1) or boolean[] with one entry per node, got ${typeName(m)}`);
  }
  if (m.length !== n) fail(`${name} has ${m.length} entries for ${n} nodes`);
  if (m instanceof Uint8Array) {
    const bad = m.findIndex((v) => v > 1);
    if (bad >= 0) fail(`${name} holds ${m[bad]} at node ${bad}: a mask holds 0 or 1 (node indices go in ${indexName})`);
    return m;
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (typeof m[i] !== 'boolean') fail(`${name}[${i}] is ${String(m[i])}, not a boolean`);
    out[i] = m[i] ? 1 : 0;
  }
  return out;
}

function indexToMask(fail: Fail, name: string, idx: NodeIndex, n: number): Uint8Array {
  if (
    !(idx instanceof Int32Array) &&
    !(idx instanceof Uint32Array) &&
    !(idx instanceof BigInt64Array) &&
    !Array.isArray(idx)
  ) {
    fail(
      `${name} must be a list of node indices (Int32Array, Uint32Array, BigInt64Array or number[]), ` +
        `got ${typeName(idx)}`,
    );
  }
  const out = new Uint8Array(n);
  for (let k = 0; k < idx.length; k++) {
    const raw = idx[k];
    const v = typeof raw === 'bigint' ? Number(raw) : raw;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= n) {
      fail(`${name}[${k}] = ${String(raw)} is not a node index (0 .. ${n - 1})`);
    }
    out[v] = 1;
  }
  return out;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return (v as object).constructor?.name ?? 'object';
}
