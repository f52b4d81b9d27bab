// Fused attention (shaders/fused-attention-*.wgsl): for GATv2 and GAT, edge scores, the softmax over each
// destination's incoming edges, dropout on the coefficients and the weighted aggregation in one dispatch; the
// backward of that whole chain in two dispatches (plus a column sum for GATv2's att gradient). Same results as the
// separate chain
//   gatv2Score / gatScore (edge-scores.ts) -> segmentSoftmax -> aggregate
// and its backward, with the same dropout masks (dropout_scale(seed, step, k*H + h, p) on alpha after the softmax).
import chunkAttention from '../../shaders/chunk-attention.wgsl';
import chunkOut from '../../shaders/chunk-out.wgsl';
import edgeDropout from '../../shaders/edge-dropout.wgsl';
import fusedAttention from '../../shaders/fused-attention.wgsl';
import fusedAttentionParams from '../../shaders/fused-attention-params.wgsl';
import backwardDst from '../../shaders/fused-attention-backward-dst.wgsl';
import backwardSrc from '../../shaders/fused-attention-backward-src.wgsl';
import edgeTerm from '../../shaders/fused-attention-edge.wgsl';
import forward from '../../shaders/fused-attention-forward.wgsl';
import noEdgeTerm from '../../shaders/fused-attention-no-edge.wgsl';
import scratchLayout from '../../shaders/fused-attention-scratch.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { groups, kernel, type Kernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { GraphTensors } from '../graph.ts';
import {
  type AttendDims,
  type AttendOptions,
  type AttendSizes,
  type AttentionViews,
  attentionUniforms,
  expectEdgeGrads,
  expectGatInputs,
  expectGatv2Inputs,
  type GatAttendGrads,
  type Gatv2AttendGrads,
} from './attention-args.ts';
import {
  dropoutStep,
  dropoutUniforms,
  type EdgeDropout,
  expectDropout,
  expectNodeMatrix,
  expectNoAlias,
  expectSize,
  expectTensor,
  type NodeMatrix,
  outputFor,
} from './check.ts';
import {
  gatAttendBackwardRows,
  gatAttendRows,
  gatv2AttendBackwardRows,
  gatv2AttendRows,
} from './fused-attention-gpu.ts';
import { columnSum } from './reduce.ts';

/**
 * Threads per workgroup of the CPU-shaped passes. On SwiftShader 32 ran the Cora epoch in about 0.92 of the time of
 * 64 (docs/kernels.md); 16 gained nothing over 64.
 */
const WORKGROUP_SIZE = 32;

// Every pass's preludes, in order; the backward passes add the scratch layout.
const SHARED_PRELUDES = [chunkOut, chunkAttention, fusedAttentionParams, fusedAttention, edgeDropout];
const PASSES = {
  forward: { code: forward, preludes: SHARED_PRELUDES },
  backwardDst: { code: backwardDst, preludes: [...SHARED_PRELUDES, scratchLayout] },
  backwardSrc: { code: backwardSrc, preludes: [...SHARED_PRELUDES, scratchLayout] },
};

/**
 * Pipelines of one entry point, made on first use: without dropout and with it (DROPOUT, which hashes the masks),
 * for heads of at most 8 channels and for wider ones (WIDE: the narrow pipelines compile the code for further
 * channels out), for 1 or HEADS_PER_THREAD heads per thread, and without and with an edge term (the prelude
 * fused-attention-no-edge.wgsl or fused-attention-edge.wgsl: a WGSL module per variant, since a pipeline's
 * storage bindings are those its code names, whatever its override constants).
 * The source-side entry points (`source`) take one thread per block of 8 channels; gat_attend_src hashes no masks and
 * takes any C in one pipeline; gatv2_attend_src has DROPOUT pipelines (`sourceDropout`: alpha * drop is not stored in
 * its scratch, it takes drop(k, h) from a keep bit, or with WIDE hashes it again) and a WIDE pipeline (`wideSource`:
 * it gathers xr[dst] there instead of reading sign bits).
 */
function variants(
  pass: keyof typeof PASSES,
  entryPoint: string,
  opts: { source?: boolean; sourceDropout?: boolean; wideSource?: boolean } = {},
) {
  const made = new Map<string, Kernel>();
  const get = (dropout: boolean, wide: boolean, heads: number, edge = false): Kernel => {
    const key = `${dropout}|${wide}|${heads}|${edge}`;
    let k = made.get(key);
    if (!k) {
      const overrides: Record<string, number | boolean> = {};
      if (dropout) overrides.DROPOUT = true;
      if (wide) overrides.WIDE = true;
      if (heads > 1) overrides.HEADS_PER_THREAD = heads;
      const variant =
        `${dropout ? '+dropout' : ''}${wide ? '+wide' : ''}` +
        `${heads > 1 ? `+${heads}heads` : ''}${edge ? '+edge' : ''}`;
      const { code, preludes } = PASSES[pass];
      k = kernel({
        name: `fused_attention.${entryPoint}${variant}`,
        code,
        preludes: [...preludes, edge ? edgeTerm : noEdgeTerm],
        entryPoint,
        overrides,
        workgroupSize: WORKGROUP_SIZE,
      });
      made.set(key, k);
    }
    return k;
  };
  return {
    get,
    source: opts.source ?? false,
    sourceDropout: opts.sourceDropout ?? false,
    wideSource: opts.wideSource ?? false,
  };
}

/**
 * Heads per thread (HEADS_PER_THREAD) where H is a multiple of it and C <= 8, else 1: a thread's heads share the
 * per-edge index loads (src, or perm and dst), the loop control and the segment bounds (docs/kernels.md has the
 * measurements behind 2). The WIDE pipelines (C > 8) keep 1.
 */
const HEADS_PER_THREAD = 2;

const K = {
  gatv2: variants('forward', 'gatv2_attend'),
  gatv2Dst: variants('backwardDst', 'gatv2_attend_dst'),
  // 10 storage buffers, the most any of these binds: no step buffer, the dropout site comes through the scratch
  // (WIDE; see pair_word).
  gatv2Src: variants('backwardSrc', 'gatv2_attend_src', { source: true, sourceDropout: true, wideSource: true }),
  gat: variants('forward', 'gat_attend'),
  gatDst: variants('backwardDst', 'gat_attend_dst'),
  gatSrc: variants('backwardSrc', 'gat_attend_src', { source: true }),
};

/**
 * The pipeline and thread count for these dims: one thread per (node, heads per thread) on the destination side,
 * per (node, heads per thread, block of 8 channels) on the source side.
 */
function plan(
  v: ReturnType<typeof variants>,
  dims: { heads: number; channels: number },
  nodes: number,
  d?: EdgeDropout,
  edge = false,
): { k: Kernel; threads: number } {
  const H = dims.heads,
    C = dims.channels,
    wide = C > 8;
  const heads = !wide && H % HEADS_PER_THREAD === 0 ? HEADS_PER_THREAD : 1;
  const dropout = !!d && d.p > 0;
  const k = v.source
    ? v.get(v.sourceDropout && dropout, v.wideSource && wide, heads, edge)
    : v.get(dropout, wide, heads, edge);
  return { k, threads: nodes * (H / heads) * (v.source ? Math.ceil(C / 8) : 1) };
}

/** Storage buffers the widest fused kernel binds (read from the WGSL on first use). */
let maxStorageBindings = 0;

/**
 * Whether this device can run the fused kernels: they bind up to 10 storage buffers per shader stage, more than
 * WebGPU's default of 8 (the library asks for what the adapter offers; most GPUs offer 10 or more). Layers use the
 * separate score / softmax / aggregation kernels where it cannot.
 */
export function canFuseAttention(gpu: Gpu): boolean {
  maxStorageBindings ||= Math.max(
    ...Object.values(K).flatMap((v) => [false, true].map((edge) => v.get(false, false, 1, edge).iface.storage.length)),
  );
  return gpu.device.limits.maxStorageBuffersPerShaderStage >= maxStorageBindings;
}

export type { AttendDims, AttendOptions, GatAttendGrads, Gatv2AttendGrads } from './attention-args.ts';

interface Views extends AttentionViews {
  dropout?: EdgeDropout;
  bias?: boolean;
}

/** Uniform block of fused-attention.wgsl. */
function params(g: GraphTensors, dims: { heads: number; channels: number; slope: number }, v: Views = {}) {
  return {
    ...attentionUniforms(g.numNodes, g.numEdges, dims, v),
    ...dropoutUniforms(v.dropout),
    has_bias: v.bias ?? false,
  };
}

/**
 * The fused kernels bind up to 10 storage buffers, more than WebGPU's default limit of 8; the library raises the
 * limit to what the adapter offers. Say so clearly instead of failing at pipeline creation.
 */
function run(
  gpu: Gpu,
  op: string,
  { k, threads }: { k: Kernel; threads: number },
  bindings: Record<string, Tensor>,
  uniforms: ReturnType<typeof params>,
  cost: { bytes: number; flops: number },
): void {
  const limit = gpu.device.limits.maxStorageBuffersPerShaderStage;
  const count = k.iface.storage.length;
  if (count > limit) {
    throw new Error(
      `${op}: ${k.name} binds ${count} storage buffers, but this device allows ${limit} per shader stage; ` +
        'use the separate kernels',
    );
  }
  gpu.dispatch(k, { bindings, uniforms, workgroups: groups(threads, k.workgroupSize), cost });
}

/** Checks the forward's optional tensors and outputs; returns the outputs. */
function forwardOutputs(
  gpu: Gpu,
  op: string,
  g: GraphTensors,
  dims: AttendDims,
  opts: AttendOptions,
  inputs: Record<string, Tensor>,
  edgeWidth: number,
): { alpha: Tensor; out: Tensor } {
  const N = g.numNodes,
    E = g.numEdges,
    H = dims.heads,
    HC = H * dims.channels;
  expectDropout(op, opts.dropout);
  if (opts.bias) expectSize(op, 'bias', opts.bias, 'f32', HC);
  if (opts.edge) expectTensor(op, 'edge', opts.edge, 'f32', [E, edgeWidth]);
  const alpha = outputFor(gpu, op, 'alpha', [E, H], opts.alpha);
  const out = outputFor(gpu, op, 'out', [N, HC], opts.out);
  const all = {
    ...inputs,
    ...(opts.bias ? { bias: opts.bias } : {}),
    ...(opts.edge ? { edge: opts.edge } : {}),
    ...(opts.dropout ? { 'dropout step': opts.dropout.step } : {}),
  };
  expectNoAlias(op, ['alpha', alpha], all);
  expectNoAlias(op, ['out', out], { ...all, alpha });
  return { alpha, out };
}

// ---- GATv2 ----

/**
 * GATv2 attention for each destination i and head h, in one dispatch (one thread per destination i and one or two
 * heads, walking i's CSR segment):
 *   e[k,h]     = sum_c att[h,c] * LeakyReLU(xl[src_k,h,c] + xr[i,h,c] (+ edge[k,h*C+c]))
 *   alpha[k,h] = exp(e[k,h] - m) / sum_{k' -> i} exp(e[k',h] - m),  m = max_{k' -> i} e[k',h]
 *                (written, before dropout)
 *   out[i,h,c] = sum_{k -> i} alpha[k,h] * drop(k,h) * xl[src_k,h,c]  (+ bias[h*C + c])
 * A node without incoming edges gets out = 0 (+ bias). out is [N, H*C] contiguous. For C <= 8, xl[src] is gathered
 * once per edge: scores, an online softmax and the aggregation share one pass; a scalar pass then writes alpha.
 */
export function gatv2Attend(
  gpu: Gpu,
  g: GraphTensors,
  xl: NodeMatrix,
  xr: NodeMatrix,
  att: Tensor,
  dims: AttendDims,
  opts: AttendOptions = {},
): { alpha: Tensor; out: Tensor } {
  const op = 'gatv2Attend';
  const { N, E, H, HC } = expectGatv2Inputs(op, g, dims, xl, xr, att);
  const { alpha, out } = forwardOutputs(gpu, op, g, dims, opts, { xl: xl.t, xr: xr.t, att }, HC);
  if (gpu.kernelShape === 'gpu')
    return (gatv2AttendRows(gpu, g, xl, xr, att, { dims, ...opts, alpha, out }), { alpha, out });
  const C = dims.channels,
    blocks = Math.ceil(C / 8),
    regather = E * H * Math.max(0, C - 8);
  run(
    gpu,
    op,
    plan(K.gatv2, dims, N, opts.dropout, !!opts.edge),
    {
      row_ptr: g.rowPtr,
      src: g.src,
      left: xl.t,
      right: xr.t,
      att,
      bias: opts.bias ?? gpu.unread('f32'),
      step: dropoutStep(gpu, opts.dropout),
      alpha_out: alpha,
      out,
      ...(opts.edge ? { edge: opts.edge } : {}),
    },
    params(g, dims, { left: xl, right: xr, dropout: opts.dropout, bias: !!opts.bias }),
    // One pass gathers xl[src] for every channel (scores, online softmax, channels 0..7); with C > 8 each further block
    // of 8 gathers its channels again. e/alpha: written, read, rewritten. The edge term: read once.
    {
      bytes: 4 * (N + 1 + E * blocks + E * HC + regather + N * HC + 3 * E * H + N * HC + (opts.edge ? E * HC : 0)),
      flops: 4 * E * HC + 10 * E * H + 3 * E * HC,
    },
  );
  return { alpha, out };
}

/**
 * Backward of gatv2Attend given dagg = d out [N, H*C] (contiguous) and the forward's alpha [E,H], with
 * z = xl[src_k] + xr[dst_k] (+ edge[k]):
 *   dalpha[k,h] = drop(k,h) * sum_c dagg[dst_k,h,c] * xl[src_k,h,c]
 *   de[k,h]     = alpha[k,h] * (dalpha[k,h] - sum_{k' -> dst_k} alpha[k',h] * dalpha[k',h])
 *   dxr[i,h,c]  = att[h,c] * sum_{k -> i} de[k,h] * lrelu'(z)                               (CSR, per destination)
 *   dxl[j,h,c] (+)= sum_{k: src_k = j} alpha[k,h] * drop(k,h) * dagg[dst_k,h,c] + de[k,h] * att[h,c] * lrelu'(z)
 *                                                                                                     (CSC)
 *   datt[h,c]   = sum_k de[k,h] * lrelu(z)    (per-node partials, then columnSum)
 *   dedge[k,h*C+c] = de[k,h] * att[h,c] * lrelu'(z)   (with grads.edge)
 * Equals aggregateBackward -> segmentSoftmaxBackward -> gatv2ScoreBackward. Two dispatches and a column sum;
 * per-edge (de, sign bits of z and the dropout keep bit) and the datt partials live in one pooled scratch between
 * them (the source side recomputes alpha*drop from alpha and the keep bit rather than store it). For
 * C <= 8 the destination side gathers xl[src] once per edge and takes dxr in the dalpha pass as
 * att * (sum_k alpha*dalpha*lrelu'(z) - t * sum_k alpha*lrelu'(z)), t = sum_k alpha*dalpha; the source side gathers
 * dagg[dst] once per edge and reads lrelu'(z) from the sign bits (C > 8: it gathers xr[dst] too). datt is split over
 * the two ends of each edge, lrelu(z) = (xl[src] + xr[dst]) * lrelu'(z): each kernel adds x * (its sum of
 * de * lrelu'(z)) to a per-node partial. With an edge term, a copy of it travels in the scratch (after the pairs): the
 * destination side reads it into z, the source side reads it too, adds its edge * de * lrelu'(z) to its partial and
 * writes dedge over it, which is then copied out.
 */
export function gatv2AttendBackward(
  gpu: Gpu,
  g: GraphTensors,
  xl: NodeMatrix,
  xr: NodeMatrix,
  att: Tensor,
  alpha: Tensor,
  dagg: Tensor,
  dims: AttendDims,
  grads: Gatv2AttendGrads,
): void {
  const op = 'gatv2AttendBackward';
  const s = expectGatv2Inputs(op, g, dims, xl, xr, att);
  expectBackwardInputs(op, s, alpha, dagg, grads.dropout);
  const { N, E, H, HC } = s,
    C = dims.channels;
  expectNodeMatrix(op, 'dxl', grads.dxl, N, HC);
  expectNodeMatrix(op, 'dxr', grads.dxr, N, HC);
  expectSize(op, 'datt', grads.datt, 'f32', HC);
  const edge = expectEdgeGrads(op, grads, E, HC);
  const inputs = {
    xl: xl.t,
    xr: xr.t,
    att,
    alpha,
    dagg,
    ...(grads.dropout ? { 'dropout step': grads.dropout.step } : {}),
    ...(edge ? { edge: edge.edge } : {}),
  };
  expectNoAlias(op, ['dxl', grads.dxl.t], inputs);
  expectNoAlias(op, ['dxr', grads.dxr.t], inputs);
  expectNoAlias(op, ['datt', grads.datt], { ...inputs, dxl: grads.dxl.t, dxr: grads.dxr.t });
  const written = { dxl: grads.dxl.t, dxr: grads.dxr.t, datt: grads.datt };
  if (edge) expectNoAlias(op, ['dedge', edge.dedge], { ...inputs, ...written });
  expectDisjoint(op, grads.dxl, grads.dxr, HC);
  if (gpu.kernelShape === 'gpu') {
    gatv2AttendBackwardRows(gpu, g, xl, xr, att, alpha, dagg, { dims, ...grads });
    return;
  }

  const blocks = Math.ceil(C / 8),
    regather = E * H * Math.max(0, C - 8),
    wide = C > 8;
  const scratch = gatv2Scratch(gpu, N, E, H, C, !!edge);
  const edgeAt = N * HC + 1 + (wide ? 1 : 2) * E * H;
  if (edge) gpu.copy(edge.edge, scratch, edgeAt);
  const step = dropoutStep(gpu, grads.dropout);
  const accumulate = grads.accumulateDxl ?? false;
  run(
    gpu,
    op,
    plan(K.gatv2Dst, dims, N, grads.dropout, !!edge),
    { row_ptr: g.rowPtr, src: g.src, left: xl.t, right: xr.t, att, alpha, dagg, step, scratch, out: grads.dxr.t },
    params(g, dims, { left: xl, right: xr, grad: grads.dxr, dropout: grads.dropout }),
    // One pass gathers xl[src] for every channel (dalpha, and dxr and the datt partials for channels 0..7); with C > 8
    // each further block of 8 gathers its channels again. alpha twice; 2 scratch words written (1 with C > 8: no sign
    // and keep bits), de read and rewritten.
    {
      bytes:
        4 *
        (N +
          1 +
          E * blocks +
          E * HC +
          regather +
          2 * N * HC +
          2 * E * H +
          (wide ? 3 : 4) * E * H +
          2 * N * HC +
          (edge ? E * HC * blocks : 0)),
      flops: 2 * E * HC + 6 * E * H + 9 * E * HC,
    },
  );
  run(
    gpu,
    op,
    plan(K.gatv2Src, dims, N, grads.dropout, !!edge),
    {
      col_ptr: g.colPtr,
      perm: g.perm,
      dst: g.dst,
      left: xl.t,
      right: xr.t,
      att,
      alpha,
      dagg,
      scratch,
      out: grads.dxl.t,
    },
    params(g, dims, { left: xl, right: xr, grad: grads.dxl, accumulate, dropout: grads.dropout }),
    // Per thread and edge: perm, dst; per edge and head: alpha and the scratch words (de, and the sign and keep bits
    // with C <= 8), per block of 8 channels; per edge and channel: dagg[dst] (and xr[dst] with C > 8). Then dxl. With
    // dropout and C > 8 it hashes the mask again (not counted).
    {
      bytes:
        4 *
        (N +
          1 +
          2 * E * blocks +
          (wide ? 2 : 3) * E * H * blocks +
          (wide ? 2 : 1) * E * HC +
          (accumulate ? 2 : 1) * N * HC +
          (edge ? 2 * E * HC : 0)),
      flops: 4 * E * HC + (edge ? 3 * E * HC : 0),
    },
  );
  columnSum(gpu, scratch.view(0, [N, HC]).bitcast('f32'), { out: grads.datt });
  if (edge) gpu.copy(scratch, edge.dedge, 0, edgeAt, E * HC);
  scratch.dispose();
}

/**
 * The GATv2 backward scratch (see pair_word in fused-attention-scratch.wgsl): the datt partials [N, H*C] (one row
 * per destination), a
 * header word (C > 8 with dropout: the dropout site, from the destination kernel to the source kernel, which binds
 * no step buffer), then per edge and head de and, for C <= 8, the sign bits of z over the head's channels with the
 * dropout keep bit: N*H*C + 1 + (C <= 8 ? 2 : 1)*E*H words; with an edge term, then a copy of it [E, H*C], which
 * the source kernel overwrites with dedge.
 */
function gatv2Scratch(gpu: Gpu, N: number, E: number, H: number, C: number, edge: boolean): Tensor {
  return gpu.empty('u32', [N * H * C + 1 + (C > 8 ? 1 : 2) * E * H + (edge ? E * H * C : 0)]);
}

/** What both backwards take after the forward's inputs: alpha [E, H], dagg [N, H*C] and the dropout. */
function expectBackwardInputs(op: string, s: AttendSizes, alpha: Tensor, dagg: Tensor, dropout?: EdgeDropout): void {
  expectTensor(op, 'alpha', alpha, 'f32', [s.E, s.H]);
  expectTensor(op, 'dagg', dagg, 'f32', [s.N, s.HC]);
  expectDropout(op, dropout);
}

/** GAT: per-edge (value, alpha * drop) pairs between the two backward kernels: [E, H, 2], at least one vec2 to bind. */
function pairScratch(gpu: Gpu, E: number, H: number): Tensor {
  return gpu.empty('f32', [Math.max(E, 1), H, 2]);
}

/** dxl and dxr may share a buffer (two column blocks of dG), but their columns must not overlap. */
function expectDisjoint(op: string, a: NodeMatrix, b: NodeMatrix, width: number): void {
  if (a.t.buffer !== b.t.buffer) return;
  const start = (m: NodeMatrix) => m.t.byteOffset / 4 + m.offset;
  const overlap =
    a.stride === b.stride && a.t.byteOffset === b.t.byteOffset
      ? Math.abs(a.offset - b.offset) < width
      : start(a) === start(b);
  if (overlap)
    throw new Error(`${op}: dxl and dxr views overlap in one buffer; give them disjoint columns or separate buffers`);
}

// ---- GAT (GATConv) ----

/**
 * GAT attention for each destination i and head h, in one dispatch (one thread per destination i and one or two
 * heads, walking i's CSR segment):
 *   e[k,h] = LeakyReLU(as[src_k,h] + ad[i,h] (+ edge[k,h])),  as/ad [N,H] (headDot of x with att_src / att_dst)
 *   alpha, out as gatv2Attend, aggregating x:  out[i,h,c] = sum_{k -> i} alpha[k,h] * drop(k,h) * x[src_k,h,c] (+ bias)
 */
export function gatAttend(
  gpu: Gpu,
  g: GraphTensors,
  as: Tensor,
  ad: Tensor,
  x: NodeMatrix,
  dims: AttendDims,
  opts: AttendOptions = {},
): { alpha: Tensor; out: Tensor } {
  const op = 'gatAttend';
  const { N, E, H, HC } = expectGatInputs(op, g, dims, as, ad, x);
  const { alpha, out } = forwardOutputs(gpu, op, g, dims, opts, { as, ad, x: x.t }, H);
  if (gpu.kernelShape === 'gpu')
    return (gatAttendRows(gpu, g, as, ad, x, { dims, ...opts, alpha, out }), { alpha, out });
  const blocks = Math.ceil(dims.channels / 8);
  run(
    gpu,
    op,
    plan(K.gat, dims, N, opts.dropout, !!opts.edge),
    {
      row_ptr: g.rowPtr,
      src: g.src,
      left: x.t,
      score_src: as,
      score_dst: ad,
      bias: opts.bias ?? gpu.unread('f32'),
      step: dropoutStep(gpu, opts.dropout),
      alpha_out: alpha,
      out,
      ...(opts.edge ? { edge: opts.edge } : {}),
    },
    params(g, dims, { left: x, dropout: opts.dropout, bias: !!opts.bias }),
    // One pass: score, online softmax and channels 0..7 of x[src]; further blocks of 8 (C > 8) read src again.
    {
      bytes: 4 * (N + 1 + E * blocks + E * H + N * H + 3 * E * H + E * HC + N * HC + (opts.edge ? E * H : 0)),
      flops: 12 * E * H + 3 * E * HC,
    },
  );
  return { alpha, out };
}

/**
 * Backward of gatAttend given dagg = d out [N, H*C] and alpha [E,H], with s_k = as[src_k,h] + ad[dst_k,h]
 * (+ edge[k,h]):
 *   dalpha, de as gatv2AttendBackward (x in place of xl);  g[k,h] = de[k,h] * lrelu'(s_k)
 *   dad[i,h] = sum_{k -> i} g[k,h]                                                      (CSR, per destination)
 *   das[j,h] = sum_{k: src_k = j} g[k,h];
 *   dx[j,h,c] (+)= sum_{k: src_k = j} alpha[k,h] * drop(k,h) * dagg[dst_k,h,c]   (CSC)
 *   dedge[k,h] = g[k,h]                                                                 (with grads.edge)
 * Equals aggregateBackward -> segmentSoftmaxBackward -> gatScoreBackward (headDotBackward stays the caller's).
 * With an edge term, the destination kernel takes a buffer holding a copy of edge [E, H], reads it, overwrites it
 * with dedge and leaves dad after it (it binds no `out`: no more than 10 buffers); both are copied out.
 */
export function gatAttendBackward(
  gpu: Gpu,
  g: GraphTensors,
  as: Tensor,
  ad: Tensor,
  x: NodeMatrix,
  alpha: Tensor,
  dagg: Tensor,
  dims: AttendDims,
  grads: GatAttendGrads,
): { das: Tensor; dad: Tensor } {
  const op = 'gatAttendBackward';
  const s = expectGatInputs(op, g, dims, as, ad, x);
  expectBackwardInputs(op, s, alpha, dagg, grads.dropout);
  const { N, E, H, HC } = s,
    C = dims.channels;
  expectNodeMatrix(op, 'dx', grads.dx, N, HC);
  const edge = expectEdgeGrads(op, grads, E, H);
  const das = outputFor(gpu, op, 'das', [N, H], grads.das);
  const dad = outputFor(gpu, op, 'dad', [N, H], grads.dad);
  const inputs = {
    as,
    ad,
    x: x.t,
    alpha,
    dagg,
    ...(grads.dropout ? { 'dropout step': grads.dropout.step } : {}),
    ...(edge ? { edge: edge.edge } : {}),
  };
  expectNoAlias(op, ['dx', grads.dx.t], inputs);
  expectNoAlias(op, ['das', das], { ...inputs, dx: grads.dx.t });
  expectNoAlias(op, ['dad', dad], { ...inputs, das });
  if (edge) expectNoAlias(op, ['dedge', edge.dedge], { ...inputs, dx: grads.dx.t, das, dad });
  if (gpu.kernelShape === 'gpu')
    return (gatAttendBackwardRows(gpu, g, as, ad, x, alpha, dagg, { dims, ...grads, das, dad }), { das, dad });

  const blocks = Math.ceil(C / 8);
  const pairs = pairScratch(gpu, E, H);
  const accumulate = grads.accumulateDx ?? false;
  const io = edge ? gpu.empty('f32', [E * H + N * H]) : null;
  if (edge && io) gpu.copy(edge.edge, io);
  run(
    gpu,
    op,
    plan(K.gatDst, dims, N, grads.dropout, !!edge),
    {
      row_ptr: g.rowPtr,
      src: g.src,
      left: x.t,
      score_src: as,
      score_dst: ad,
      alpha,
      dagg,
      step: dropoutStep(gpu, grads.dropout),
      pair_out: pairs,
      ...(io ? { edge_io: io } : { out: dad }),
    },
    params(g, dims, { left: x, dropout: grads.dropout }),
    // Pass 1: src, x[src] (all channels), as[src] (and the edge term); pass 2 (scalar): alpha, the pairs (and dedge).
    {
      bytes: 4 * (N + 1 + E + E * HC + N * HC + 2 * E * H + E * H + 6 * E * H + 2 * N * H + (edge ? 2 * E * H : 0)),
      flops: 2 * E * HC + 8 * E * H,
    },
  );
  if (edge && io) {
    gpu.copy(io, edge.dedge, 0, 0, E * H);
    gpu.copy(io, dad, 0, E * H, N * H);
    io.dispose();
  }
  run(
    gpu,
    op,
    plan(K.gatSrc, dims, N),
    { col_ptr: g.colPtr, perm: g.perm, dst: g.dst, pair_in: pairs, dagg, out: grads.dx.t, out2: das },
    params(g, dims, { grad: grads.dx, accumulate }),
    {
      bytes: 4 * (N + 1 + 2 * E * blocks + 2 * E * H * blocks + E * HC + (accumulate ? 2 : 1) * N * HC + N * H),
      flops: 3 * E * HC,
    },
  );
  pairs.dispose();
  return { das, dad };
}
