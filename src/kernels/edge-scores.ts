// Attention scores on edges (shaders/edge-scores.wgsl), the separate kernels the fused attention replaces where a
// device cannot bind enough buffers: GATv2's e = att . LeakyReLU(xl[src] + xr[dst]) and GAT's per-node head dots
// and e = LeakyReLU(as[src] + ad[dst]), each with its backward; optionally with an edge term (edge features) in
// the graph's CSR order: [E, H*C] inside GATv2's LeakyReLU, [E, H] added to GAT's score.
import chunkAttention from '../../shaders/chunk-attention.wgsl';
import chunkOut from '../../shaders/chunk-out.wgsl';
import code from '../../shaders/edge-scores.wgsl';
import inEdges from '../../shaders/in-edges.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { kernel, type Kernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { GraphTensors } from '../graph.ts';
import {
  type AttentionViews,
  attendSizes,
  attentionUniforms,
  expectEdgeGrads,
  expectGatInputs,
  expectGatv2Inputs,
} from './attention-args.ts';
import {
  chunkThreads,
  dispatchThreads,
  expectDims,
  expectNodeMatrix,
  expectNoAlias,
  expectSize,
  expectTensor,
  type NodeMatrix,
  outputFor,
} from './check.ts';
import { columnSum } from './reduce.ts';

/** One entry point; `edge`: its pipeline with the edge term (EDGE). */
const entry = (entryPoint: string, edge = false) =>
  kernel({
    name: `edge_scores.${entryPoint}${edge ? '+edge' : ''}`,
    code,
    preludes: [chunkOut, chunkAttention, inEdges],
    entryPoint,
    overrides: edge ? { EDGE: true } : {},
  });
const K = {
  gatv2Score: entry('gatv2_score'),
  gatv2ScoreEdge: entry('gatv2_score', true),
  gatv2Dxr: entry('gatv2_score_dxr'),
  gatv2Dxl: entry('gatv2_score_dxl'),
  gatv2DzEdge: entry('gatv2_score_dz_edge'),
  gatv2DxlEdge: entry('gatv2_score_dxl_edge'),
  scaleByAtt: entry('scale_by_att'),
  weightedColumnSum: entry('weighted_column_sum'),
  headDot: entry('head_dot'),
  headDotDx: entry('head_dot_dx'),
  gatScore: entry('gat_score'),
  gatScoreEdge: entry('gat_score', true),
  gatDad: entry('gat_score_dad'),
  gatDadEdge: entry('gat_score_dad', true),
  gatDas: entry('gat_score_das'),
  gatDasEdge: entry('gat_score_das', true),
};

type Bindings = Partial<
  Record<
    'row_ptr' | 'col_ptr' | 'perm' | 'src' | 'dst' | 'left' | 'right' | 'att' | 'grad_in' | 'out2' | 'edge' | 'edge_io',
    Tensor
  >
> & {
  out: Tensor;
};

/** Kernels that name the edge bindings get an unread buffer there when the call has none. */
function run(
  gpu: Gpu,
  k: Kernel,
  bindings: Bindings,
  uniforms: ReturnType<typeof params>,
  threads: number,
  cost: { bytes: number; flops: number },
): void {
  const unread: Partial<Record<'edge' | 'edge_io', Tensor>> = {};
  for (const b of k.iface.storage) {
    if ((b.name === 'edge' || b.name === 'edge_io') && !bindings[b.name]) unread[b.name] = gpu.unread('f32');
  }
  dispatchThreads(gpu, k, { ...bindings, ...unread }, uniforms, threads, cost);
}

/** The optional edge term of a forward: f32 [E, width], not aliasing the output. */
function expectEdge(op: string, edge: Tensor | undefined, E: number, width: number): void {
  if (edge) expectTensor(op, 'edge', edge, 'f32', [E, width]);
}

interface Views extends AttentionViews {
  /** Column sums: rows per block. */
  blockRows?: number;
}

/** Uniform block of edge-scores.wgsl. */
function params(nodes: number, edges: number, heads: number, channels: number, slope: number, v: Views = {}) {
  return { ...attentionUniforms(nodes, edges, { heads, channels, slope }, v), block_rows: v.blockRows ?? 1 };
}

/**
 * datt[h, c] = sum_n w[n, h] * m[n, h*C + c], deterministically and without atomics: weighted sums over blocks of
 * ~sqrt(rows) rows here, then reduce.ts's columnSum over the blocks.
 */
function weightedColumnSums(
  gpu: Gpu,
  m: NodeMatrix,
  weights: Tensor,
  rows: number,
  heads: number,
  channels: number,
  out: Tensor,
): void {
  const cols = heads * channels;
  const blockRows = Math.max(1, Math.ceil(Math.sqrt(rows)));
  const blocks = Math.max(1, Math.ceil(rows / blockRows));
  const partial = gpu.empty('f32', [blocks, cols]);
  run(
    gpu,
    K.weightedColumnSum,
    { left: m.t, grad_in: weights, out: partial },
    params(rows, 0, heads, channels, 0, { left: m, blockRows }),
    blocks * cols,
    { bytes: 4 * (rows * cols + rows * heads + blocks * cols), flops: 2 * rows * cols },
  );
  columnSum(gpu, partial, { out });
  partial.dispose();
}

interface ScoreDims {
  heads: number;
  channels: number;
  slope: number;
}

/**
 * GATv2: e[k,h] = sum_c att[h,c] * LeakyReLU(xl[src_k,h,c] + xr[dst_k,h,c] (+ edge[k,h*C+c])). att is f32 [H*C];
 * opts.edge, the edge term, f32 [E, H*C] in CSR order.
 */
export function gatv2Score(
  gpu: Gpu,
  g: GraphTensors,
  xl: NodeMatrix,
  xr: NodeMatrix,
  att: Tensor,
  dims: ScoreDims,
  out?: Tensor,
  opts: { edge?: Tensor } = {},
): Tensor {
  const op = 'gatv2Score';
  const { heads: H, channels: C, slope } = dims;
  const { N, E } = expectGatv2Inputs(op, g, dims, xl, xr, att);
  expectEdge(op, opts.edge, E, H * C);
  out = outputFor(gpu, op, 'out', [E, H], out);
  expectNoAlias(op, ['out', out], { xl: xl.t, xr: xr.t, att, ...(opts.edge ? { edge: opts.edge } : {}) });
  const edge = opts.edge;
  run(
    gpu,
    edge ? K.gatv2ScoreEdge : K.gatv2Score,
    { row_ptr: g.rowPtr, src: g.src, left: xl.t, right: xr.t, att, out, ...(edge ? { edge } : {}) },
    params(N, E, H, C, slope, { left: xl, right: xr }),
    N * H,
    { bytes: 4 * (N + 1 + E + (edge ? 2 : 1) * E * H * C + N * H * C + E * H), flops: 4 * E * H * C },
  );
  return out;
}

/**
 * Backward of gatv2Score given de [E,H]: z = xl[src]+xr[dst] (+ edge);
 *  dxl[j,h,c] (+)= sum_{k: src_k = j} de[k,h] * att[h,c] * lrelu'(z)   (via the CSC permutation)
 *  dxr[i,h,c]  = sum_{k: dst_k = i} de[k,h] * att[h,c] * lrelu'(z)   (CSR segment)
 *  datt[h,c]   = sum_k de[k,h] * lrelu(z)   (per-destination partials, then a deterministic column sum)
 *  dedge[k,h*C+c] = de[k,h] * att[h,c] * lrelu'(z)   (with grads.edge, the forward's edge term; dedge then required)
 * accumulateDxl: add into dxl instead of overwriting it (the aggregation backward writes dxl first).
 * With an edge term: dedge is filled with a copy of edge, a CSR pass leaves de * lrelu'(z) over it (and the sum per
 * destination), a CSC pass dxl and dedge, a third dxr.
 */
export function gatv2ScoreBackward(
  gpu: Gpu,
  g: GraphTensors,
  xl: NodeMatrix,
  xr: NodeMatrix,
  att: Tensor,
  de: Tensor,
  dims: ScoreDims,
  grads: { dxl: NodeMatrix; dxr: NodeMatrix; datt: Tensor; accumulateDxl?: boolean; edge?: Tensor; dedge?: Tensor },
): void {
  const op = 'gatv2ScoreBackward';
  const { heads: H, channels: C, slope } = dims;
  const { N, E, HC } = expectGatv2Inputs(op, g, dims, xl, xr, att);
  expectTensor(op, 'de', de, 'f32', [E, H]);
  expectNodeMatrix(op, 'dxl', grads.dxl, N, HC);
  expectNodeMatrix(op, 'dxr', grads.dxr, N, HC);
  expectSize(op, 'datt', grads.datt, 'f32', HC);
  const edge = expectEdgeGrads(op, grads, E, HC);
  const inputs = { xl: xl.t, xr: xr.t, att, de, ...(edge ? { edge: edge.edge } : {}) };
  expectNoAlias(op, ['dxl', grads.dxl.t], inputs);
  expectNoAlias(op, ['dxr', grads.dxr.t], inputs);
  expectNoAlias(op, ['datt', grads.datt], { ...inputs, dxl: grads.dxl.t, dxr: grads.dxr.t });
  if (edge) {
    expectNoAlias(op, ['dedge', edge.dedge], { ...inputs, dxl: grads.dxl.t, dxr: grads.dxr.t, datt: grads.datt });
    gatv2ScoreBackwardEdge(gpu, g, xl, xr, att, de, dims, { ...grads, ...edge });
    return;
  }

  const partials = gpu.empty('f32', [N, HC]);
  const edgeBytes = 4 * (N + 1 + E + E * H + E * HC); // segment pointers and one index per edge, de, gathered rows
  run(
    gpu,
    K.gatv2Dxr,
    { row_ptr: g.rowPtr, src: g.src, left: xl.t, right: xr.t, att, grad_in: de, out: grads.dxr.t, out2: partials },
    params(N, E, H, C, slope, { left: xl, right: xr, grad: grads.dxr }),
    chunkThreads(N, H, C),
    { bytes: edgeBytes + 4 * 3 * N * HC, flops: 5 * E * HC },
  );
  run(
    gpu,
    K.gatv2Dxl,
    { col_ptr: g.colPtr, perm: g.perm, dst: g.dst, left: xl.t, right: xr.t, att, grad_in: de, out: grads.dxl.t },
    params(N, E, H, C, slope, { left: xl, right: xr, grad: grads.dxl, accumulate: grads.accumulateDxl }),
    chunkThreads(N, H, C),
    { bytes: edgeBytes + 4 * E + 4 * (grads.accumulateDxl ? 3 : 2) * N * HC, flops: 3 * E * HC },
  );
  columnSum(gpu, partials, { out: grads.datt });
  partials.dispose();
}

/** gatv2ScoreBackward with an edge term, arguments checked: three passes and the column sum. */
function gatv2ScoreBackwardEdge(
  gpu: Gpu,
  g: GraphTensors,
  xl: NodeMatrix,
  xr: NodeMatrix,
  att: Tensor,
  de: Tensor,
  dims: ScoreDims,
  grads: { dxl: NodeMatrix; dxr: NodeMatrix; datt: Tensor; accumulateDxl?: boolean; edge: Tensor; dedge: Tensor },
): void {
  const { heads: H, channels: C, slope } = dims;
  const { N, E, HC } = attendSizes(g, dims);
  const partials = gpu.empty('f32', [N, HC]);
  const dz = gpu.empty('f32', [N, HC]);
  gpu.copy(grads.edge, grads.dedge);
  run(
    gpu,
    K.gatv2DzEdge,
    {
      row_ptr: g.rowPtr,
      src: g.src,
      left: xl.t,
      right: xr.t,
      grad_in: de,
      out: dz,
      out2: partials,
      edge_io: grads.dedge,
    },
    params(N, E, H, C, slope, { left: xl, right: xr }),
    chunkThreads(N, H, C),
    { bytes: 4 * (N + 1 + E + E * H + 3 * E * HC + 3 * N * HC), flops: 6 * E * HC },
  );
  run(
    gpu,
    K.gatv2DxlEdge,
    { col_ptr: g.colPtr, perm: g.perm, att, edge_io: grads.dedge, out: grads.dxl.t },
    params(N, E, H, C, slope, { grad: grads.dxl, accumulate: grads.accumulateDxl }),
    chunkThreads(N, H, C),
    { bytes: 4 * (N + 1 + E + 2 * E * HC + (grads.accumulateDxl ? 2 : 1) * N * HC), flops: 2 * E * HC },
  );
  run(
    gpu,
    K.scaleByAtt,
    { att, grad_in: dz, out: grads.dxr.t },
    params(N, E, H, C, slope, { grad: grads.dxr }),
    chunkThreads(N, H, C),
    { bytes: 4 * 2 * N * HC, flops: N * HC },
  );
  columnSum(gpu, partials, { out: grads.datt });
  partials.dispose();
  dz.dispose();
}

/** GAT (GATConv): per-node head dot a[n,h] = sum_c x[n,h,c] * att[h,c]  (alpha_src / alpha_dst in PyG). */
export function headDot(
  gpu: Gpu,
  x: NodeMatrix,
  att: Tensor,
  rows: number,
  dims: { heads: number; channels: number },
  out?: Tensor,
): Tensor {
  const op = 'headDot';
  const { heads: H, channels: C } = dims;
  expectDims(op, dims);
  expectNodeMatrix(op, 'x', x, rows, H * C);
  expectSize(op, 'att', att, 'f32', H * C);
  out = outputFor(gpu, op, 'out', [rows, H], out);
  expectNoAlias(op, ['out', out], { x: x.t, att });
  run(gpu, K.headDot, { left: x.t, att, out }, params(rows, 0, H, C, 0, { left: x }), rows * H, {
    bytes: 4 * (rows * H * C + rows * H),
    flops: 2 * rows * H * C,
  });
  return out;
}

/** dx[n,h,c] (+)= da[n,h] * att[h,c];  datt[h,c] = sum_n da[n,h] * x[n,h,c] (deterministic reduction). */
export function headDotBackward(
  gpu: Gpu,
  x: NodeMatrix,
  att: Tensor,
  da: Tensor,
  rows: number,
  dims: { heads: number; channels: number },
  grads: { dx: NodeMatrix; datt: Tensor; accumulateDx?: boolean },
): void {
  const op = 'headDotBackward';
  const { heads: H, channels: C } = dims;
  expectDims(op, dims);
  expectNodeMatrix(op, 'x', x, rows, H * C);
  expectSize(op, 'att', att, 'f32', H * C);
  expectTensor(op, 'da', da, 'f32', [rows, H]);
  expectNodeMatrix(op, 'dx', grads.dx, rows, H * C);
  expectSize(op, 'datt', grads.datt, 'f32', H * C);
  expectNoAlias(op, ['dx', grads.dx.t], { x: x.t, att, da });
  expectNoAlias(op, ['datt', grads.datt], { x: x.t, da, dx: grads.dx.t });
  run(
    gpu,
    K.headDotDx,
    { att, grad_in: da, out: grads.dx.t },
    params(rows, 0, H, C, 0, { grad: grads.dx, accumulate: grads.accumulateDx }),
    chunkThreads(rows, H, C),
    { bytes: 4 * (rows * H + (grads.accumulateDx ? 2 : 1) * rows * H * C), flops: rows * H * C },
  );
  weightedColumnSums(gpu, x, da, rows, H, C, grads.datt);
}

/**
 * GAT: e[k,h] = LeakyReLU(as[src_k,h] + ad[dst_k,h] (+ edge[k,h])), as/ad [N,H]; opts.edge, the edge term, f32
 * [E, H] in CSR order (headDot of lin_edge(edge_attr) with att_edge).
 */
export function gatScore(
  gpu: Gpu,
  g: GraphTensors,
  as: Tensor,
  ad: Tensor,
  dims: { heads: number; slope: number },
  out?: Tensor,
  opts: { edge?: Tensor } = {},
): Tensor {
  const op = 'gatScore';
  const { heads: H, slope } = dims;
  const { N, E } = expectGatInputs(op, g, dims, as, ad);
  expectEdge(op, opts.edge, E, H);
  out = outputFor(gpu, op, 'out', [E, H], out);
  const edge = opts.edge;
  expectNoAlias(op, ['out', out], { as, ad, ...(edge ? { edge } : {}) });
  run(
    gpu,
    edge ? K.gatScoreEdge : K.gatScore,
    { row_ptr: g.rowPtr, src: g.src, left: as, right: ad, out, ...(edge ? { edge } : {}) },
    params(N, E, H, 1, slope),
    N * H,
    { bytes: 4 * (N + 1 + E + (edge ? 3 : 2) * E * H + N * H), flops: (edge ? 3 : 2) * E * H },
  );
  return out;
}

/**
 * das[j,h] = sum_{k: src_k=j} de[k,h]*lrelu'(s_k) (CSC);  dad[i,h] = sum_{k: dst_k=i} (same) (CSR), with
 * s_k = as[src_k,h] + ad[dst_k,h] (+ edge[k,h]). With grads.edge (the forward's edge term; dedge then required):
 * dedge[k,h] = de[k,h]*lrelu'(s_k), written over a copy of edge by the CSR pass, and das sums it.
 */
export function gatScoreBackward(
  gpu: Gpu,
  g: GraphTensors,
  as: Tensor,
  ad: Tensor,
  de: Tensor,
  dims: { heads: number; slope: number },
  grads: { das?: Tensor; dad?: Tensor; edge?: Tensor; dedge?: Tensor } = {},
): { das: Tensor; dad: Tensor } {
  const op = 'gatScoreBackward';
  const { heads: H, slope } = dims;
  const { N, E } = expectGatInputs(op, g, dims, as, ad);
  expectTensor(op, 'de', de, 'f32', [E, H]);
  const edge = expectEdgeGrads(op, grads, E, H);
  const das = outputFor(gpu, op, 'das', [N, H], grads.das);
  const dad = outputFor(gpu, op, 'dad', [N, H], grads.dad);
  const inputs = { as, ad, de, ...(edge ? { edge: edge.edge } : {}) };
  expectNoAlias(op, ['das', das], inputs);
  expectNoAlias(op, ['dad', dad], { ...inputs, das });
  if (edge) expectNoAlias(op, ['dedge', edge.dedge], { ...inputs, das, dad });
  const u = params(N, E, H, 1, slope);
  const values = 4 * (2 * E * H + 2 * N * H); // de and the gathered scores, the node's own score and its output
  const io = edge ? { edge_io: edge.dedge } : {};
  if (edge) gpu.copy(edge.edge, edge.dedge);
  run(
    gpu,
    edge ? K.gatDadEdge : K.gatDad,
    { row_ptr: g.rowPtr, src: g.src, left: as, right: ad, grad_in: de, out: dad, ...io },
    u,
    N * H,
    { bytes: values + 4 * (N + 1 + E + (edge ? 2 * E * H : 0)), flops: 3 * E * H },
  );
  run(
    gpu,
    edge ? K.gatDasEdge : K.gatDas,
    { col_ptr: g.colPtr, perm: g.perm, dst: g.dst, left: as, right: ad, grad_in: de, out: das, ...io },
    u,
    N * H,
    { bytes: values + 4 * (N + 1 + 2 * E), flops: 3 * E * H },
  );
  return { das, dad };
}
