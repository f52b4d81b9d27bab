// What the attention kernel modules share (edge-scores.ts, fused-attention.ts, fused-attention-gpu.ts): the argument
// types of the fused attention, the checks of GATv2's and GAT's inputs and of a backward's edge tensors, and the
// fields their uniform blocks have in common.
import type { Tensor } from '../gpu/tensor.ts';
import type { GraphTensors } from '../graph.ts';
import {
  expectDims,
  expectGraph,
  expectNodeMatrix,
  expectNoAlias,
  expectSize,
  expectTensor,
  type EdgeDropout,
  type NodeMatrix,
} from './check.ts';

// ---- the arguments of gatv2Attend, gatAttend and their backwards (fused-attention.ts) ----

export interface AttendDims {
  heads: number;
  channels: number;
  /** LeakyReLU negative slope of the scores. */
  slope: number;
}

export interface AttendOptions {
  /** Dropout on alpha after the softmax (mask index k*H + h, as aggregate()). */
  dropout?: EdgeDropout;
  /** f32 [H*C], added to every row of out. */
  bias?: Tensor;
  /**
   * Output: alpha [E, H], the coefficients before dropout (what the backward and attention() need). Pooled when
   * absent.
   */
  alpha?: Tensor;
  /** Output: [N, H*C] contiguous. Pooled when absent. */
  out?: Tensor;
  /**
   * The edge term, in the graph's CSR order: f32 [E, H*C] for gatv2Attend (added inside the LeakyReLU), [E, H] for
   * gatAttend (added to the score before it). Absent: no edge term.
   */
  edge?: Tensor;
}

export interface Gatv2AttendGrads {
  dropout?: EdgeDropout;
  /** d xl; written (or added to, with accumulateDxl) by the source-side kernel. May share a buffer with dxr. */
  dxl: NodeMatrix;
  /** d xr, written. With shared weights (xl and xr one view) pass a separate buffer and add it to dxl yourself. */
  dxr: NodeMatrix;
  /** d att [H*C], written. */
  datt: Tensor;
  accumulateDxl?: boolean;
  /** The forward's edge term [E, H*C] (CSR order), when it had one; then dedge is required. */
  edge?: Tensor;
  /** d edge [E, H*C], written: de[k,h] * att[h,c] * lrelu'(z). */
  dedge?: Tensor;
}

export interface GatAttendGrads {
  dropout?: EdgeDropout;
  /** d x from the aggregation; written (or added to, with accumulateDx). */
  dx: NodeMatrix;
  accumulateDx?: boolean;
  /** Outputs d as, d ad [N, H]; pooled when absent. */
  das?: Tensor;
  dad?: Tensor;
  /** The forward's edge term [E, H] (CSR order), when it had one; then dedge is required. */
  edge?: Tensor;
  /** d edge [E, H], written: de[k,h] * lrelu'(s_k). */
  dedge?: Tensor;
}

/** Sizes of an attention call: N nodes, E edges, H heads, HC = H * C columns of a node matrix. */
export interface AttendSizes {
  N: number;
  E: number;
  H: number;
  HC: number;
}

/** The sizes of a call on `g` (HC = H without channels). */
export function attendSizes(g: GraphTensors, dims: { heads: number; channels?: number }): AttendSizes {
  return { N: g.numNodes, E: g.numEdges, H: dims.heads, HC: dims.heads * (dims.channels ?? 1) };
}

/**
 * GATv2's inputs: positive heads and channels (and a finite slope, when given), the graph, xl and xr views of
 * [N, H*C] and att f32 [H*C]; returns the sizes.
 */
export function expectGatv2Inputs(
  op: string,
  g: GraphTensors,
  dims: { heads: number; channels: number; slope?: number },
  xl: NodeMatrix,
  xr: NodeMatrix,
  att: Tensor,
): AttendSizes {
  expectDims(op, dims);
  expectGraph(op, g);
  const s = attendSizes(g, dims);
  expectNodeMatrix(op, 'xl', xl, s.N, s.HC);
  expectNodeMatrix(op, 'xr', xr, s.N, s.HC);
  expectSize(op, 'att', att, 'f32', s.HC);
  return s;
}

/**
 * GAT's inputs: positive heads (and channels, a finite slope, when given), the graph, the node scores as and ad
 * f32 [N, H] and, when given, the x view of [N, H*C]; returns the sizes (HC = H without channels).
 */
export function expectGatInputs(
  op: string,
  g: GraphTensors,
  dims: { heads: number; channels?: number; slope?: number },
  as: Tensor,
  ad: Tensor,
  x?: NodeMatrix,
): AttendSizes {
  expectDims(op, dims);
  expectGraph(op, g);
  const s = attendSizes(g, dims);
  expectTensor(op, 'as', as, 'f32', [s.N, s.H]);
  expectTensor(op, 'ad', ad, 'f32', [s.N, s.H]);
  if (x) expectNodeMatrix(op, 'x', x, s.N, s.HC);
  return s;
}

/** A backward's edge tensors: both or neither; edge [E, width] as the forward took it, dedge [E, width] written. */
export function expectEdgeGrads(
  op: string,
  grads: { edge?: Tensor; dedge?: Tensor },
  E: number,
  width: number,
): { edge: Tensor; dedge: Tensor } | null {
  if (!grads.edge && !grads.dedge) return null;
  if (!grads.edge) throw new Error(`${op}: dedge was given without edge; pass the forward's edge term too`);
  if (!grads.dedge) throw new Error(`${op}: edge was given without dedge; pass an f32 [${E}, ${width}] output for it`);
  expectTensor(op, 'edge', grads.edge, 'f32', [E, width]);
  expectTensor(op, 'dedge', grads.dedge, 'f32', [E, width]);
  expectNoAlias(op, ['dedge', grads.dedge], { edge: grads.edge });
  return { edge: grads.edge, dedge: grads.dedge };
}

/** The views an attention uniform block describes: left (xl or x), right (xr), the gradient output. */
export interface AttentionViews {
  left?: NodeMatrix;
  right?: NodeMatrix;
  grad?: NodeMatrix;
  /** Add into the gradient output instead of overwriting it. */
  accumulate?: boolean;
}

/**
 * The fields edge-scores.wgsl, fused-attention.wgsl and fused-attention-gpu-backward.wgsl share: sizes, slope, the
 * strides and offsets of the views (0 for a view the call has not) and the accumulate flag.
 */
export function attentionUniforms(
  nodes: number,
  edges: number,
  dims: { heads: number; channels: number; slope: number },
  v: AttentionViews,
) {
  return {
    nodes,
    edges,
    heads: dims.heads,
    channels: dims.channels,
    slope: dims.slope,
    l_stride: v.left?.stride ?? 0,
    l_offset: v.left?.offset ?? 0,
    r_stride: v.right?.stride ?? 0,
    r_offset: v.right?.offset ?? 0,
    g_stride: v.grad?.stride ?? 0,
    g_offset: v.grad?.offset ?? 0,
    accumulate: v.accumulate ?? false,
  };
}
