/**
 * Planetoid citation datasets (Cora, Citeseer), parsed from the original
 * `ind.<name>.<part>` files exactly as PyTorch Geometric's
 * `torch_geometric/io/planetoid.py::read_planetoid_data` does.
 *
 * Runtime-agnostic: give it the raw file bytes; `planetoid-node.ts` finds or
 * downloads them in Node.
 *
 * Bad files: every part is checked before it is used (pickle structure and
 * CSR invariants in pickle.ts; here the kinds of object, the row and column
 * counts across the files, finite feature values, the test indices and the
 * graph's node ids), and every error starts with
 * `planetoid <name>: ind.<name>.<part>: ` and says what is wrong.
 */
import type { SparseRows } from '../kernels/spmm.ts';
import { CsrMatrix, NdArray, unpickle, type NdData } from './pickle.ts';

export type PlanetoidName = 'cora' | 'citeseer';

/** CSR matrix (the features come out with columns sorted within each row). */
export type { SparseRows };

export interface GraphDataset {
  name: string;
  numNodes: number;
  numFeatures: number;
  numClasses: number;
  /** [numNodes, numFeatures] */
  features: SparseRows;
  /** [numNodes] */
  labels: Int32Array;
  /** 2*E values: first E are sources (row 0), next E destinations (row 1), as PyG's edge_index.flatten(). */
  edgeIndex: Int32Array;
  numEdges: number;
  /** 0/1 per node */
  trainMask: Uint8Array;
  valMask: Uint8Array;
  testMask: Uint8Array;
}

export const PLANETOID_PARTS: readonly string[] = Object.freeze([
  'x',
  'tx',
  'allx',
  'y',
  'ty',
  'ally',
  'graph',
  'test.index',
]);

/** Builds the dataset from the raw file bytes (keys are the part names). */
export function parsePlanetoid(
  name: PlanetoidName,
  files: Record<string, Uint8Array>,
  opts: { normalizeFeatures?: boolean } = {},
): GraphDataset {
  const fail = (p: string, msg: string): never => {
    throw new Error(`planetoid ${name}: ind.${name}.${p}: ${msg}`);
  };
  const part = (p: string): Uint8Array => {
    const b = files[p];
    if (!b) throw new Error(`planetoid ${name}: missing part '${p}' (ind.${name}.${p})`);
    return b;
  };
  const load = <T>(p: string, check: (v: unknown) => v is T, what: string): T => {
    let v: unknown;
    try {
      v = unpickle(part(p));
    } catch (e) {
      return fail(p, (e as Error).message);
    }
    if (!check(v)) throw new Error(`planetoid ${name}: ind.${name}.${p} is not ${what}`);
    return v;
  };
  const isCsr = (v: unknown): v is CsrMatrix => v instanceof CsrMatrix;
  const isNd = (v: unknown): v is NdArray => v instanceof NdArray && v.shape.length === 2;
  const isDict = (v: unknown): v is Map<unknown, unknown> => v instanceof Map;

  const y = load('y', isNd, 'a 2-d numpy array');
  const tx = load('tx', isCsr, 'a scipy csr_matrix');
  const allx = load('allx', isCsr, 'a scipy csr_matrix');
  const ty = load('ty', isNd, 'a 2-d numpy array');
  const ally = load('ally', isNd, 'a 2-d numpy array');
  const graph = load('graph', isDict, 'a dict');
  const x = load('x', isCsr, 'a scipy csr_matrix'); // read for validation; `allx` already contains it
  const testIndex = parseTestIndex(part('test.index'), (msg) => fail('test.index', msg));

  // Shapes across the files: x/y the training rows, allx/ally all labelled rows, tx/ty the test rows.
  const numFeatures = allx.shape[1];
  const numClasses = ally.shape[1]!;
  for (const [p, m] of [
    ['x', x],
    ['tx', tx],
  ] as const) {
    if (m.shape[1] !== numFeatures) fail(p, `has ${m.shape[1]} columns but ind.${name}.allx has ${numFeatures}`);
  }
  if (numClasses < 1) fail('ally', 'has no columns (classes)');
  for (const [p, m] of [
    ['y', y],
    ['ty', ty],
  ] as const) {
    if (m.shape[1] !== numClasses) fail(p, `has ${m.shape[1]} columns but ind.${name}.ally has ${numClasses}`);
  }
  for (const [p, a, q, b] of [
    ['y', y.shape[0]!, 'x', x.shape[0]],
    ['ally', ally.shape[0]!, 'allx', allx.shape[0]],
    ['ty', ty.shape[0]!, 'tx', tx.shape[0]],
  ] as const) {
    if (a !== b) fail(p, `has ${a} rows but ind.${name}.${q} has ${b}`);
  }
  if (x.shape[0] > allx.shape[0]) {
    fail('x', `has ${x.shape[0]} rows, more than the ${allx.shape[0]} of ind.${name}.allx`);
  }
  const normalize = opts.normalizeFeatures ?? true;
  for (const [p, m] of [
    ['x', x],
    ['tx', tx],
    ['allx', allx],
  ] as const) {
    const bad = m.data.findIndex((v: number | bigint) => !Number.isFinite(Number(v)) || (normalize && Number(v) < 0));
    if (bad >= 0) {
      const why =
        normalize && Number(m.data[bad]) < 0
          ? 'is negative (NormalizeFeatures needs non-negative features)'
          : 'is not finite';
      fail(p, `stored value ${m.data[bad]} at entry ${bad} ${why}`);
    }
  }
  for (const [p, m] of [
    ['y', y],
    ['ty', ty],
    ['ally', ally],
  ] as const) {
    const bad = m.data.findIndex((v: number | bigint) => !Number.isFinite(Number(v)));
    if (bad >= 0) fail(p, `value ${m.data[bad]} at row ${Math.floor(bad / numClasses)} is not finite`);
  }

  const rows = nodeRowSources(name, allx.shape[0], tx.shape[0], testIndex, fail);
  const numNodes = rows.length;

  let features = gatherRows(rows, allx, tx, numFeatures);
  if (normalize) features = normalizeRows(features);
  const labels = gatherLabels(rows, ally, ty);

  const numTrain = y.shape[0]!;
  const trainMask = rangeMask(numNodes, 0, numTrain);
  const valMask = rangeMask(numNodes, numTrain, numTrain + 500);
  const testMask = new Uint8Array(numNodes);
  for (const t of testIndex) testMask[t] = 1;

  const edgeIndex = edgeIndexFromDict(graph, numNodes, part('graph').length, (msg) => fail('graph', msg));
  return {
    name,
    numNodes,
    numFeatures,
    numClasses,
    features,
    labels,
    edgeIndex,
    numEdges: edgeIndex.length / 2,
    trainMask,
    valMask,
    testMask,
  };
}

// ---------------------------------------------------------------------------
// node order

/** Where a node's row comes from: `allx`/`ally` row, `tx`/`ty` row, or a zero row (null). */
type RowSource = { from: 'all' | 'test'; row: number } | null;

/**
 * Replicates PyG's row shuffling, for features and labels alike:
 *
 *   sorted = sort(test_index)
 *   if citeseer:  # isolated test nodes are missing from tx/ty
 *       tx_ext = zeros(max(test_index) - min(test_index) + 1, ...)
 *       tx_ext[sorted - min(test_index)] = tx;  tx = tx_ext
 *   x = cat([allx, tx]);  x[test_index] = x[sorted]
 *
 * Net effect: node test_index[i] gets tx row i; Citeseer's padded nodes get zero rows.
 */
function nodeRowSources(
  name: PlanetoidName,
  numAll: number,
  numTest: number,
  testIndex: Int32Array,
  fail: (part: string, msg: string) => never,
): RowSource[] {
  if (testIndex.length !== numTest) {
    fail('test.index', `has ${testIndex.length} entries but ind.${name}.tx has ${numTest} rows`);
  }
  const sorted = Int32Array.from(testIndex).sort();
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) fail('test.index', `node ${sorted[i]} is listed twice`);
  }
  // Test nodes follow the allx nodes; Citeseer pads the gaps, at most as many nodes as there are rows.
  if (sorted.length > 0 && sorted[0]! < numAll) {
    fail('test.index', `test node ${sorted[0]} is among the ${numAll} nodes of ind.${name}.allx`);
  }
  let ext: RowSource[];
  if (name === 'citeseer' && sorted.length > 0) {
    const min = sorted[0]!;
    const len = sorted[sorted.length - 1]! - min + 1;
    if (len > numAll + numTest) {
      fail('test.index', `test nodes span ${len} ids, more than the ${numAll + numTest} rows of allx and tx`);
    }
    ext = new Array<RowSource>(len).fill(null);
    sorted.forEach((t, i) => (ext[t - min] = { from: 'test', row: i }));
  } else {
    ext = Array.from({ length: numTest }, (_, i): RowSource => ({ from: 'test', row: i }));
  }
  const cat: RowSource[] = [...Array.from({ length: numAll }, (_, i): RowSource => ({ from: 'all', row: i })), ...ext];
  const before = cat.slice(); // the right-hand side x[sorted] is gathered before assignment
  testIndex.forEach((t, i) => {
    const s = sorted[i]!;
    if (t < 0 || t >= cat.length || s >= cat.length) {
      fail('test.index', `test node ${t} is outside the ${cat.length} nodes`);
    }
    cat[t] = before[s]!;
  });
  return cat;
}

function parseTestIndex(bytes: Uint8Array, fail: (msg: string) => never): Int32Array {
  const out: number[] = [];
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail('is not UTF-8 text');
  }
  text.split('\n').forEach((line, i) => {
    const s = line.trim();
    if (s === '') return;
    if (!/^\d{1,10}$/.test(s) || Number(s) >= 2 ** 31) fail(`line ${i + 1} is not a node id: '${s.slice(0, 20)}'`);
    out.push(Number(s));
  });
  return Int32Array.from(out);
}

function rangeMask(n: number, start: number, end: number): Uint8Array {
  const m = new Uint8Array(n);
  m.fill(1, start, Math.min(end, n));
  return m;
}

// ---------------------------------------------------------------------------
// features and labels

/**
 * Builds the node feature CSR from the source rows. Like PyG's `todense()`,
 * duplicate entries in a source row are summed and explicit zeros vanish.
 */
function gatherRows(rows: RowSource[], all: CsrMatrix, test: CsrMatrix, numFeatures: number): SparseRows {
  const rowPtr = new Uint32Array(rows.length + 1);
  const cols: number[] = [];
  const vals: number[] = [];
  rows.forEach((src, r) => {
    if (src) appendRow(src.from === 'all' ? all : test, src.row, numFeatures, cols, vals);
    rowPtr[r + 1] = cols.length;
  });
  return {
    rows: rows.length,
    cols: numFeatures,
    rowPtr,
    colIdx: Uint32Array.from(cols),
    values: Float32Array.from(vals),
  };
}

function appendRow(m: CsrMatrix, row: number, _numFeatures: number, cols: number[], vals: number[]): void {
  const start = Number(m.indptr[row]);
  const end = Number(m.indptr[row + 1]);
  const entries: [number, number][] = [];
  for (let k = start; k < end; k++) {
    // Columns and row pointers were checked when the csr_matrix was read (pickle.ts CsrMatrix).
    entries.push([Number(m.indices[k]), Number(m.data[k])]);
  }
  entries.sort((a, b) => a[0] - b[0]);
  let i = 0;
  while (i < entries.length) {
    const c = entries[i]![0];
    let v = 0;
    for (; i < entries.length && entries[i]![0] === c; i++) v += entries[i]![1];
    if (v !== 0) {
      cols.push(c);
      vals.push(v);
    }
  }
}

/**
 * PyG's NormalizeFeatures: x = x - x.min(); x /= x.sum(-1).clamp(min=1).
 * For these non-negative sparse matrices x.min() is 0, so each row is divided
 * by its sum (rows summing to less than 1, e.g. all-zero rows, are divided by 1).
 */
function normalizeRows(f: SparseRows): SparseRows {
  const values = new Float32Array(f.values.length);
  for (let r = 0; r < f.rows; r++) {
    let sum = 0;
    for (let k = f.rowPtr[r]!; k < f.rowPtr[r + 1]!; k++) {
      sum += f.values[k]!;
    }
    const div = Math.max(sum, 1);
    for (let k = f.rowPtr[r]!; k < f.rowPtr[r + 1]!; k++) values[k] = f.values[k]! / div;
  }
  return { ...f, values };
}

/** y = cat([ally, ty]).max(dim=1)[1] after the same row shuffle: the first maximal column; zero rows give 0. */
function gatherLabels(rows: RowSource[], all: NdArray, test: NdArray): Int32Array {
  const classes = all.shape[1]!;
  return Int32Array.from(rows, (src) => {
    if (!src) return 0;
    const m = src.from === 'all' ? all : test;
    return argmaxRow(m.data, src.row * classes, classes);
  });
}

function argmaxRow(data: NdData, offset: number, n: number): number {
  let best = 0;
  for (let c = 1; c < n; c++) if (Number(data[offset + c]) > Number(data[offset + best])) best = c;
  return best;
}

// ---------------------------------------------------------------------------
// edges

/**
 * edge_index_from_dict: row = each key repeated len(neighbours) times, col =
 * the neighbours; then remove_self_loops and coalesce (sort by
 * row * N + col, drop duplicates).
 */
function edgeIndexFromDict(
  graph: Map<unknown, unknown>,
  numNodes: number,
  fileBytes: number,
  fail: (msg: string) => never,
): Int32Array {
  const keys: number[] = [];
  // Each neighbour takes at least one byte of the file, unless lists are shared through the memo (never in real data).
  let entries = 0;
  for (const list of graph.values()) entries += Array.isArray(list) ? list.length : 0;
  if (entries > fileBytes) {
    fail(`lists ${entries} neighbours, more than its ${fileBytes} bytes can hold (shared lists?)`);
  }
  const check = (v: unknown, what: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= numNodes) {
      const shown = typeof v === 'number' || typeof v === 'bigint' ? v : typeof v;
      fail(`${what} ${shown} is not a node id in [0, ${numNodes})`);
    }
    return v as number;
  };
  for (const [k, list] of graph) {
    const src = check(k, 'key');
    if (!Array.isArray(list)) fail(`the entry for node ${src} is not a list`);
    for (const d of list as unknown[]) {
      const dst = check(d, `neighbour of node ${src}:`);
      if (src !== dst) keys.push(src * numNodes + dst);
    }
  }
  const sorted = Float64Array.from(keys).sort(); // numeric sort; N*N < 2^53
  const unique: number[] = [];
  sorted.forEach((k, i) => {
    if (i === 0 || k !== sorted[i - 1]) unique.push(k);
  });
  const e = unique.length;
  const out = new Int32Array(2 * e);
  unique.forEach((k, i) => {
    out[i] = Math.floor(k / numNodes);
    out[e + i] = k % numNodes;
  });
  return out;
}
