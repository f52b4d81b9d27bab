// Column-block copies between row-major matrices (shaders/columns.wgsl): concatenation of node features along the
// feature axis, and its backward.
import code from '../../shaders/columns.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { groups, kernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { expectTensor } from './check.ts';

const K = kernel({ name: 'copy_columns', code, entryPoint: 'copy_columns' });

/**
 * out[r, dstOffset + c] = x[r, srcOffset + c] for every row r and c < cols; x [R, X], out [R, Y] (f32). Other
 * columns of out are left as they are.
 */
export function copyColumns(
  gpu: Gpu,
  x: Tensor,
  out: Tensor,
  o: { cols: number; srcOffset?: number; dstOffset?: number },
): Tensor {
  expectTensor('copyColumns', 'x', x, 'f32', [-1, -1]);
  const rows = x.shape[0];
  expectTensor('copyColumns', 'out', out, 'f32', [rows, -1]);
  const srcOffset = o.srcOffset ?? 0,
    dstOffset = o.dstOffset ?? 0,
    cols = o.cols;
  for (const [name, v] of [
    ['cols', cols],
    ['srcOffset', srcOffset],
    ['dstOffset', dstOffset],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`copyColumns: ${name} must be a non-negative integer, got ${v}`);
  }
  if (srcOffset + cols > x.shape[1])
    throw new Error(`copyColumns: columns ${srcOffset}..${srcOffset + cols - 1} are outside x [${x.shape}]`);
  if (dstOffset + cols > out.shape[1])
    throw new Error(`copyColumns: columns ${dstOffset}..${dstOffset + cols - 1} are outside out [${out.shape}]`);
  if (out.buffer === x.buffer) throw new Error('copyColumns: out must not share a buffer with x');
  const n = rows * cols;
  gpu.dispatch(K, {
    bindings: { src: x, dst: out },
    uniforms: {
      rows,
      cols,
      src_stride: x.shape[1],
      src_offset: srcOffset,
      dst_stride: out.shape[1],
      dst_offset: dstOffset,
    },
    workgroups: groups(n, K.workgroupSize),
    cost: { bytes: 8 * n, flops: 0 },
  });
  return out;
}
