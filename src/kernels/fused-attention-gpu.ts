// The GPU shape of the fused attention forward (shaders/fused-attention-gpu-forward.wgsl): a workgroup per
// destination, its lanes over the incoming edges for the scores and the softmax (workgroup reductions) and over
// the output columns for the aggregation. gatv2Attend() and gatAttend() check their arguments and route here when
// gpu.kernelShape is 'gpu'; the backward passes read the alpha this writes, as from the CPU shape.
import forward from '../../shaders/fused-attention-gpu-forward.wgsl';
import withSubgroups from '../../shaders/fused-attention-gpu-subgroups.wgsl';
import withWorkgroup from '../../shaders/fused-attention-gpu-workgroup.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { kernel, type Kernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { GraphTensors } from '../graph.ts';
import type { EdgeDropout } from './check.ts';
import type { NodeMatrix } from './check.ts';

const WG = 64;
const kernels = new Map<string, Kernel>();
/** The softmax reductions use subgroup operations where the device has them, workgroup memory otherwise. */
/** With an edge term, the EDGE pipelines. */
function rowsKernel(gpu: Gpu, entryPoint: 'gatv2_attend_rows' | 'gat_attend_rows', edge: boolean): Kernel {
  const subgroups = gpu.hasSubgroups;
  const key = `${entryPoint}|${subgroups}|${edge}`;
  let k = kernels.get(key);
  if (!k) {
    const name = `${entryPoint.replace('_rows', '')}.rows${subgroups ? '+subgroups' : ''}${edge ? '+edge' : ''}`;
    // The subgroups prelude opens with its `enable` directive, which kernel() moves to the top of the module.
    const code = (subgroups ? withSubgroups : withWorkgroup) + '\n' + forward;
    const overrides: Record<string, boolean> = edge ? { EDGE: true } : {};
    kernels.set(key, (k = kernel({ name, code, entryPoint, workgroupSize: WG, overrides })));
  }
  return k;
}

interface Forward {
  dims: { heads: number; channels: number; slope: number };
  dropout?: EdgeDropout;
  bias?: Tensor;
  alpha: Tensor;
  out: Tensor;
  /** The edge term, [E, H*C] (GATv2) or [E, H] (GAT), CSR order. */
  edge?: Tensor;
}

function uniforms(g: GraphTensors, f: Forward, left: NodeMatrix, right?: NodeMatrix) {
  const d = f.dropout && f.dropout.p > 0 ? f.dropout : undefined;
  return {
    nodes: g.numNodes, heads: f.dims.heads, channels: f.dims.channels, slope: f.dims.slope,
    l_stride: left.stride, l_offset: left.offset, r_stride: right?.stride ?? 0, r_offset: right?.offset ?? 0,
    p: d?.p ?? 0, seed: (d?.seed ?? 0) >>> 0, has_bias: f.bias ? 1 : 0,
  };
}

/** The step tensor, or any u32 tensor in its place (the graph's row pointers) without dropout. */
function stepFor(g: GraphTensors, d?: EdgeDropout): Tensor {
  return d && d.p > 0 ? d.step : g.rowPtr;
}

/** gatv2Attend, arguments already checked. */
export function gatv2AttendRows(gpu: Gpu, g: GraphTensors, xl: NodeMatrix, xr: NodeMatrix, att: Tensor, f: Forward): void {
  const N = g.numNodes, E = g.numEdges, H = f.dims.heads, HC = H * f.dims.channels;
  gpu.dispatch(rowsKernel(gpu, 'gatv2_attend_rows', !!f.edge), {
    bindings: {
      row_ptr: g.rowPtr, src: g.src, left: xl.t, right: xr.t, att,
      bias: f.bias ?? att, step: stepFor(g, f.dropout), alpha_out: f.alpha, out: f.out, edge: f.edge ?? att,
    },
    uniforms: uniforms(g, f, xl, xr),
    workgroups: N,
    // Scores gather xl[src] and xr[i] per edge; the aggregation gathers xl[src] again; e / alpha written, read,
    // rewritten, read.
    cost: { bytes: 4 * (N + 1 + 2 * E + 2 * E * HC + N * HC + 4 * E * H + N * HC), flops: 4 * E * HC + 6 * E * H + 3 * E * HC },
  });
}

/** gatAttend, arguments already checked. */
export function gatAttendRows(gpu: Gpu, g: GraphTensors, as: Tensor, ad: Tensor, x: NodeMatrix, f: Forward): void {
  const N = g.numNodes, E = g.numEdges, H = f.dims.heads, HC = H * f.dims.channels;
  gpu.dispatch(rowsKernel(gpu, 'gat_attend_rows', !!f.edge), {
    bindings: {
      row_ptr: g.rowPtr, src: g.src, left: x.t, right: ad, att: as,
      bias: f.bias ?? as, step: stepFor(g, f.dropout), alpha_out: f.alpha, out: f.out, edge: f.edge ?? as,
    },
    uniforms: uniforms(g, f, x),
    workgroups: N,
    cost: { bytes: 4 * (N + 1 + 2 * E + E * H + N * H + 4 * E * H + E * HC + N * HC), flops: 12 * E * H + 3 * E * HC },
  });
}
