// Deterministic reductions (shaders/reduce.wgsl): per-node sums of per-edge values and column sums. Each output
// element is summed by one thread in a fixed order, so results are bit-identical run to run (no atomics).
import code from '../../shaders/reduce.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { ELEMENT_TYPE, groups, kernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { GraphTensors } from '../graph.ts';
import { expectSize, expectTensor } from './check.ts';
import { columnBlocks, scatterRows } from './reduce-gpu.ts';

// Each entry point over f32 columns (1) and over vec4 column groups (4, when F % 4 == 0).
const entry = (name: string, entryPoint: string) => ({
  1: kernel({ name, code, entryPoint, preludes: [ELEMENT_TYPE[1]] }),
  4: kernel({ name, code, entryPoint, preludes: [ELEMENT_TYPE[4]] }),
});
const K = {
  scatterDst: entry('scatter_add.dst', 'scatter_dst'),
  scatterSrc: entry('scatter_add.src', 'scatter_src'),
  columnPartials: entry('column_sum.partials', 'column_partials'),
  columnTotal: entry('column_sum.total', 'column_total'),
};

/** Columns per thread: 4 (vec4 kernels) when F is a multiple of 4 and there is data to bind, else 1. */
function lanes(f: number, rows: number): 1 | 4 {
  return f % 4 === 0 && f > 0 && rows > 0 ? 4 : 1;
}

/** Rows summed by one stage-1 thread of columnSum. */
export const COLUMN_BLOCK_ROWS = 128;
/** Up to this many rows, columnSum is one pass (one thread per column walks every row). */
export const COLUMN_SINGLE_PASS_ROWS = 256;

/** Uniform block of reduce.wgsl. */
function params(n: number, f: number, block = 0, accumulate = false) {
  return { n, f, block, accumulate };
}

/**
 * Deterministic segmented sum of per-edge values into nodes: out[i,f] = sum over the edges into i (by 'dst', CSR
 * segments) or out of i (by 'src', through the CSC permutation: q in colPtr[i]..colPtr[i+1], k = perm[q]) of
 * vals[k,f]. vals [E,F] in CSR order; out [N,F]. Nodes without edges get 0.
 */
export function scatterAdd(gpu: Gpu, g: GraphTensors, vals: Tensor, by: 'dst' | 'src', out?: Tensor): Tensor {
  if (by !== 'dst' && by !== 'src') throw new Error(`scatterAdd: 'by' must be 'dst' or 'src', got '${String(by)}'`);
  expectTensor('scatterAdd', 'vals', vals, 'f32', [g.numEdges, -1]);
  const [n, f] = [g.numNodes, vals.shape[1]];
  if (out) expectTensor('scatterAdd', 'out', out, 'f32', [n, f]);
  else out = gpu.empty('f32', [n, f]);
  const w = lanes(f, g.numEdges);
  if (gpu.kernelShape === 'gpu') return scatterRows(gpu, g, vals, by, out, w);
  const k = (by === 'dst' ? K.scatterDst : K.scatterSrc)[w];
  const bindings = by === 'dst' ? { offsets: g.rowPtr, vals, out } : { offsets: g.colPtr, perm: g.perm, vals, out };
  const indexBytes = (n + 1) * 4 + (by === 'src' ? g.numEdges * 4 : 0);
  gpu.dispatch(k, {
    bindings,
    uniforms: params(n, f / w),
    workgroups: groups((n * f) / w, k.workgroupSize),
    cost: { bytes: indexBytes + (g.numEdges + n) * f * 4, flops: g.numEdges * f },
  });
  return out;
}

/**
 * out[f] (+)= sum_r x[r,f] for x [R,F]. Deterministic two-stage reduction (partials over fixed blocks of
 * COLUMN_BLOCK_ROWS rows, then their sum in block order); one pass when R <= COLUMN_SINGLE_PASS_ROWS.
 * With `accumulate`, out[f] = out[f] + sum (out must be given).
 */
export function columnSum(gpu: Gpu, x: Tensor, opts: { out?: Tensor; accumulate?: boolean } = {}): Tensor {
  expectTensor('columnSum', 'x', x, 'f32', [-1, -1]);
  const [rows, f] = x.shape;
  if (opts.accumulate && !opts.out) throw new Error('columnSum: accumulate needs an out tensor to add to');
  const out = opts.out ?? gpu.empty('f32', [f]);
  if (opts.out) expectSize('columnSum', 'out', out, 'f32', f);
  const accumulate = opts.accumulate ?? false;
  if (gpu.kernelShape === 'gpu') return columnBlocks(gpu, x, rows, f, out, accumulate);
  if (rows <= COLUMN_SINGLE_PASS_ROWS) {
    total(gpu, x, rows, f, out, accumulate);
    return out;
  }
  const blocks = Math.ceil(rows / COLUMN_BLOCK_ROWS);
  const partials = gpu.empty('f32', [blocks, f]);
  const w = lanes(f, rows);
  const k = K.columnPartials[w];
  gpu.dispatch(k, {
    bindings: { vals: x, out: partials },
    uniforms: params(rows, f / w, COLUMN_BLOCK_ROWS),
    workgroups: groups((blocks * f) / w, k.workgroupSize),
    cost: { bytes: (rows + blocks) * f * 4, flops: rows * f },
  });
  total(gpu, partials, blocks, f, out, accumulate);
  // Dispatches run in recording order, so the scratch buffer may go back to the pool now.
  partials.dispose();
  return out;
}

/** out[f] = (accumulate ? out[f] : 0) + sum_r x[r, f], one thread per column. */
function total(gpu: Gpu, x: Tensor, rows: number, f: number, out: Tensor, accumulate: boolean): void {
  const w = lanes(f, rows);
  const k = K.columnTotal[w];
  gpu.dispatch(k, {
    bindings: { vals: x, out },
    uniforms: params(rows, f / w, 0, accumulate),
    workgroups: groups(f / w, k.workgroupSize),
    cost: { bytes: (rows + (accumulate ? 2 : 1)) * f * 4, flops: rows * f },
  });
}
