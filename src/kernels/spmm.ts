// Sparse (CSR) x dense products (shaders/spmm.wgsl): the first linear layer on sparse node features (X W) and its
// weight gradient (X^T dY), with PyG's input dropout applied to the nonzeros.
import code from '../../shaders/spmm.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { groups, kernel, type Kernel } from '../gpu/kernel.ts';
import type { KernelCost } from '../gpu/profiler.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { activeDropout, dropoutUniforms, expectDropout, expectTensor, outputFor } from './check.ts';
import { kernelCache } from './kernel-cache.ts';
import { spmmRows } from './spmm-gpu.ts';

/** A CSR matrix on the host: row r's nonzeros are positions rowPtr[r] .. rowPtr[r+1]-1. */
export interface SparseRows {
  rows: number;
  cols: number;
  rowPtr: Uint32Array;
  colIdx: Uint32Array;
  values: Float32Array;
}

/** A CSR matrix on the GPU: rowPtr [rows + 1], colIdx / values / nzId [nnz]; all u32 except values (f32). */
export interface SparseTensors {
  rows: number;
  cols: number;
  nnz: number;
  rowPtr: Tensor;
  colIdx: Tensor;
  values: Tensor;
  /** For each nonzero, its index in the forward matrix (0..nnz-1 for the forward matrix itself): the dropout key. */
  nzId: Tensor;
  /** Whether nzId[p] = p for every p (a matrix from uploadSparse): dropout then hashes p without reading nzId. */
  nzIdIsPosition: boolean;
  dispose(): void;
}

export interface SpmmOptions {
  /** Dropout on A's nonzeros: value * dropout_scale(seed, step[0], nzId[p], p). */
  dropout?: { p: number; seed: number; step: Tensor /* u32 [1] */ };
  /** Y += A B (Y being `out`, then required). */
  accumulate?: boolean;
  /** f32 [N], added to every row of the product. */
  bias?: Tensor;
  out?: Tensor;
}

/** Throws unless `m` is a well-formed CSR matrix: each problem its own clear error. */
export function validateSparse(m: SparseRows, what = 'sparse matrix'): void {
  const { rows, cols, rowPtr, colIdx, values } = m;
  for (const [name, v] of [
    ['rows', rows],
    ['cols', cols],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 2 ** 32 - 2)
      throw new Error(`${what}: ${name} must be a non-negative integer, got ${v}`);
  }
  if (!(rowPtr instanceof Uint32Array) || !(colIdx instanceof Uint32Array) || !(values instanceof Float32Array)) {
    throw new Error(`${what}: rowPtr and colIdx must be Uint32Array and values a Float32Array`);
  }
  if (rowPtr.length !== rows + 1)
    throw new Error(`${what}: rowPtr has ${rowPtr.length} entries, expected rows + 1 = ${rows + 1}`);
  const nnz = colIdx.length;
  if (values.length !== nnz) throw new Error(`${what}: ${nnz} column indices but ${values.length} values`);
  if (rowPtr[0] !== 0) throw new Error(`${what}: rowPtr must start at 0, got ${rowPtr[0]}`);
  if (rowPtr[rows] !== nnz) throw new Error(`${what}: rowPtr must end at nnz = ${nnz}, got ${rowPtr[rows]}`);
  for (let r = 0; r < rows; r++) {
    if (rowPtr[r + 1] < rowPtr[r])
      throw new Error(
        `${what}: rowPtr is not monotone: rowPtr[${r + 1}] = ${rowPtr[r + 1]} < rowPtr[${r}] = ${rowPtr[r]}`,
      );
  }
  for (let p = 0; p < nnz; p++) {
    if (colIdx[p] >= cols)
      throw new Error(`${what}: column index ${colIdx[p]} at nonzero ${p} is out of range for ${cols} columns`);
    if (!Number.isFinite(values[p]))
      throw new Error(`${what}: value at nonzero ${p} is ${values[p]} (values must be finite)`);
  }
}

function upload(gpu: Gpu, m: SparseRows, nzId: Uint32Array, nzIdIsPosition: boolean): SparseTensors {
  const nnz = m.colIdx.length;
  const made: Tensor[] = [];
  const keep = (t: Tensor) => (made.push(t), t);
  let t: Record<'rowPtr' | 'colIdx' | 'values' | 'nzId', Tensor>;
  try {
    t = {
      rowPtr: keep(gpu.tensor('u32', [m.rows + 1], m.rowPtr)),
      colIdx: keep(gpu.tensor('u32', [nnz], m.colIdx)),
      values: keep(gpu.tensor('f32', [nnz], m.values)),
      nzId: keep(gpu.tensor('u32', [nnz], nzId)),
    };
  } catch (err) {
    made.forEach((x) => x.dispose()); // nothing left behind on refusal
    throw err;
  }
  return {
    rows: m.rows,
    cols: m.cols,
    nnz,
    ...t,
    nzIdIsPosition,
    dispose: () => Object.values(t).forEach((x) => x.dispose()),
  };
}

/**
 * Validates (rowPtr monotone, starts at 0, ends at nnz, column indices in range, no NaN/Inf values) and uploads; nzId
 * = 0..nnz-1.
 */
export function uploadSparse(gpu: Gpu, m: SparseRows): SparseTensors {
  validateSparse(m);
  const nzId = new Uint32Array(m.colIdx.length);
  for (let p = 0; p < nzId.length; p++) nzId[p] = p;
  return upload(gpu, m, nzId, true);
}

/**
 * The transpose as CSR (rows = m.cols), with nzId[p] = index of that nonzero in m. Host-side, O(nnz): a stable
 * counting sort by column, so each row of the transpose lists its entries in m's row order.
 */
export function transposeSparse(m: SparseRows): { matrix: SparseRows; nzId: Uint32Array } {
  validateSparse(m);
  const nnz = m.colIdx.length;
  const rowPtr = new Uint32Array(m.cols + 1);
  for (let p = 0; p < nnz; p++) rowPtr[m.colIdx[p] + 1]++;
  for (let c = 0; c < m.cols; c++) rowPtr[c + 1] += rowPtr[c];
  const next = rowPtr.slice(0, m.cols);
  const colIdx = new Uint32Array(nnz);
  const values = new Float32Array(nnz);
  const nzId = new Uint32Array(nnz);
  for (let r = 0; r < m.rows; r++) {
    for (let p = m.rowPtr[r]; p < m.rowPtr[r + 1]; p++) {
      const q = next[m.colIdx[p]]++;
      colIdx[q] = r;
      values[q] = m.values[p];
      nzId[q] = p;
    }
  }
  return { matrix: { rows: m.cols, cols: m.rows, rowPtr, colIdx, values }, nzId };
}

/** Uploads the transpose of `m`, keyed so that dropout on it drops the same entries as on `m`. */
export function uploadSparseTranspose(gpu: Gpu, m: SparseRows): SparseTensors {
  const { matrix, nzId } = transposeSparse(m);
  return upload(gpu, matrix, nzId, false);
}

const WG = 64;
const cached = kernelCache();
function spmmKernel(vec4: boolean, quads: number, accumulate: boolean, kept: boolean, bias: boolean): Kernel {
  const entryPoint = vec4 ? 'spmm_vec4' : 'spmm_scalar';
  return cached(`${entryPoint}|${quads}|${+accumulate}${+kept}${+bias}`, () =>
    kernel({
      name: 'spmm',
      code,
      entryPoint,
      workgroupSize: WG,
      overrides: { QUADS: quads, ACCUMULATE: accumulate, KEPT: kept, BIAS: bias },
    }),
  );
}

const keepNonzerosKernels = [false, true].map((position) =>
  kernel({
    name: 'spmm.keep_nonzeros',
    code,
    entryPoint: 'keep_nonzeros',
    workgroupSize: WG,
    overrides: { NZ_ID_IS_POSITION: position },
  }),
);

function expectSparse(op: string, a: SparseTensors): void {
  expectTensor(op, 'A.rowPtr', a.rowPtr, 'u32', [a.rows + 1]);
  expectTensor(op, 'A.colIdx', a.colIdx, 'u32', [a.nnz]);
  expectTensor(op, 'A.values', a.values, 'f32', [a.nnz]);
  expectTensor(op, 'A.nzId', a.nzId, 'u32', [a.nnz]);
}

/**
 * The nonzeros a product walks: all of A's, or (with dropout) the copy keepNonzeros made of those it keeps,
 * row r's at rowPtr[r] .. keptEnd[r] - 1.
 */
export interface SparseWalk {
  rows: number;
  cols: number;
  rowPtr: Tensor;
  colIdx: Tensor;
  values: Tensor;
  /** u32 [rows]; null: each row ends where the next begins. */
  keptEnd: Tensor | null;
  /** The product's bytes and FLOPs for the profiler, with N output columns. */
  cost(n: number, opts: Pick<SpmmOptions, 'accumulate' | 'bias'>): KernelCost;
}

/** A's nonzeros that dropout keeps, scaled: each row's at the front of its range, ending at keptEnd[row]. */
function keepNonzeros(gpu: Gpu, a: SparseTensors, drop: NonNullable<SpmmOptions['dropout']>): Tensor[] {
  const colIdx = gpu.empty('u32', [Math.max(a.nnz, 1)]);
  const values = gpu.empty('f32', [Math.max(a.nnz, 1)]);
  const keptEnd = gpu.empty('u32', [a.rows]);
  gpu.dispatch(keepNonzerosKernels[+a.nzIdIsPosition], {
    bindings: {
      row_ptr: a.rowPtr,
      col_idx: a.colIdx,
      values: a.values,
      nz_id: a.nzId,
      step: drop.step,
      kept_col_out: colIdx,
      kept_val_out: values,
      kept_end_out: keptEnd,
    },
    uniforms: { rows: a.rows, ...dropoutUniforms(drop) },
    workgroups: groups(a.rows, WG),
    cost: { bytes: 4 * (a.rows + 1 + a.nnz * 5 + a.rows + 1), flops: a.nnz },
  });
  return [colIdx, values, keptEnd];
}

/** Y[A.rows, N] = (A ∘ dropout mask) * B[A.cols, N] (+ bias) (+ Y when accumulate). */
export function spmm(gpu: Gpu, a: SparseTensors, b: Tensor, opts: SpmmOptions = {}): Tensor {
  expectSparse('spmm', a);
  expectTensor('spmm', 'B', b, 'f32', [-1, -1]);
  if (b.shape[0] !== a.cols)
    throw new Error(
      `spmm: shape mismatch: A is [${a.rows}, ${a.cols}] but B is [${b.shape}]; B must have ${a.cols} rows`,
    );
  const n = b.shape[1];
  const drop = opts.dropout;
  expectDropout('spmm', drop, 'dropout.step');
  if (drop) {
    if (drop.step.size < 1) throw new Error('spmm: dropout.step must hold the step counter (at least one u32)');
  }
  if (opts.accumulate && !opts.out) throw new Error('spmm: accumulate needs the tensor to add to, as `out`');
  if (opts.out) {
    expectTensor('spmm', 'out', opts.out, 'f32', [a.rows, n]);
    if (opts.out.buffer === b.buffer) throw new Error('spmm: out must not share a buffer with B');
  }
  if (opts.bias) {
    expectTensor('spmm', 'bias', opts.bias, 'f32', [-1]);
    if (opts.bias.size !== n)
      throw new Error(`spmm: shape mismatch: bias has ${opts.bias.size} values, the product has ${n} columns`);
    if (opts.out?.buffer === opts.bias.buffer) throw new Error('spmm: out must not share a buffer with bias');
  }
  // Every argument checked: the output is allocated only now, so a refusal leaves nothing behind.
  const out = outputFor(gpu, 'spmm', 'out', [a.rows, n], opts.out);
  if (a.rows === 0 || n === 0) return out;

  // With dropout, the product walks only the kept nonzeros (a scratch copy, back to the pool after the dispatch).
  const active = activeDropout(drop);
  const kept = active ? keepNonzeros(gpu, a, active) : null;
  // Nonzeros the product reads: all of them, or (unknown on the host) the kept ones, counted as 1 - p of them.
  const nnzRead = active ? a.nnz * (1 - active.p) : a.nnz;
  const walk: SparseWalk = {
    rows: a.rows,
    cols: a.cols,
    rowPtr: a.rowPtr,
    colIdx: kept?.[0] ?? a.colIdx,
    values: kept?.[1] ?? a.values,
    keptEnd: kept?.[2] ?? null,
    cost: (n, o) => ({
      bytes:
        4 * (a.rows * (kept ? 2 : 1) + 1 + nnzRead * (2 + n) + a.rows * n * (o.accumulate ? 2 : 1) + (o.bias ? n : 0)),
      flops: 2 * nnzRead * n,
    }),
  };
  if (gpu.kernelShape === 'gpu') spmmRows(gpu, walk, b, out, opts);
  else spmmThreads(gpu, walk, b, out, opts);
  kept?.forEach((t) => t.dispose()); // dispatches run in recording order: a later reuse runs after the product
  return out;
}

/** The CPU shape: one thread per (row, up to 32 output columns), walking the row's nonzeros. */
function spmmThreads(gpu: Gpu, a: SparseWalk, b: Tensor, out: Tensor, opts: Pick<SpmmOptions, 'accumulate' | 'bias'>) {
  const n = b.shape[1];
  const vec4 = n % 4 === 0 && a.cols > 0; // (B then holds at least one quad: a valid vec4 binding)
  // Up to 8 quads (32 columns) per thread (4 without vec4), spread evenly over the row's threads.
  const rowQuads = Math.ceil(n / 4);
  const maxQuads = vec4 ? 8 : 4;
  const quads = Math.ceil(rowQuads / Math.ceil(rowQuads / maxQuads));
  const rowGroups = Math.ceil(rowQuads / quads);
  const threads = a.rows * rowGroups;
  // The kept row ends and the bias are bound by every pipeline; without KEPT or BIAS they are not read.
  gpu.dispatch(spmmKernel(vec4, quads, !!opts.accumulate, !!a.keptEnd, !!opts.bias), {
    bindings: {
      row_ptr: a.rowPtr,
      col_idx: a.colIdx,
      values: a.values,
      kept_end: a.keptEnd ?? gpu.unread('u32'),
      b_in: b,
      y_out: out,
      bias: opts.bias ?? gpu.unread('f32'),
    },
    uniforms: { rows: a.rows, n, row_groups: rowGroups },
    workgroups: groups(threads, WG),
    cost: a.cost(n, opts),
  });
}
