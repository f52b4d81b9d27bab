// Attention-weighted aggregation (shaders/aggregate.wgsl): out[i] = sum over i's incoming edges of
// alpha * dropout * x[src], per head, and its backward.
import code from '../../shaders/aggregate.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { f32 } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { GraphTensors } from '../graph.ts';
import { expectDropout, expectTensor } from './check.ts';
import { chunkThreads, expectGraph, expectNodeMatrix, expectNoAlias, expectPositiveInt, launch, outputFor, SlotKernels, type NodeMatrix } from './attention.ts';

/** Dropout on the attention coefficients: mask index k*H + h, multiplier dropout_scale from common.wgsl. */
export interface EdgeDropout {
  p: number;
  seed: number;
  /** u32 [1]: the training step. */
  step: Tensor;
}

type Slot = 'rowPtr' | 'colPtr' | 'perm' | 'src' | 'dst' | 'alpha' | 'x' | 'dout' | 'out' | 'uniforms' | 'step';
const family = new SlotKernels<Slot>(code, 'aggregate', ['rowPtr', 'colPtr', 'perm', 'src', 'dst', 'alpha', 'x', 'dout', 'out', 'uniforms', 'step']);
/** Each entry point in two pipelines: without dropout (`plain`) and with it (the DROPOUT override). */
function variants(entryPoint: string, reads: Slot[], writes: Slot[]) {
  return { plain: family.entry(entryPoint, reads, writes), dropout: family.entry(entryPoint, reads, writes, { DROPOUT: true }) };
}
const K = {
  forward: variants('aggregate_forward', ['rowPtr', 'src', 'alpha', 'x', 'step'], ['out']),
  dalpha: variants('aggregate_dalpha', ['rowPtr', 'src', 'x', 'dout', 'step'], ['out']),
  dx: variants('aggregate_dx', ['colPtr', 'perm', 'dst', 'alpha', 'dout', 'step'], ['out']),
};
const pick = <T>(v: { plain: T; dropout: T }, d?: EdgeDropout) => (d && d.p > 0 ? v.dropout : v.plain);

interface Dims {
  heads: number;
  channels: number;
}

/** Uniform block of aggregate.wgsl. */
function params(g: GraphTensors, dims: Dims, x: NodeMatrix | null, dx: NodeMatrix | null, accumulate: boolean, dropout?: EdgeDropout): number[] {
  return [g.numNodes, g.numEdges, dims.heads, dims.channels, x?.stride ?? 0, x?.offset ?? 0, dx?.stride ?? 0, dx?.offset ?? 0,
    accumulate ? 1 : 0, f32(dropout?.p ?? 0), (dropout?.seed ?? 0) >>> 0];
}

/** Without dropout the kernels still bind a step buffer (WGSL counts it as used); the plain pipelines never read it. */
export const stepOf = (g: GraphTensors, d?: EdgeDropout) => d?.step ?? g.rowPtr;

function expectCommon(op: string, g: GraphTensors, alpha: Tensor, x: NodeMatrix, dims: Dims): void {
  expectPositiveInt(op, 'heads', dims.heads);
  expectPositiveInt(op, 'channels', dims.channels);
  expectGraph(op, g);
  expectTensor(op, 'alpha', alpha, 'f32', [g.numEdges, dims.heads]);
  expectNodeMatrix(op, 'x', x, g.numNodes, dims.heads * dims.channels);
}

/** out[i,h,c] = sum_{k into i} alpha[k,h] * drop(k,h) * x[src_k,h,c]; out is [N, H*C] contiguous. Nodes with no incoming edge get 0. */
export function aggregate(gpu: Gpu, g: GraphTensors, alpha: Tensor, x: NodeMatrix, dims: Dims, opts: { dropout?: EdgeDropout; out?: Tensor } = {}): Tensor {
  const op = 'aggregate';
  expectCommon(op, g, alpha, x, dims);
  expectDropout(op, opts.dropout);
  const N = g.numNodes, E = g.numEdges, HC = dims.heads * dims.channels;
  const out = outputFor(gpu, op, 'out', [N, HC], opts.out);
  expectNoAlias(op, ['out', out], { alpha, x: x.t });
  launch(gpu, pick(K.forward, opts.dropout), { rowPtr: g.rowPtr, src: g.src, alpha, x: x.t, out, step: stepOf(g, opts.dropout) }, params(g, dims, x, null, false, opts.dropout), chunkThreads(N, dims.heads, dims.channels),
    { bytes: 4 * (N + 1 + E + E * dims.heads + E * HC + N * HC), flops: 3 * E * HC });
  return out;
}

/**
 * dalpha[k,h] = drop(k,h) * sum_c dout[dst_k,h,c] * x[src_k,h,c]  (gradient w.r.t. the alpha BEFORE dropout);
 * dx[j,h,c] (+)= sum_{k: src_k=j} alpha[k,h] * drop(k,h) * dout[dst_k,h,c]  (CSC permutation).
 */
export function aggregateBackward(gpu: Gpu, g: GraphTensors, alpha: Tensor, x: NodeMatrix, dout: Tensor, dims: Dims, grads: { dalpha?: Tensor; dx: NodeMatrix; accumulateDx?: boolean; dropout?: EdgeDropout }): { dalpha: Tensor } {
  const op = 'aggregateBackward';
  expectCommon(op, g, alpha, x, dims);
  const N = g.numNodes, E = g.numEdges, H = dims.heads, HC = H * dims.channels;
  expectTensor(op, 'dout', dout, 'f32', [N, HC]);
  expectNodeMatrix(op, 'dx', grads.dx, N, HC);
  expectDropout(op, grads.dropout);
  const dalpha = outputFor(gpu, op, 'dalpha', [E, H], grads.dalpha);
  expectNoAlias(op, ['dalpha', dalpha], { alpha, x: x.t, dout });
  expectNoAlias(op, ['dx', grads.dx.t], { alpha, x: x.t, dout, dalpha });
  const step = stepOf(g, grads.dropout);
  const accumulate = grads.accumulateDx ?? false;
  launch(gpu, pick(K.dalpha, grads.dropout), { rowPtr: g.rowPtr, src: g.src, x: x.t, dout, out: dalpha, step }, params(g, dims, x, null, false, grads.dropout), N * H,
    { bytes: 4 * (N + 1 + E + E * HC + N * HC + E * H), flops: 2 * E * HC });
  launch(gpu, pick(K.dx, grads.dropout), { colPtr: g.colPtr, perm: g.perm, dst: g.dst, alpha, dout, out: grads.dx.t, step }, params(g, dims, null, grads.dx, accumulate, grads.dropout), chunkThreads(N, dims.heads, dims.channels),
    { bytes: 4 * (N + 1 + 2 * E + E * H + E * HC + (accumulate ? 2 : 1) * N * HC), flops: 3 * E * HC });
  return { dalpha };
}
