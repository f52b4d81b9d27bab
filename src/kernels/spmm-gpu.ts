// The GPU shape of spmm (shaders/spmm-gpu.wgsl): a group of adjacent threads per row, the lanes over the row's
// output columns. spmm() checks its arguments and routes here when gpu.kernelShape is 'gpu'.
import code from '../../shaders/spmm-gpu.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { kernel, type Kernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { kernelCache } from './kernel-cache.ts';
import type { SparseWalk, SpmmOptions } from './spmm.ts';

/** Threads per workgroup. */
const WG = 64;

const cached = kernelCache();
function rowsKernel(vec4: boolean, lanes: number, accumulate: boolean, kept: boolean, bias: boolean): Kernel {
  const entryPoint = vec4 ? 'spmm_rows_vec4' : 'spmm_rows_scalar';
  return cached(`${entryPoint}|${lanes}|${+accumulate}${+kept}${+bias}`, () =>
    kernel({
      name: 'spmm.rows',
      code,
      entryPoint,
      workgroupSize: WG,
      overrides: { ROW_LANES: lanes, ACCUMULATE: accumulate, KEPT: kept, BIAS: bias },
    }),
  );
}

/**
 * Threads per row: the power of two (at most the workgroup) closest above the row's vec4 quads (or columns), so a
 * 64-column product takes 16 lanes and 4 rows per workgroup, a 500-column one all 64 lanes, 2 quads each.
 */
export function spmmLanes(units: number): number {
  let lanes = 1;
  while (lanes < units && lanes < WG) lanes *= 2;
  return lanes;
}

/** Y = A B (+ bias) (+ Y) over the nonzeros `a` walks; arguments already checked by spmm(); A has rows, B columns. */
export function spmmRows(
  gpu: Gpu,
  a: SparseWalk,
  b: Tensor,
  out: Tensor,
  opts: Pick<SpmmOptions, 'accumulate' | 'bias'>,
): Tensor {
  const n = b.shape[1];
  const vec4 = n % 4 === 0 && a.cols > 0;
  const lanes = spmmLanes(vec4 ? n / 4 : n);
  const rowsPerGroup = WG / lanes;
  gpu.dispatch(rowsKernel(vec4, lanes, !!opts.accumulate, !!a.keptEnd, !!opts.bias), {
    bindings: {
      row_ptr: a.rowPtr,
      col_idx: a.colIdx,
      values: a.values,
      b_in: b,
      y_out: out,
      // Stand-ins for unread bindings: any u32 tensor for the kept row ends, B for the bias.
      kept_end: a.keptEnd ?? a.rowPtr,
      bias: opts.bias ?? b,
    },
    uniforms: { rows: a.rows, n },
    workgroups: Math.ceil(a.rows / rowsPerGroup),
    cost: a.cost(n, opts),
  });
  return out;
}
