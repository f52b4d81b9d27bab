// The GPU shape of the fused attention (shaders/fused-attention-gpu-*.wgsl). Forward: a workgroup per
// destination, its lanes over the incoming edges for the scores and the softmax (workgroup reductions) and over
// the output columns for the aggregation. Backward: a workgroup per destination (lanes over its incoming edges for
// dalpha and the softmax backward, then over the gradient's columns) and a workgroup per source (lanes over the
// columns and the outgoing edges). gatv2Attend(), gatAttend() and their backward functions check their arguments
// and route here when gpu.kernelShape is 'gpu'; either shape's backward takes either shape's alpha.
import backwardShared from '../../shaders/fused-attention-gpu-backward.wgsl';
import fusedAttentionParams from '../../shaders/fused-attention-params.wgsl';
import backwardDst from '../../shaders/fused-attention-gpu-backward-dst.wgsl';
import backwardSrc from '../../shaders/fused-attention-gpu-backward-src.wgsl';
import backwardWithSubgroups from '../../shaders/fused-attention-gpu-backward-subgroups.wgsl';
import backwardWithWorkgroup from '../../shaders/fused-attention-gpu-backward-workgroup.wgsl';
import forward from '../../shaders/fused-attention-gpu-forward.wgsl';
import reduceWithSubgroups from '../../shaders/fused-attention-gpu-reduce-subgroups.wgsl';
import reduceWithWorkgroup from '../../shaders/fused-attention-gpu-reduce-workgroup.wgsl';
import withSubgroups from '../../shaders/fused-attention-gpu-subgroups.wgsl';
import withWorkgroup from '../../shaders/fused-attention-gpu-workgroup.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { kernel, type Kernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { GraphTensors } from '../graph.ts';
import {
  type AttendDims,
  type AttendOptions,
  type AttentionViews,
  attendSizes,
  attentionUniforms,
  type GatAttendGrads,
  type Gatv2AttendGrads,
} from './attention-args.ts';
import { activeDropout, dropoutUniforms, type EdgeDropout, type NodeMatrix } from './check.ts';
import { columnSum } from './reduce.ts';

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
    // The subgroup reductions open with their `enable` directive, which kernel() moves to the top of the module.
    const code = [
      subgroups ? reduceWithSubgroups : reduceWithWorkgroup,
      subgroups ? withSubgroups : withWorkgroup,
      forward,
    ].join('\n');
    const overrides: Record<string, boolean> = edge ? { EDGE: true } : {};
    kernels.set(key, (k = kernel({ name, code, entryPoint, workgroupSize: WG, overrides })));
  }
  return k;
}

/** gatv2Attend's or gatAttend's dims and options, with the outputs made. */
type Forward = AttendOptions & { dims: AttendDims; alpha: Tensor; out: Tensor };

function uniforms(g: GraphTensors, f: Forward, left: NodeMatrix, right?: NodeMatrix) {
  return {
    nodes: g.numNodes,
    heads: f.dims.heads,
    channels: f.dims.channels,
    slope: f.dims.slope,
    l_stride: left.stride,
    l_offset: left.offset,
    r_stride: right?.stride ?? 0,
    r_offset: right?.offset ?? 0,
    ...dropoutUniforms(activeDropout(f.dropout)),
    has_bias: f.bias ? 1 : 0,
  };
}

/** The step tensor, or any u32 tensor in its place (the graph's row pointers) without dropout. */
function stepFor(g: GraphTensors, d?: EdgeDropout): Tensor {
  return activeDropout(d)?.step ?? g.rowPtr;
}

/**
 * The forward dispatch, a workgroup per destination: `left`, `right` and `att` as the entry point binds them (GAT's
 * node scores in `att` and `right`); the optional bias and edge term bind `att` in their place when absent.
 */
function attendRows(
  gpu: Gpu,
  g: GraphTensors,
  entryPoint: 'gatv2_attend_rows' | 'gat_attend_rows',
  f: Forward,
  t: { left: Tensor; right: Tensor; att: Tensor },
  views: [NodeMatrix, NodeMatrix?],
  cost: { bytes: number; flops: number },
): void {
  gpu.dispatch(rowsKernel(gpu, entryPoint, !!f.edge), {
    bindings: {
      row_ptr: g.rowPtr,
      src: g.src,
      left: t.left,
      right: t.right,
      att: t.att,
      bias: f.bias ?? t.att,
      step: stepFor(g, f.dropout),
      alpha_out: f.alpha,
      out: f.out,
      edge: f.edge ?? t.att,
    },
    uniforms: uniforms(g, f, ...views),
    workgroups: g.numNodes,
    cost,
  });
}

/** gatv2Attend, arguments already checked. */
export function gatv2AttendRows(
  gpu: Gpu,
  g: GraphTensors,
  xl: NodeMatrix,
  xr: NodeMatrix,
  att: Tensor,
  f: Forward,
): void {
  const { N, E, H, HC } = attendSizes(g, f.dims);
  // Scores gather xl[src] and xr[i] per edge; the aggregation gathers xl[src] again; e / alpha written, read,
  // rewritten, read.
  attendRows(gpu, g, 'gatv2_attend_rows', f, { left: xl.t, right: xr.t, att }, [xl, xr], {
    bytes: 4 * (N + 1 + 2 * E + 2 * E * HC + N * HC + 4 * E * H + N * HC),
    flops: 4 * E * HC + 6 * E * H + 3 * E * HC,
  });
}

/** gatAttend, arguments already checked. */
export function gatAttendRows(gpu: Gpu, g: GraphTensors, as: Tensor, ad: Tensor, x: NodeMatrix, f: Forward): void {
  const { N, E, H, HC } = attendSizes(g, f.dims);
  attendRows(gpu, g, 'gat_attend_rows', f, { left: x.t, right: ad, att: as }, [x], {
    bytes: 4 * (N + 1 + 2 * E + E * H + N * H + 4 * E * H + E * HC + N * HC),
    flops: 12 * E * H + 3 * E * HC,
  });
}

// ---- backward ----

type BackwardEntry = 'gatv2_attend_dst_rows' | 'gat_attend_dst_rows' | 'gatv2_attend_src_rows' | 'gat_attend_src_rows';

/**
 * The destination passes sum over a node's edges with subgroup operations where the device has them, workgroup
 * memory otherwise; the source passes need neither (their sums go through workgroup memory in slice order). With an
 * edge term, the EDGE pipelines.
 */
function backwardKernel(gpu: Gpu, entryPoint: BackwardEntry, edge: boolean): Kernel {
  const dstSide = entryPoint.includes('_dst_');
  const subgroups = dstSide && gpu.hasSubgroups;
  const key = `${entryPoint}|${subgroups}|${edge}`;
  let k = kernels.get(key);
  if (!k) {
    const name = `${entryPoint.replace('_rows', '')}.rows${subgroups ? '+subgroups' : ''}${edge ? '+edge' : ''}`;
    // The subgroup reductions open with their `enable` directive, which kernel() moves to the top of the module.
    const code = dstSide
      ? [
          subgroups ? reduceWithSubgroups : reduceWithWorkgroup,
          subgroups ? backwardWithSubgroups : backwardWithWorkgroup,
          backwardDst,
        ].join('\n')
      : backwardSrc;
    const overrides: Record<string, boolean> = edge ? { EDGE: true } : {};
    kernels.set(
      key,
      (k = kernel({
        name,
        code,
        preludes: [fusedAttentionParams, backwardShared],
        entryPoint,
        workgroupSize: WG,
        overrides,
      })),
    );
  }
  return k;
}

function backwardUniforms(g: GraphTensors, dims: AttendDims, dropout: EdgeDropout | undefined, v: AttentionViews) {
  return {
    ...attentionUniforms(g.numNodes, g.numEdges, dims, v),
    ...dropoutUniforms(activeDropout(dropout)),
    has_bias: false,
  };
}

/**
 * The scratch of a backward, `words` u32 long, with the dropout step (when it drops anything) copied into its word
 * `stepAt`; and that dropout.
 */
function scratchWithStep(gpu: Gpu, words: number, stepAt: number, dropout?: EdgeDropout) {
  const scratch = gpu.empty('u32', [words]);
  const d = activeDropout(dropout);
  if (d) gpu.copy(d.step, scratch, stepAt, 0, 1);
  return { scratch, d };
}

/** gatv2AttendBackward's grads and dims; the edge term and its gradient both or neither (checked by the caller). */
type Gatv2Backward = Gatv2AttendGrads & { dims: AttendDims };

/**
 * gatv2AttendBackward, arguments already checked. The scratch (layout in fused-attention-gpu-backward.wgsl) takes
 * the dropout step in its header word, then the destination pass (dxr, de, the datt partials of the destination
 * ends; it reads the edge term), the source pass (dxl, the datt partials of the source ends, dedge) and the column
 * sum of the partials (datt).
 */
export function gatv2AttendBackwardRows(
  gpu: Gpu,
  g: GraphTensors,
  xl: NodeMatrix,
  xr: NodeMatrix,
  att: Tensor,
  alpha: Tensor,
  dagg: Tensor,
  b: Gatv2Backward,
): void {
  const { N, E, H, HC } = attendSizes(g, b.dims);
  const words = 2 + Math.ceil(b.dims.channels / 32);
  const { scratch, d } = scratchWithStep(gpu, N * HC + 1 + E * H * words, N * HC, b.dropout);
  const edge = !!b.edge;
  gpu.dispatch(backwardKernel(gpu, 'gatv2_attend_dst_rows', edge), {
    bindings: {
      row_ptr: g.rowPtr,
      src: g.src,
      left: xl.t,
      right: xr.t,
      att,
      alpha,
      dagg,
      scratch,
      out: b.dxr.t,
      edge: b.edge ?? alpha,
    },
    uniforms: backwardUniforms(g, b.dims, d, { left: xl, right: xr, grad: b.dxr }),
    workgroups: N,
    // Per edge and head: src, xl[src] and dagg[i] (C), alpha twice, the scratch words written, de read back and
    // rewritten; the column phase reads de and a sign word per edge and column. Then dxr and the partials. The edge
    // term: read twice.
    cost: {
      bytes:
        4 *
        (N +
          1 +
          E * H +
          2 * E * HC +
          2 * E * H +
          (words + 2) * E * H +
          2 * E * HC +
          N * HC +
          2 * N * HC +
          (edge ? 2 * E * HC : 0)),
      flops: 4 * E * HC + 6 * E * H + 3 * E * HC,
    },
  });
  const accumulate = b.accumulateDxl ?? false;
  gpu.dispatch(backwardKernel(gpu, 'gatv2_attend_src_rows', edge), {
    bindings: {
      col_ptr: g.colPtr,
      perm: g.perm,
      dst: g.dst,
      left: xl.t,
      att,
      dagg,
      scratch,
      out: b.dxl.t,
      dedge: b.dedge ?? gpu.unread('f32'),
    },
    uniforms: backwardUniforms(g, b.dims, d, { left: xl, grad: b.dxl, accumulate }),
    workgroups: N,
    // Per edge and column: perm, dst, three scratch words and dagg[dst] (and dedge written). Then dxl (read too with
    // accumulate), xl and the partials.
    cost: {
      bytes: 4 * (N + 1 + (edge ? 7 : 6) * E * HC + (accumulate ? 2 : 1) * N * HC + 3 * N * HC),
      flops: 5 * E * HC,
    },
  });
  columnSum(gpu, scratch.view(0, [N, HC]).bitcast('f32'), { out: b.datt });
  scratch.dispose();
}

/** gatAttendBackward's grads (das and dad made) and dims; edge and dedge both or neither (checked by the caller). */
type GatBackward = GatAttendGrads & { dims: AttendDims; das: Tensor; dad: Tensor };

/**
 * gatAttendBackward, arguments already checked: the step into the scratch's header word, then the destination
 * pass (dad and the per-edge (g, alpha * drop); it reads the edge term) and the source pass (dx, das, dedge = g).
 */
export function gatAttendBackwardRows(
  gpu: Gpu,
  g: GraphTensors,
  as: Tensor,
  ad: Tensor,
  x: NodeMatrix,
  alpha: Tensor,
  dagg: Tensor,
  b: GatBackward,
): void {
  const { N, E, H, HC } = attendSizes(g, b.dims);
  const { scratch, d } = scratchWithStep(gpu, 1 + 2 * E * H, 0, b.dropout);
  const edge = !!b.edge;
  gpu.dispatch(backwardKernel(gpu, 'gat_attend_dst_rows', edge), {
    bindings: {
      row_ptr: g.rowPtr,
      src: g.src,
      left: x.t,
      score_src: as,
      score_dst: ad,
      alpha,
      dagg,
      scratch,
      out: b.dad,
      edge: b.edge ?? alpha,
    },
    uniforms: backwardUniforms(g, b.dims, d, { left: x }),
    workgroups: N,
    // Per edge and head: src, x[src] and dagg[i] (C), a_src[src], alpha twice, two scratch words written, read and
    // rewritten. Then dad.
    cost: {
      bytes: 4 * (N + 1 + E * H + 2 * E * HC + N * H + 2 * E * H + 6 * E * H + N * H + (edge ? E * H : 0)),
      flops: 2 * E * HC + 8 * E * H,
    },
  });
  const accumulate = b.accumulateDx ?? false;
  gpu.dispatch(backwardKernel(gpu, 'gat_attend_src_rows', edge), {
    bindings: {
      col_ptr: g.colPtr,
      perm: g.perm,
      dst: g.dst,
      dagg,
      scratch,
      out: b.dx.t,
      out2: b.das,
      dedge: b.dedge ?? gpu.unread('f32'),
    },
    uniforms: backwardUniforms(g, b.dims, d, { grad: b.dx, accumulate }),
    workgroups: N,
    // Per edge and column: perm, dst, a scratch word and dagg[dst]; per edge and head g (and dedge written). Then dx
    // (read too with accumulate) and das.
    cost: {
      bytes: 4 * (N + 1 + 4 * E * HC + (edge ? 2 : 1) * E * H + (accumulate ? 2 : 1) * N * HC + N * H),
      flops: 3 * E * HC,
    },
  });
  scratch.dispose();
}
