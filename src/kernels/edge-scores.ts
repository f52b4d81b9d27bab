// Attention scores on edges (shaders/edge-scores.wgsl), the separate kernels the fused attention replaces where a
// device cannot bind enough buffers: GATv2's e = att . LeakyReLU(xl[src] + xr[dst]) and GAT's per-node head dots
// and e = LeakyReLU(as[src] + ad[dst]), each with its backward.
import chunkAttention from '../../shaders/chunk-attention.wgsl';
import chunkOut from '../../shaders/chunk-out.wgsl';
import code from '../../shaders/edge-scores.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { groups, kernel, type Kernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { GraphTensors } from '../graph.ts';
import {
  chunkThreads,
  expectDims,
  expectGraph,
  expectNodeMatrix,
  expectNoAlias,
  expectSize,
  expectTensor,
  type NodeMatrix,
  outputFor,
} from './check.ts';
import { columnSum } from './reduce.ts';

const entry = (entryPoint: string) =>
  kernel({ name: `edge_scores.${entryPoint}`, code, preludes: [chunkOut, chunkAttention], entryPoint });
const K = {
  gatv2Score: entry('gatv2_score'),
  gatv2Dxr: entry('gatv2_score_dxr'),
  gatv2Dxl: entry('gatv2_score_dxl'),
  weightedColumnSum: entry('weighted_column_sum'),
  headDot: entry('head_dot'),
  headDotDx: entry('head_dot_dx'),
  gatScore: entry('gat_score'),
  gatDad: entry('gat_score_dad'),
  gatDas: entry('gat_score_das'),
};

type Bindings = Partial<
  Record<'row_ptr' | 'col_ptr' | 'perm' | 'src' | 'dst' | 'left' | 'right' | 'att' | 'grad_in' | 'out2', Tensor>
> & {
  out: Tensor;
};

function run(
  gpu: Gpu,
  k: Kernel,
  bindings: Bindings,
  uniforms: ReturnType<typeof params>,
  threads: number,
  cost: { bytes: number; flops: number },
): void {
  gpu.dispatch(k, { bindings, uniforms, workgroups: groups(threads, k.workgroupSize), cost });
}

interface Views {
  left?: NodeMatrix;
  right?: NodeMatrix;
  grad?: NodeMatrix;
  accumulate?: boolean;
  /** Column sums: rows per block. */
  blockRows?: number;
}

/** Uniform block of edge-scores.wgsl. */
function params(nodes: number, edges: number, heads: number, channels: number, slope: number, v: Views = {}) {
  return {
    nodes,
    edges,
    heads,
    channels,
    slope,
    l_stride: v.left?.stride ?? 0,
    l_offset: v.left?.offset ?? 0,
    r_stride: v.right?.stride ?? 0,
    r_offset: v.right?.offset ?? 0,
    g_stride: v.grad?.stride ?? 0,
    g_offset: v.grad?.offset ?? 0,
    accumulate: v.accumulate ?? false,
    block_rows: v.blockRows ?? 1,
  };
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

/** GATv2: e[k,h] = sum_c att[h,c] * LeakyReLU(xl[src_k,h,c] + xr[dst_k,h,c]). att is f32 [H*C]. */
export function gatv2Score(
  gpu: Gpu,
  g: GraphTensors,
  xl: NodeMatrix,
  xr: NodeMatrix,
  att: Tensor,
  dims: ScoreDims,
  out?: Tensor,
): Tensor {
  const op = 'gatv2Score';
  const { heads: H, channels: C, slope } = dims;
  expectDims(op, dims);
  expectGraph(op, g);
  const N = g.numNodes,
    E = g.numEdges;
  expectNodeMatrix(op, 'xl', xl, N, H * C);
  expectNodeMatrix(op, 'xr', xr, N, H * C);
  expectSize(op, 'att', att, 'f32', H * C);
  out = outputFor(gpu, op, 'out', [E, H], out);
  expectNoAlias(op, ['out', out], { xl: xl.t, xr: xr.t, att });
  run(
    gpu,
    K.gatv2Score,
    { row_ptr: g.rowPtr, src: g.src, left: xl.t, right: xr.t, att, out },
    params(N, E, H, C, slope, { left: xl, right: xr }),
    N * H,
    { bytes: 4 * (N + 1 + E + E * H * C + N * H * C + E * H), flops: 4 * E * H * C },
  );
  return out;
}

/**
 * Backward of gatv2Score given de [E,H]: z = xl[src]+xr[dst];
 *  dxl[j,h,c] (+)= sum_{k: src_k = j} de[k,h] * att[h,c] * lrelu'(z)   (via the CSC permutation)
 *  dxr[i,h,c]  = sum_{k: dst_k = i} de[k,h] * att[h,c] * lrelu'(z)   (CSR segment)
 *  datt[h,c]   = sum_k de[k,h] * lrelu(z)   (per-destination partials, then a deterministic column sum)
 * accumulateDxl: add into dxl instead of overwriting it (the aggregation backward writes dxl first).
 */
export function gatv2ScoreBackward(
  gpu: Gpu,
  g: GraphTensors,
  xl: NodeMatrix,
  xr: NodeMatrix,
  att: Tensor,
  de: Tensor,
  dims: ScoreDims,
  grads: { dxl: NodeMatrix; dxr: NodeMatrix; datt: Tensor; accumulateDxl?: boolean },
): void {
  const op = 'gatv2ScoreBackward';
  const { heads: H, channels: C, slope } = dims;
  expectDims(op, dims);
  expectGraph(op, g);
  const N = g.numNodes,
    E = g.numEdges,
    HC = H * C;
  expectNodeMatrix(op, 'xl', xl, N, HC);
  expectNodeMatrix(op, 'xr', xr, N, HC);
  expectSize(op, 'att', att, 'f32', HC);
  expectTensor(op, 'de', de, 'f32', [E, H]);
  expectNodeMatrix(op, 'dxl', grads.dxl, N, HC);
  expectNodeMatrix(op, 'dxr', grads.dxr, N, HC);
  expectSize(op, 'datt', grads.datt, 'f32', HC);
  const inputs = { xl: xl.t, xr: xr.t, att, de };
  expectNoAlias(op, ['dxl', grads.dxl.t], inputs);
  expectNoAlias(op, ['dxr', grads.dxr.t], inputs);
  expectNoAlias(op, ['datt', grads.datt], { ...inputs, dxl: grads.dxl.t, dxr: grads.dxr.t });

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

/** GAT: e[k,h] = LeakyReLU(as[src_k,h] + ad[dst_k,h]), as/ad [N,H]. */
export function gatScore(
  gpu: Gpu,
  g: GraphTensors,
  as: Tensor,
  ad: Tensor,
  dims: { heads: number; slope: number },
  out?: Tensor,
): Tensor {
  const op = 'gatScore';
  const { heads: H, slope } = dims;
  expectDims(op, dims);
  expectGraph(op, g);
  const N = g.numNodes,
    E = g.numEdges;
  expectTensor(op, 'as', as, 'f32', [N, H]);
  expectTensor(op, 'ad', ad, 'f32', [N, H]);
  out = outputFor(gpu, op, 'out', [E, H], out);
  expectNoAlias(op, ['out', out], { as, ad });
  run(gpu, K.gatScore, { row_ptr: g.rowPtr, src: g.src, left: as, right: ad, out }, params(N, E, H, 1, slope), N * H, {
    bytes: 4 * (N + 1 + E + 2 * E * H + N * H),
    flops: 2 * E * H,
  });
  return out;
}

/** das[j,h] = sum_{k: src_k=j} de[k,h]*lrelu'(as[j,h]+ad[dst_k,h]) (CSC);  dad[i,h] = sum_{k: dst_k=i} (same) (CSR). */
export function gatScoreBackward(
  gpu: Gpu,
  g: GraphTensors,
  as: Tensor,
  ad: Tensor,
  de: Tensor,
  dims: { heads: number; slope: number },
  grads: { das?: Tensor; dad?: Tensor } = {},
): { das: Tensor; dad: Tensor } {
  const op = 'gatScoreBackward';
  const { heads: H, slope } = dims;
  expectDims(op, dims);
  expectGraph(op, g);
  const N = g.numNodes,
    E = g.numEdges;
  expectTensor(op, 'as', as, 'f32', [N, H]);
  expectTensor(op, 'ad', ad, 'f32', [N, H]);
  expectTensor(op, 'de', de, 'f32', [E, H]);
  const das = outputFor(gpu, op, 'das', [N, H], grads.das);
  const dad = outputFor(gpu, op, 'dad', [N, H], grads.dad);
  expectNoAlias(op, ['das', das], { as, ad, de });
  expectNoAlias(op, ['dad', dad], { as, ad, de, das });
  const u = params(N, E, H, 1, slope);
  const values = 4 * (2 * E * H + 2 * N * H); // de and the gathered scores, the node's own score and its output
  run(gpu, K.gatDad, { row_ptr: g.rowPtr, src: g.src, left: as, right: ad, grad_in: de, out: dad }, u, N * H, {
    bytes: values + 4 * (N + 1 + E),
    flops: 3 * E * H,
  });
  run(
    gpu,
    K.gatDas,
    { col_ptr: g.colPtr, perm: g.perm, dst: g.dst, left: as, right: ad, grad_in: de, out: das },
    u,
    N * H,
    { bytes: values + 4 * (N + 1 + 2 * E), flops: 3 * E * H },
  );
  return { das, dad };
}
