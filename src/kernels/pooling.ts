// Graph readout over a batch of graphs (shaders/pooling.wgsl): PyG's global_add_pool, global_mean_pool and
// global_max_pool, and the softmax-weighted sum of AttentionalAggregation, each with its backward. A batch keeps
// each graph's nodes contiguous: `ptr` [B + 1] gives graph g the nodes ptr[g] .. ptr[g + 1] - 1, and `batch` [N]
// the graph of each node (PyG's `batch` vector). No atomics: every output element is one thread's ordered sum.
import code from '../../shaders/pooling.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { kernel, type Kernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { dispatchThreads, expectTensor, outputFor } from './check.ts';

/** How a batch's nodes split into graphs, on the GPU. */
export interface GraphSegments {
  numGraphs: number;
  numNodes: number;
  /** u32 [numGraphs + 1]: first node of each graph, then numNodes (non-decreasing). */
  ptr: Tensor;
  /** u32 [numNodes]: the graph of each node, consistent with ptr. */
  batch: Tensor;
}

export type PoolMode = 'add' | 'mean' | 'max';

const K = {
  sum: kernel({ name: 'pool.sum', code, entryPoint: 'segment_sum' }),
  mean: kernel({ name: 'pool.mean', code, entryPoint: 'segment_sum', overrides: { MEAN: true } }),
  max: kernel({ name: 'pool.max', code, entryPoint: 'segment_max' }),
  sumBackward: kernel({ name: 'pool.sum_backward', code, entryPoint: 'segment_sum_backward' }),
  meanBackward: kernel({
    name: 'pool.mean_backward',
    code,
    entryPoint: 'segment_sum_backward',
    overrides: { MEAN: true },
  }),
  maxBackward: kernel({ name: 'pool.max_backward', code, entryPoint: 'segment_max_backward' }),
  softmax: kernel({ name: 'pool.softmax', code, entryPoint: 'segment_softmax' }),
  weighted: kernel({ name: 'pool.weighted', code, entryPoint: 'weighted_pool' }),
  weightedBackward: kernel({ name: 'pool.weighted_backward', code, entryPoint: 'weighted_pool_backward' }),
  softmaxBackward: kernel({ name: 'pool.softmax_backward', code, entryPoint: 'segment_softmax_backward' }),
};

function expectSegments(op: string, s: GraphSegments): void {
  if (!Number.isInteger(s.numGraphs) || s.numGraphs < 0)
    throw new Error(`${op}: numGraphs must be a non-negative integer, got ${s.numGraphs}`);
  if (!Number.isInteger(s.numNodes) || s.numNodes < 0)
    throw new Error(`${op}: numNodes must be a non-negative integer, got ${s.numNodes}`);
  expectTensor(op, 'ptr', s.ptr, 'u32', [s.numGraphs + 1]);
  expectTensor(op, 'batch', s.batch, 'u32', [s.numNodes]);
}

function expectMode(op: string, mode: PoolMode): void {
  if (mode !== 'add' && mode !== 'mean' && mode !== 'max')
    throw new Error(`${op}: mode must be 'add', 'mean' or 'max', got '${String(mode)}'`);
}

/**
 * What globalPool and its backward check first: the mode, the segments, and `what`, f32 with `rows` rows; returns
 * its columns F, the graphs B and the nodes N.
 */
function expectPoolInputs(op: string, mode: PoolMode, seg: GraphSegments, what: string, t: Tensor, rows: number) {
  expectMode(op, mode);
  expectSegments(op, seg);
  expectTensor(op, what, t, 'f32', [rows, -1]);
  return { F: t.shape[1], B: seg.numGraphs, N: seg.numNodes };
}

function sizes(s: GraphSegments, width: number, gates = 1) {
  return { graphs: s.numGraphs, nodes: s.numNodes, width, gates };
}

function launch(
  gpu: Gpu,
  k: Kernel,
  threads: number,
  bindings: Record<string, Tensor>,
  uniforms: ReturnType<typeof sizes>,
  bytes: number,
  flops: number,
): void {
  if (threads === 0) return;
  dispatchThreads(gpu, k, bindings, uniforms, threads, { bytes, flops });
}

export interface PoolResult {
  /** f32 [numGraphs, F] */
  out: Tensor;
  /** 'max' only: u32 [numGraphs, F], the node that holds each maximum (0xffffffff for an empty graph). */
  argmax: Tensor | null;
}

/**
 * out[g, f] = sum ('add'), mean ('mean') or max ('max') over graph g's nodes n of x[n, f]. An empty graph gives 0.
 * 'max' takes the first maximum in node order and returns which node it is, for the backward.
 * x: f32 [numNodes, F]. Outputs may be given (checked) or are taken from the pool.
 */
export function globalPool(
  gpu: Gpu,
  x: Tensor,
  seg: GraphSegments,
  mode: PoolMode,
  opts: { out?: Tensor; argmax?: Tensor } = {},
): PoolResult {
  const op = 'globalPool';
  const { F, B, N } = expectPoolInputs(op, mode, seg, 'x', x, seg.numNodes);
  const out = outputFor(gpu, op, 'out', [B, F], opts.out);
  if (out.buffer === x.buffer) throw new Error(`${op}: out must not share a GPU buffer with x`);
  const bytes = 4 * (B + 1 + N * F + B * F);
  if (mode === 'max') {
    const argmax = outputFor(gpu, op, 'argmax', [B, F], opts.argmax, 'u32');
    launch(
      gpu,
      K.max,
      B * F,
      { graph_ptr: seg.ptr, x_in: x, out, arg_out: argmax },
      sizes(seg, F),
      bytes + 4 * B * F,
      N * F,
    );
    return { out, argmax };
  }
  launch(
    gpu,
    mode === 'mean' ? K.mean : K.sum,
    B * F,
    { graph_ptr: seg.ptr, x_in: x, out },
    sizes(seg, F),
    bytes,
    N * F,
  );
  return { out, argmax: null };
}

/**
 * Backward of globalPool: dx[n, f] = dout[g, f] ('add'), dout[g, f] / |g| ('mean'), or dout[g, f] where n holds
 * the maximum of column f of its graph g, else 0 ('max', given the forward's argmax). dout: f32 [numGraphs, F].
 */
export function globalPoolBackward(
  gpu: Gpu,
  dout: Tensor,
  seg: GraphSegments,
  mode: PoolMode,
  opts: { argmax?: Tensor | null; dx?: Tensor } = {},
): Tensor {
  const op = 'globalPoolBackward';
  const { F, B, N } = expectPoolInputs(op, mode, seg, 'dout', dout, seg.numGraphs);
  const dx = outputFor(gpu, op, 'dx', [N, F], opts.dx);
  if (dx.buffer === dout.buffer) throw new Error(`${op}: dx must not share a GPU buffer with dout`);
  const bytes = 4 * (N + N * F + N * F);
  if (mode === 'max') {
    if (!opts.argmax) throw new Error(`${op}: mode 'max' needs the forward's argmax`);
    expectTensor(op, 'argmax', opts.argmax, 'u32', [B, F]);
    launch(
      gpu,
      K.maxBackward,
      N * F,
      { graph_of: seg.batch, grad_in: dout, arg_in: opts.argmax, out: dx },
      sizes(seg, F),
      bytes + 4 * N * F,
      0,
    );
    return dx;
  }
  const mean = mode === 'mean';
  const bindings = { graph_ptr: seg.ptr, graph_of: seg.batch, grad_in: dout, out: dx };
  launch(
    gpu,
    mean ? K.meanBackward : K.sumBackward,
    N * F,
    bindings,
    sizes(seg, F),
    bytes + (mean ? 8 * N : 0),
    mean ? N * F : 0,
  );
  return dx;
}

/**
 * The pooling weights of AttentionalAggregation: beta[n, j] = softmax over graph g's nodes of gate[n, j], for each
 * gate column j. gate: f32 [numNodes, G].
 */
export function poolSoftmax(gpu: Gpu, gate: Tensor, seg: GraphSegments, beta?: Tensor): Tensor {
  const op = 'poolSoftmax';
  expectSegments(op, seg);
  expectTensor(op, 'gate', gate, 'f32', [seg.numNodes, -1]);
  const G = gate.shape[1];
  const out = outputFor(gpu, op, 'beta', [seg.numNodes, G], beta);
  if (out.buffer === gate.buffer) throw new Error(`${op}: beta must not share a GPU buffer with gate`);
  launch(
    gpu,
    K.softmax,
    seg.numGraphs * G,
    { graph_ptr: seg.ptr, x_in: gate, out },
    sizes(seg, G, G),
    4 * (seg.numGraphs + 1 + 4 * seg.numNodes * G),
    5 * seg.numNodes * G,
  );
  return out;
}

/**
 * out[g, f] = sum over graph g's nodes n of beta[n, f % G] * x[n, f]: the weighted sum of AttentionalAggregation
 * (G = 1: one weight per node; G = F: one per node and column). x: f32 [numNodes, F], beta: f32 [numNodes, G].
 */
export function weightedPool(gpu: Gpu, x: Tensor, beta: Tensor, seg: GraphSegments, out?: Tensor): Tensor {
  const op = 'weightedPool';
  expectSegments(op, seg);
  expectTensor(op, 'x', x, 'f32', [seg.numNodes, -1]);
  const F = x.shape[1];
  expectTensor(op, 'beta', beta, 'f32', [seg.numNodes, -1]);
  const G = beta.shape[1];
  if (G !== 1 && G !== F)
    throw new Error(`${op}: beta must have 1 or ${F} columns (one weight per node, or per node and feature), got ${G}`);
  const result = outputFor(gpu, op, 'out', [seg.numGraphs, F], out);
  if (result.buffer === x.buffer || result.buffer === beta.buffer)
    throw new Error(`${op}: out must not share a GPU buffer with x or beta`);
  const N = seg.numNodes;
  launch(
    gpu,
    K.weighted,
    seg.numGraphs * F,
    { graph_ptr: seg.ptr, x_in: x, beta, out: result },
    sizes(seg, F, G),
    4 * (seg.numGraphs + 1 + 2 * N * F + seg.numGraphs * F),
    2 * N * F,
  );
  return result;
}

/**
 * Backward of poolSoftmax followed by weightedPool, given dout = d out [numGraphs, F]:
 *   dx[n, f]    = beta[n, f % G] * dout[g, f]
 *   dbeta[n, j] = sum_{f % G == j} dout[g, f] * x[n, f]
 *   dgate[n, j] = beta[n, j] * (dbeta[n, j] - sum_{n' in g} beta[n', j] * dbeta[n', j])
 */
export function attentionPoolBackward(
  gpu: Gpu,
  x: Tensor,
  beta: Tensor,
  dout: Tensor,
  seg: GraphSegments,
  opts: { dx?: Tensor; dgate?: Tensor } = {},
): { dx: Tensor; dgate: Tensor } {
  const op = 'attentionPoolBackward';
  expectSegments(op, seg);
  expectTensor(op, 'x', x, 'f32', [seg.numNodes, -1]);
  const F = x.shape[1],
    N = seg.numNodes,
    B = seg.numGraphs;
  expectTensor(op, 'beta', beta, 'f32', [N, -1]);
  const G = beta.shape[1];
  if (G !== 1 && G !== F) throw new Error(`${op}: beta must have 1 or ${F} columns, got ${G}`);
  expectTensor(op, 'dout', dout, 'f32', [B, F]);
  const dx = outputFor(gpu, op, 'dx', [N, F], opts.dx);
  const dgate = outputFor(gpu, op, 'dgate', [N, G], opts.dgate);
  for (const [name, t] of [
    ['dx', dx],
    ['dgate', dgate],
  ] as const) {
    if ([x, beta, dout].some((input) => input.buffer === t.buffer))
      throw new Error(`${op}: ${name} must not share a GPU buffer with x, beta or dout`);
  }
  if (dx.buffer === dgate.buffer) throw new Error(`${op}: dx and dgate must be separate GPU buffers`);
  const u = sizes(seg, F, G);
  launch(
    gpu,
    K.weightedBackward,
    N * G,
    { graph_of: seg.batch, x_in: x, grad_in: dout, beta, out: dx, grad_gate: dgate },
    u,
    4 * (N + N * G + 3 * N * F + N * G),
    2 * N * F,
  );
  launch(
    gpu,
    K.softmaxBackward,
    B * G,
    { graph_ptr: seg.ptr, beta, grad_gate: dgate },
    u,
    4 * (B + 1 + 4 * N * G),
    4 * N * G,
  );
  return { dx, dgate };
}
