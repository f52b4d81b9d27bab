// The GPU shapes of the reductions (shaders/reduce-gpu.wgsl): scatter sums with a group of lanes per node over its
// columns, and column sums by blocks of 32 columns x `COLUMN_GROUP_ROWS` rows per workgroup with a tree reduction
// in workgroup memory. scatterAdd() and columnSum() check their arguments and route here when gpu.kernelShape is
// 'gpu'.
import code from '../../shaders/reduce-gpu.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { ELEMENT_TYPE, kernel, type Kernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { GraphTensors } from '../graph.ts';
import { kernelCache } from './kernel-cache.ts';
import { spmmLanes } from './spmm-gpu.ts';

const SCATTER_WG = 64;
const COLUMN_WG = 256;
/** Columns (or vec4 groups) per column-sum workgroup. */
const COLUMN_GROUP_COLS = 32;
/** Rows per column-sum workgroup: more rows than this take another pass over the per-block sums. */
export const COLUMN_GROUP_ROWS = 1024;

const cached = kernelCache();

/** Over f32 columns (w = 1) or vec4 column groups (w = 4). */
function scatterKernel(by: 'dst' | 'src', w: 1 | 4, lanes: number): Kernel {
  const entryPoint = `scatter_rows_${by}`;
  return cached(`${entryPoint}|${w}|${lanes}`, () =>
    kernel({
      name: `scatter_add.${by}.rows`,
      code,
      entryPoint,
      preludes: [ELEMENT_TYPE[w]],
      workgroupSize: SCATTER_WG,
      overrides: { ROW_LANES: lanes },
    }),
  );
}

function columnKernel(w: 1 | 4): Kernel {
  const entryPoint = 'column_block_sum';
  return cached(`${entryPoint}|${w}`, () =>
    kernel({
      name: 'column_sum.blocks',
      code,
      entryPoint,
      preludes: [ELEMENT_TYPE[w]],
      workgroupSize: COLUMN_WG,
    }),
  );
}

/** scatterAdd's sums, arguments already checked; `w` is 4 when F is a multiple of 4 and there are edges. */
export function scatterRows(gpu: Gpu, g: GraphTensors, vals: Tensor, by: 'dst' | 'src', out: Tensor, w: 1 | 4): Tensor {
  const [n, f] = [g.numNodes, vals.shape[1]];
  if (n === 0 || f === 0) return out;
  const lanes = spmmLanes(f / w);
  const bindings: Record<string, Tensor> =
    by === 'dst' ? { offsets: g.rowPtr, vals, out } : { offsets: g.colPtr, perm: g.perm, vals, out };
  gpu.dispatch(scatterKernel(by, w, lanes), {
    bindings,
    uniforms: { n, f: f / w, block: 0, accumulate: 0, col_blocks: 0 },
    workgroups: Math.ceil(n / (SCATTER_WG / lanes)),
    cost: {
      bytes: (n + 1) * 4 + (by === 'src' ? g.numEdges * 4 : 0) + (g.numEdges + n) * f * 4,
      flops: g.numEdges * f,
    },
  });
  return out;
}

/**
 * out[f] (+)= sum_r x[r, f] for x [rows, F]: passes over blocks of COLUMN_GROUP_ROWS rows until one block is left,
 * the last pass writing (or adding to) out. Arguments already checked by columnSum().
 */
export function columnBlocks(gpu: Gpu, x: Tensor, rows: number, f: number, out: Tensor, accumulate: boolean): Tensor {
  if (f === 0) return out;
  const w = f % 4 === 0 && rows > 0 ? 4 : 1;
  const k = columnKernel(w);
  const colBlocks = Math.ceil(f / w / COLUMN_GROUP_COLS);
  let input = x;
  let n = rows;
  for (;;) {
    const blocks = Math.max(1, Math.ceil(n / COLUMN_GROUP_ROWS));
    const last = blocks === 1;
    const dest = last ? out : gpu.empty('f32', [blocks, f]);
    gpu.dispatch(k, {
      bindings: { vals: input, out: dest },
      uniforms: {
        n,
        f: f / w,
        block: COLUMN_GROUP_ROWS,
        accumulate: last && accumulate ? 1 : 0,
        col_blocks: colBlocks,
      },
      workgroups: blocks * colBlocks,
      cost: { bytes: (n + blocks) * f * 4, flops: n * f },
    });
    // Dispatches run in recording order, so a scratch input may go back to the pool once read.
    if (input !== x) input.dispose();
    if (last) return out;
    input = dest;
    n = blocks;
  }
}
