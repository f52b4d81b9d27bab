/**
 * TU graph-classification datasets (MUTAG, PROTEINS, ENZYMES, ...), parsed from the raw `<NAME>_<part>.txt`
 * files with the conventions of PyTorch Geometric's `TUDataset` (`torch_geometric/io/tu.py::read_tu_data`):
 *
 * - `_A.txt`: one `row, col` line per directed edge, 1-based node ids numbered across the whole dataset (an
 *   undirected bond is two lines). Self loops are removed and the edges are coalesced: sorted by (source,
 *   destination), duplicates merged with their edge attributes summed (PyG's `coalesce(reduce='sum')`).
 * - `_graph_indicator.txt`: the 1-based graph of each node. The nodes of a graph must be consecutive (PyG's
 *   `split` assumes it silently; here it is checked).
 * - `_graph_labels.txt`: one label per graph, mapped to 0..C-1 in sorted order of the distinct values (PyG's
 *   `y.unique(sorted=True, return_inverse=True)`): MUTAG's -1/1 become 0/1, ENZYMES' 1..6 become 0..5.
 * - `_node_labels.txt`, `_edge_labels.txt`: categorical, one column or several; each column has its minimum
 *   subtracted and is one-hot encoded with max+1 columns, the columns' encodings concatenated.
 * - `_node_attributes.txt`, `_edge_attributes.txt`: comma-separated reals.
 * - Node features `x` = [node attributes (only with `useNodeAttr`) | one-hot node labels]; edge features
 *   `edgeAttr` = [edge attributes (only with `useEdgeAttr`) | one-hot edge labels]. As in PyG, the one-hot labels
 *   are always kept; only the continuous attributes are opt-in.
 *
 * Runtime-agnostic (browser and Node): give it the files' bytes or text. `tu-node.ts` finds or downloads them in
 * Node; `unzipTU` reads the dataset's zip as published by the TU collection. Every reader checks structure (row
 * counts across files, ids in range, fields that are not numbers) and names the file and line of what it rejects.
 * Not supported: `_graph_attributes.txt` (regression targets).
 */
import { unzipSync } from 'fflate';
import type { GraphSample } from './batch.ts';

/** The parts of a TU dataset, as in `<NAME>_<part>.txt`. */
export const TU_PARTS = [
  'A',
  'graph_indicator',
  'graph_labels',
  'node_labels',
  'node_attributes',
  'edge_labels',
  'edge_attributes',
] as const;
export type TUPart = (typeof TU_PARTS)[number];
/** The parts every dataset has. */
export const TU_REQUIRED_PARTS: readonly TUPart[] = ['A', 'graph_indicator', 'graph_labels'];

/** File contents by part name (`A`, `graph_indicator`, ...); absent optional parts are simply missing. */
export type TUFiles = Partial<Record<TUPart, Uint8Array | string>>;

export interface TUOptions {
  /** Put the continuous node attributes in front of the one-hot node labels in `x` (PyG's use_node_attr). */
  useNodeAttr?: boolean;
  /** Put the continuous edge attributes in front of the one-hot edge labels in `edgeAttr` (use_edge_attr). */
  useEdgeAttr?: boolean;
}

export interface TUDataset {
  name: string;
  /** One entry per graph, in file order; node ids are local to each graph. */
  graphs: GraphSample[];
  /** Columns of x: numNodeAttributes (if used) + numNodeLabels. */
  numFeatures: number;
  /** Columns of edgeAttr: numEdgeAttributes (if used) + numEdgeLabels; 0 when the graphs have no edge features. */
  numEdgeFeatures: number;
  /** Number of distinct graph labels. */
  numClasses: number;
  /** The original label value of each class: graph.y = c means the file said classValues[c]. */
  classValues: number[];
  /** The class of every graph (the graphs' y, as one array). */
  labels: Int32Array;
  /** Sizes in the files, whether used or not (PyG's num_node_attributes, num_node_labels, ...). */
  numNodeAttributes: number;
  numNodeLabels: number;
  numEdgeAttributes: number;
  numEdgeLabels: number;
  /** Totals over the dataset after removing self loops and merging duplicate edges. */
  numNodes: number;
  numEdges: number;
}

/** At most this many one-hot columns per label column, so that a corrupted label cannot ask for gigabytes. */
export const MAX_LABEL_RANGE = 65536;

/** Builds the dataset from the raw files (keys are part names). Validates everything before building. */
export function parseTU(name: string, files: TUFiles, opts: TUOptions = {}): TUDataset {
  const fileName = (p: TUPart) => `${name}_${p}.txt`;
  for (const p of TU_REQUIRED_PARTS) {
    if (files[p] === undefined) throw new Error(`TU ${name}: missing required file ${fileName(p)}`);
  }
  const read = (p: TUPart, kind: 'int' | 'float'): Table | null =>
    files[p] === undefined ? null : readTable(`TU ${name}: `, fileName(p), files[p]!, kind);

  const graphLabels = read('graph_labels', 'int')!;
  const indicator = read('graph_indicator', 'int')!;
  const edges = read('A', 'int')!;
  const nodeLabels = read('node_labels', 'int');
  const nodeAttrs = read('node_attributes', 'float');
  const edgeLabels = read('edge_labels', 'int');
  const edgeAttrs = read('edge_attributes', 'float');

  // ---- structure across files ----
  expectColumns(graphLabels, 1);
  expectColumns(indicator, 1);
  expectColumns(edges, 2);
  const numGraphs = graphLabels.rows;
  if (numGraphs === 0) throw new Error(`${graphLabels.file}: no graphs (the file is empty)`);
  const N = indicator.rows;
  const E0 = edges.rows;
  for (const t of [nodeLabels, nodeAttrs]) if (t) expectRows(t, N, `${indicator.name} has ${N} nodes`);
  for (const t of [edgeLabels, edgeAttrs]) if (t) expectRows(t, E0, `${edges.name} has ${E0} edges`);

  // Graph of each node (0-based): values 1..numGraphs, non-decreasing, so each graph's nodes are one range.
  const graphOf = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const g = indicator.data[i]!;
    if (g < 1 || g > numGraphs) {
      throw new Error(
        `${indicator.file} line ${i + 1}: graph id ${g} is out of range 1..${numGraphs} ` +
          `(${graphLabels.name} has ${numGraphs} graphs)`,
      );
    }
    if (i > 0 && g < graphOf[i - 1]! + 1) {
      throw new Error(
        `${indicator.file} line ${i + 1}: graph id ${g} after ${graphOf[i - 1]! + 1}: ` +
          'the nodes of each graph must be consecutive',
      );
    }
    graphOf[i] = g - 1;
  }
  const nodePtr = new Int32Array(numGraphs + 1);
  for (let i = 0; i < N; i++) nodePtr[graphOf[i]! + 1]++;
  for (let g = 0; g < numGraphs; g++) nodePtr[g + 1] += nodePtr[g]!;

  // Edges: 1-based ids in range, both ends in one graph.
  const src0 = new Int32Array(E0);
  const dst0 = new Int32Array(E0);
  for (let k = 0; k < E0; k++) {
    const s = edges.data[2 * k]!;
    const d = edges.data[2 * k + 1]!;
    for (const v of [s, d]) {
      if (v < 1 || v > N) {
        throw new Error(
          `${edges.file} line ${k + 1}: node id ${v} is out of range 1..${N} (${indicator.name} has ${N} nodes)`,
        );
      }
    }
    if (graphOf[s - 1] !== graphOf[d - 1]) {
      throw new Error(
        `${edges.file} line ${k + 1}: edge ${s}, ${d} joins graph ${graphOf[s - 1]! + 1} ` +
          `and graph ${graphOf[d - 1]! + 1}`,
      );
    }
    src0[k] = s - 1;
    dst0[k] = d - 1;
  }

  // ---- features ----
  const nodeOneHot = nodeLabels ? oneHot(nodeLabels) : null;
  const edgeOneHot = edgeLabels ? oneHot(edgeLabels) : null;
  const useNodeAttr = (opts.useNodeAttr ?? false) && nodeAttrs !== null;
  const useEdgeAttr = (opts.useEdgeAttr ?? false) && edgeAttrs !== null;
  const x = concatColumns(N, [useNodeAttr ? nodeAttrs : null, nodeOneHot]);
  const edgeFeat = concatColumns(E0, [useEdgeAttr ? edgeAttrs : null, edgeOneHot]);

  // Graph labels -> 0..C-1 by rank of the distinct values.
  const classValues = [...new Set(graphLabels.data)].sort((a, b) => a - b);
  const classOf = new Map(classValues.map((v, c) => [v, c]));
  const labels = Int32Array.from(graphLabels.data, (v) => classOf.get(v)!);

  // ---- remove self loops, coalesce (sort by source then destination, sum duplicates' features) ----
  const { order, first } = coalesceOrder(src0, dst0, N);
  const E = first.length;
  const D = edgeFeat.cols;
  const src = new Int32Array(E);
  const dst = new Int32Array(E);
  const attr = new Float32Array(E * D);
  const sum = new Float64Array(D);
  for (let u = 0; u < E; u++) {
    const end = u + 1 < E ? first[u + 1]! : order.length;
    sum.fill(0);
    for (let p = first[u]!; p < end; p++) {
      const k = order[p]!;
      for (let c = 0; c < D; c++) sum[c] += edgeFeat.data[k * D + c]!;
    }
    src[u] = src0[order[first[u]!]!]!;
    dst[u] = dst0[order[first[u]!]!]!;
    for (let c = 0; c < D; c++) attr[u * D + c] = sum[c]!;
  }

  // ---- split into graphs: nodes are ranges; edges, sorted by source, are ranges too ----
  const F = x.cols;
  const graphs: GraphSample[] = [];
  let e0 = 0;
  for (let g = 0; g < numGraphs; g++) {
    const n0 = nodePtr[g]!;
    const n1 = nodePtr[g + 1]!;
    let e1 = e0;
    while (e1 < E && src[e1]! < n1) e1++;
    const ne = e1 - e0;
    const edgeIndex = new Int32Array(2 * ne);
    for (let k = 0; k < ne; k++) {
      edgeIndex[k] = src[e0 + k]! - n0;
      edgeIndex[ne + k] = dst[e0 + k]! - n0;
    }
    graphs.push({
      numNodes: n1 - n0,
      numEdges: ne,
      x: Float32Array.from(x.data.subarray(n0 * F, n1 * F)),
      edgeIndex,
      edgeAttr: D > 0 ? attr.slice(e0 * D, e1 * D) : null,
      y: labels[g]!,
    });
    e0 = e1;
  }

  return {
    name,
    graphs,
    numFeatures: F,
    numEdgeFeatures: D,
    numClasses: classValues.length,
    classValues,
    labels,
    numNodeAttributes: nodeAttrs?.cols ?? 0,
    numNodeLabels: nodeOneHot?.cols ?? 0,
    numEdgeAttributes: edgeAttrs?.cols ?? 0,
    numEdgeLabels: edgeOneHot?.cols ?? 0,
    numNodes: N,
    numEdges: E,
  };
}

/**
 * The dataset's files from the zip the TU collection publishes (`<NAME>.zip` holding `<NAME>/<NAME>_A.txt`, ...).
 * Entries for other parts (README.txt, graph attributes) are ignored.
 */
export function unzipTU(name: string, zip: Uint8Array): TUFiles {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(zip);
  } catch (e) {
    throw new Error(`TU ${name}: cannot read the zip archive: ${(e as Error).message}`);
  }
  const files: TUFiles = {};
  for (const [path, bytes] of Object.entries(entries)) {
    const base = path.slice(path.lastIndexOf('/') + 1);
    for (const p of TU_PARTS) if (base === `${name}_${p}.txt`) files[p] = bytes;
  }
  return files;
}

// ---------------------------------------------------------------------------
// reading

/** A numeric table: `rows` lines of `cols` comma-separated fields, row-major. */
interface Table {
  /** The file's name, and with the dataset's prefix for messages. */
  name: string;
  file: string;
  rows: number;
  cols: number;
  data: Float64Array;
}

const INTEGER = /^[+-]?\d+$/;
const REAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/; // unambiguous: no backtracking on long digit runs

/**
 * Parses comma-separated numbers, one row per line (LF or CRLF, a final newline optional). Every line must have the
 * same number of fields; fields may be padded with spaces. Integers must be integers within +-2^31; reals must be
 * finite as float32.
 */
function readTable(prefix: string, name: string, content: Uint8Array | string, kind: 'int' | 'float'): Table {
  const file = prefix + name;
  let text: string;
  if (typeof content === 'string') text = content;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(content);
    } catch {
      throw new Error(`${file}: not a text file (invalid UTF-8)`);
    }
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let cols = -1;
  const data = new Float64Array(lines.length * Math.max(1, lines.length ? lines[0]!.split(',').length : 1));
  let n = 0;
  for (let r = 0; r < lines.length; r++) {
    const line = lines[r]!;
    const fields = line.split(',');
    if (cols < 0) cols = fields.length;
    if (line.trim() === '') throw new Error(`${file} line ${r + 1}: empty line`);
    if (fields.length !== cols) {
      throw new Error(`${file} line ${r + 1}: ${fields.length} fields, but line 1 has ${cols}`);
    }
    for (let c = 0; c < cols; c++) {
      const f = fields[c]!.trim();
      let v: number;
      if (kind === 'int') {
        if (!INTEGER.test(f)) throw new Error(`${file} line ${r + 1}: field ${c + 1} '${clip(f)}' is not an integer`);
        v = Number(f);
        if (!(Math.abs(v) <= 2 ** 31 - 1))
          throw new Error(`${file} line ${r + 1}: field ${c + 1} ${clip(f)} is too large`);
      } else {
        v = REAL.test(f) ? Math.fround(Number(f)) : NaN;
        if (!Number.isFinite(v)) {
          throw new Error(`${file} line ${r + 1}: field ${c + 1} '${clip(f)}' is not a finite number (float32)`);
        }
      }
      data[n++] = v;
    }
  }
  return { name, file, rows: lines.length, cols: Math.max(cols, 0), data: data.subarray(0, n) };
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}

function expectColumns(t: Table, cols: number): void {
  if (t.rows > 0 && t.cols !== cols) throw new Error(`${t.file}: ${t.cols} fields per line, expected ${cols}`);
}

function expectRows(t: Table, rows: number, why: string): void {
  if (t.rows !== rows) throw new Error(`${t.file}: ${t.rows} lines, expected ${rows} (${why})`);
}

// ---------------------------------------------------------------------------
// processing

interface Matrix {
  cols: number;
  data: Float32Array;
}

/** Each column minus its minimum, one-hot with max+1 columns; the columns' encodings side by side. */
function oneHot(t: Table): Matrix {
  const widths: number[] = [];
  const mins: number[] = [];
  for (let c = 0; c < t.cols; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let r = 0; r < t.rows; r++) {
      const v = t.data[r * t.cols + c]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (t.rows === 0) (lo = 0), (hi = -1);
    if (hi - lo + 1 > MAX_LABEL_RANGE) {
      throw new Error(
        `${t.file}: labels in column ${c + 1} span ${lo}..${hi}, more than ${MAX_LABEL_RANGE} one-hot columns`,
      );
    }
    mins.push(lo);
    widths.push(hi - lo + 1);
  }
  const cols = widths.reduce((s, w) => s + w, 0);
  const data = new Float32Array(t.rows * cols);
  for (let r = 0; r < t.rows; r++) {
    let offset = 0;
    for (let c = 0; c < t.cols; c++) {
      data[r * cols + offset + t.data[r * t.cols + c]! - mins[c]!] = 1;
      offset += widths[c]!;
    }
  }
  return { cols, data };
}

/** Row-wise concatenation of [rows, *] matrices (absent ones skipped). */
function concatColumns(rows: number, parts: (Table | Matrix | null)[]): Matrix {
  const present = parts.filter((p): p is Table | Matrix => p !== null);
  const cols = present.reduce((s, p) => s + p.cols, 0);
  const data = new Float32Array(rows * cols);
  let offset = 0;
  for (const p of present) {
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < p.cols; c++) data[r * cols + offset + c] = p.data[r * p.cols + c]!;
    offset += p.cols;
  }
  return { cols, data };
}

/**
 * The edges without self loops, ordered by (source, destination) with ties in file order (two stable counting
 * sorts), and where each distinct (source, destination) pair starts in that order.
 */
function coalesceOrder(src: Int32Array, dst: Int32Array, n: number): { order: Int32Array; first: Int32Array } {
  const kept: number[] = [];
  for (let k = 0; k < src.length; k++) if (src[k] !== dst[k]) kept.push(k);
  const byDst = countingSort(Int32Array.from(kept), dst, n);
  const order = countingSort(byDst, src, n);
  const first: number[] = [];
  for (let p = 0; p < order.length; p++) {
    const k = order[p]!;
    const prev = p > 0 ? order[p - 1]! : -1;
    if (p === 0 || src[k] !== src[prev] || dst[k] !== dst[prev]) first.push(p);
  }
  return { order, first: Int32Array.from(first) };
}

/** `items` stably sorted by key[item], keys in 0..n-1. */
function countingSort(items: Int32Array, key: Int32Array, n: number): Int32Array {
  const ptr = new Int32Array(n + 1);
  for (const k of items) ptr[key[k]! + 1]++;
  for (let i = 0; i < n; i++) ptr[i + 1] += ptr[i]!;
  const out = new Int32Array(items.length);
  for (const k of items) out[ptr[key[k]!]!++] = k;
  return out;
}
