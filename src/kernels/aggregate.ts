// Attention-weighted aggregation (shaders/aggregate.wgsl): out[i] = sum over i's incoming edges of
// alpha * dropout * x[src], per head, and its backward.
import chunkOut from '../../shaders/chunk-out.wgsl';
import code from '../../shaders/aggregate.wgsl';
import edgeDropout from '../../shaders/edge-dropout.wgsl';
import inEdges from '../../shaders/in-edges.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { kernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { GraphTensors } from '../graph.ts';
import {
  activeDropout,
  chunkThreads,
  dispatchThreads,
  dropoutStep,
  dropoutUniforms,
  type EdgeDropout,
  expectDropout,
  expectGraph,
  expectNodeMatrix,
  expectNoAlias,
  expectPositiveInt,
  expectTensor,
  type NodeMatrix,
  outputFor,
} from './check.ts';

export type { EdgeDropout } from './check.ts';

/** Each entry point in two pipelines: without dropout (`plain`) and with it (the DROPOUT override). */
function variants(entryPoint: string) {
  const make = (dropout: boolean) =>
    kernel({
      name: `aggregate.${entryPoint}${dropout ? '+dropout' : ''}`,
      code,
      preludes: [chunkOut, inEdges, edgeDropout],
      entryPoint,
      overrides: dropout ? { DROPOUT: true } : undefined,
    });
  return { plain: make(false), dropout: make(true) };
}
const K = {
  forward: variants('aggregate_forward'),
  dalpha: variants('aggregate_dalpha'),
  dx: variants('aggregate_dx'),
};
const pick = <T>(v: { plain: T; dropout: T }, d?: EdgeDropout) => (activeDropout(d) ? v.dropout : v.plain);

interface Dims {
  heads: number;
  channels: number;
}

/** Uniform block of aggregate.wgsl. */
function params(
  g: GraphTensors,
  dims: Dims,
  x: NodeMatrix | null,
  dx: NodeMatrix | null,
  accumulate: boolean,
  dropout?: EdgeDropout,
) {
  return {
    nodes: g.numNodes,
    edges: g.numEdges,
    heads: dims.heads,
    channels: dims.channels,
    x_stride: x?.stride ?? 0,
    x_offset: x?.offset ?? 0,
    g_stride: dx?.stride ?? 0,
    g_offset: dx?.offset ?? 0,
    accumulate,
    ...dropoutUniforms(dropout),
  };
}

function expectCommon(op: string, g: GraphTensors, alpha: Tensor, x: NodeMatrix, dims: Dims): void {
  expectPositiveInt(op, 'heads', dims.heads);
  expectPositiveInt(op, 'channels', dims.channels);
  expectGraph(op, g);
  expectTensor(op, 'alpha', alpha, 'f32', [g.numEdges, dims.heads]);
  expectNodeMatrix(op, 'x', x, g.numNodes, dims.heads * dims.channels);
}

/**
 * out[i,h,c] = sum_{k into i} alpha[k,h] * drop(k,h) * x[src_k,h,c]; out is [N, H*C] contiguous. Nodes with no
 * incoming edge get 0.
 */
export function aggregate(
  gpu: Gpu,
  g: GraphTensors,
  alpha: Tensor,
  x: NodeMatrix,
  dims: Dims,
  opts: { dropout?: EdgeDropout; out?: Tensor } = {},
): Tensor {
  const op = 'aggregate';
  expectCommon(op, g, alpha, x, dims);
  expectDropout(op, opts.dropout);
  const N = g.numNodes,
    E = g.numEdges,
    HC = dims.heads * dims.channels;
  const out = outputFor(gpu, op, 'out', [N, HC], opts.out);
  expectNoAlias(op, ['out', out], { alpha, x: x.t });
  dispatchThreads(
    gpu,
    pick(K.forward, opts.dropout),
    { row_ptr: g.rowPtr, src: g.src, alpha, x_in: x.t, out, step: dropoutStep(gpu, opts.dropout) },
    params(g, dims, x, null, false, opts.dropout),
    chunkThreads(N, dims.heads, dims.channels),
    { bytes: 4 * (N + 1 + E + E * dims.heads + E * HC + N * HC), flops: 3 * E * HC },
  );
  return out;
}

/**
 * dalpha[k,h] = drop(k,h) * sum_c dout[dst_k,h,c] * x[src_k,h,c]  (gradient w.r.t. the alpha BEFORE dropout);
 * dx[j,h,c] (+)= sum_{k: src_k=j} alpha[k,h] * drop(k,h) * dout[dst_k,h,c]  (CSC permutation).
 */
export function aggregateBackward(
  gpu: Gpu,
  g: GraphTensors,
  alpha: Tensor,
  x: NodeMatrix,
  dout: Tensor,
  dims: Dims,
  grads: { dalpha?: Tensor; dx: NodeMatrix; accumulateDx?: boolean; dropout?: EdgeDropout },
): { dalpha: Tensor } {
  const op = 'aggregateBackward';
  expectCommon(op, g, alpha, x, dims);
  const N = g.numNodes,
    E = g.numEdges,
    H = dims.heads,
    HC = H * dims.channels;
  expectTensor(op, 'dout', dout, 'f32', [N, HC]);
  expectNodeMatrix(op, 'dx', grads.dx, N, HC);
  expectDropout(op, grads.dropout);
  const dalpha = outputFor(gpu, op, 'dalpha', [E, H], grads.dalpha);
  expectNoAlias(op, ['dalpha', dalpha], { alpha, x: x.t, dout });
  expectNoAlias(op, ['dx', grads.dx.t], { alpha, x: x.t, dout, dalpha });
  const step = dropoutStep(gpu, grads.dropout);
  const accumulate = grads.accumulateDx ?? false;
  dispatchThreads(
    gpu,
    pick(K.dalpha, grads.dropout),
    { row_ptr: g.rowPtr, src: g.src, x_in: x.t, dout, out: dalpha, step },
    params(g, dims, x, null, false, grads.dropout),
    N * H,
    { bytes: 4 * (N + 1 + E + E * HC + N * HC + E * H), flops: 2 * E * HC },
  );
  dispatchThreads(
    gpu,
    pick(K.dx, grads.dropout),
    { col_ptr: g.colPtr, perm: g.perm, dst: g.dst, alpha, dout, out: grads.dx.t, step },
    params(g, dims, null, grads.dx, accumulate, grads.dropout),
    chunkThreads(N, dims.heads, dims.channels),
    { bytes: 4 * (N + 1 + 2 * E + E * H + E * HC + (accumulate ? 2 : 1) * N * HC), flops: 3 * E * HC },
  );
  return { dalpha };
}
