// Attention scores on edges (shaders/attention.wgsl): GATv2's e = att . LeakyReLU(xl[src] + xr[dst]) and GAT's
// per-node head dots and e = LeakyReLU(as[src] + ad[dst]), each with its backward. Also home of the helpers the
// edge-kernel modules share: strided node-matrix views, binding slots, graph checks.
import code from '../../shaders/attention.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { f32, groups, kernel, type BindingKind, type Kernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { GraphTensors } from '../graph.ts';
import { expectSize, expectTensor } from './check.ts';
import { columnSum } from './reduce.ts';

// ---- shared helpers ----

/** A strided view of a node matrix: element (i, j) lives at t[i * stride + offset + j]. */
export interface NodeMatrix {
  t: Tensor;
  stride: number;
  offset: number;
}

/** Views columns offset .. of a row-major matrix whose rows are `stride` values apart (default: t.shape[1]). */
export function nodeMatrix(t: Tensor, stride?: number, offset = 0): NodeMatrix {
  return { t, stride: stride ?? (t.shape.length === 2 ? t.shape[1] : t.size), offset };
}

/** Throws unless `m` is an f32 view of `rows` rows holding `width` columns inside each row. */
export function expectNodeMatrix(op: string, what: string, m: NodeMatrix, rows: number, width: number): void {
  m.t.assertAlive();
  if (m.t.dtype !== 'f32') throw new Error(`${op}: ${what} must be f32, got ${m.t.dtype}`);
  const { stride, offset } = m;
  if (!Number.isInteger(stride) || !Number.isInteger(offset) || offset < 0 || offset + width > stride) {
    throw new Error(`${op}: ${what} view (stride ${stride}, offset ${offset}) cannot hold ${width} columns per row`);
  }
  const shapeRows = m.t.shape.length === 2 ? m.t.shape[0] : rows;
  if (shapeRows !== rows || m.t.size !== rows * stride) {
    throw new Error(`${op}: shape mismatch for ${what}: expected ${rows} rows of stride ${stride} (${rows * stride} values), got [${m.t.shape}]`);
  }
}

/** WebGPU forbids binding one buffer as an output and as anything else in a dispatch; name the clash instead. */
export function expectNoAlias(op: string, output: [string, Tensor], inputs: Record<string, Tensor>): void {
  for (const [name, t] of Object.entries(inputs)) {
    if (t.buffer === output[1].buffer) throw new Error(`${op}: ${output[0]} shares a GPU buffer with ${name}; outputs must not alias inputs`);
  }
}

export function expectGraph(op: string, g: GraphTensors): void {
  const { numNodes: n, numEdges: e } = g;
  const ok = g.rowPtr.size === n + 1 && g.colPtr.size === n + 1 && g.src.size === e && g.dst.size === e && g.perm.size === e;
  if (!ok) throw new Error(`${op}: graph tensors do not match ${n} nodes and ${e} edges`);
}

export function expectPositiveInt(op: string, what: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: ${what} must be a positive integer, got ${v}`);
}

/** The output tensor: `out` after checking it, else a new one from the pool. */
export function outputFor(gpu: Gpu, op: string, what: string, shape: readonly number[], out?: Tensor): Tensor {
  if (!out) return gpu.empty('f32', shape);
  expectTensor(op, what, out, 'f32', shape);
  return out;
}

/**
 * Kernels of one WGSL file whose bindings are named slots (in binding order). Each entry point declares which
 * slots it reads and writes; `launch` orders the tensors it is given by slot.
 */
export class SlotKernels<Slot extends string> {
  constructor(
    private readonly code: string,
    private readonly family: string,
    /** Slot names in binding order; the one named `uniforms` is the uniform block. */
    private readonly slots: readonly Slot[],
  ) {}

  entry(entryPoint: string, reads: readonly Slot[], writes: readonly Slot[], overrides?: Record<string, number | boolean>): SlotKernel<Slot> {
    const bindings: BindingKind[] = this.slots.map((s) => (s === 'uniforms' ? 'u' : writes.includes(s) ? 'w' : reads.includes(s) ? 'r' : '-'));
    while (bindings.at(-1) === '-') bindings.pop();
    const variant = overrides ? Object.keys(overrides).map((o) => '+' + o.toLowerCase()).join('') : '';
    const k = kernel({ name: `${this.family}.${entryPoint}${variant}`, code: this.code, entryPoint, bindings, overrides });
    return { kernel: k, slots: this.slots.filter((_, i) => bindings[i] === 'r' || bindings[i] === 'w') };
  }
}

export interface SlotKernel<Slot extends string> {
  kernel: Kernel;
  /** The storage slots it binds, in binding order. */
  slots: readonly Slot[];
}

export function launch<Slot extends string>(gpu: Gpu, k: SlotKernel<Slot>, tensors: Partial<Record<Slot, Tensor>>, uniforms: number[], threads: number, cost: { bytes: number; flops: number }): void {
  const list = k.slots.map((s) => {
    const t = tensors[s];
    if (!t) throw new Error(`${k.kernel.name}: no tensor for binding '${s}'`);
    return t;
  });
  gpu.dispatch(k.kernel, { tensors: list, uniforms, workgroups: groups(threads, k.kernel.workgroupSize), cost });
}

// ---- kernels ----

type Slot = 'rowPtr' | 'colPtr' | 'perm' | 'src' | 'dst' | 'left' | 'right' | 'att' | 'gradIn' | 'out' | 'out2' | 'uniforms';
const family = new SlotKernels<Slot>(code, 'attention', ['rowPtr', 'colPtr', 'perm', 'src', 'dst', 'left', 'right', 'att', 'gradIn', 'out', 'out2', 'uniforms']);
const K = {
  gatv2Score: family.entry('gatv2_score', ['rowPtr', 'src', 'left', 'right', 'att'], ['out']),
  gatv2Dxr: family.entry('gatv2_score_dxr', ['rowPtr', 'src', 'left', 'right', 'att', 'gradIn'], ['out', 'out2']),
  gatv2Dxl: family.entry('gatv2_score_dxl', ['colPtr', 'perm', 'dst', 'left', 'right', 'att', 'gradIn'], ['out']),
  weightedColumnSum: family.entry('weighted_column_sum', ['left', 'gradIn'], ['out']),
  headDot: family.entry('head_dot', ['left', 'att'], ['out']),
  headDotDx: family.entry('head_dot_dx', ['att', 'gradIn'], ['out']),
  gatScore: family.entry('gat_score', ['rowPtr', 'src', 'left', 'right'], ['out']),
  gatDad: family.entry('gat_score_dad', ['rowPtr', 'src', 'left', 'right', 'gradIn'], ['out']),
  gatDas: family.entry('gat_score_das', ['colPtr', 'perm', 'dst', 'left', 'right', 'gradIn'], ['out']),
};

/** Threads of the chunked node kernels: one per (node, head, chunk of 4 channels). */
export function chunkThreads(nodes: number, heads: number, channels: number): number {
  return nodes * heads * Math.ceil(channels / 4);
}

interface Views {
  left?: NodeMatrix;
  right?: NodeMatrix;
  grad?: NodeMatrix;
  accumulate?: boolean;
  /** Column sums: rows per block. */
  blockRows?: number;
}

/** Uniform block of attention.wgsl. */
function params(nodes: number, edges: number, heads: number, channels: number, slope: number, v: Views = {}): number[] {
  const view = (m?: NodeMatrix) => (m ? [m.stride, m.offset] : [0, 0]);
  return [nodes, edges, heads, channels, f32(slope), ...view(v.left), ...view(v.right), ...view(v.grad), v.accumulate ? 1 : 0, v.blockRows ?? 1];
}

/**
 * datt[h, c] = sum_n w[n, h] * m[n, h*C + c], deterministically and without atomics: weighted sums over blocks of
 * ~sqrt(rows) rows here, then reduce.ts's columnSum over the blocks.
 */
function weightedColumnSums(gpu: Gpu, m: NodeMatrix, weights: Tensor, rows: number, heads: number, channels: number, out: Tensor): void {
  const cols = heads * channels;
  const blockRows = Math.max(1, Math.ceil(Math.sqrt(rows)));
  const blocks = Math.max(1, Math.ceil(rows / blockRows));
  const partial = gpu.empty('f32', [blocks, cols]);
  launch(gpu, K.weightedColumnSum, { left: m.t, gradIn: weights, out: partial }, params(rows, 0, heads, channels, 0, { left: m, blockRows }), blocks * cols,
    { bytes: 4 * (rows * cols + rows * heads + blocks * cols), flops: 2 * rows * cols });
  columnSum(gpu, partial, { out });
  partial.dispose();
}

interface ScoreDims {
  heads: number;
  channels: number;
  slope: number;
}

export function expectDims(op: string, dims: { heads: number; channels?: number; slope?: number }): void {
  expectPositiveInt(op, 'heads', dims.heads);
  if (dims.channels !== undefined) expectPositiveInt(op, 'channels', dims.channels);
  if (dims.slope !== undefined && !Number.isFinite(dims.slope)) throw new Error(`${op}: slope must be a finite number, got ${dims.slope}`);
}

/** GATv2: e[k,h] = sum_c att[h,c] * LeakyReLU(xl[src_k,h,c] + xr[dst_k,h,c]). att is f32 [H*C]. */
export function gatv2Score(gpu: Gpu, g: GraphTensors, xl: NodeMatrix, xr: NodeMatrix, att: Tensor, dims: ScoreDims, out?: Tensor): Tensor {
  const op = 'gatv2Score';
  const { heads: H, channels: C, slope } = dims;
  expectDims(op, dims);
  expectGraph(op, g);
  const N = g.numNodes, E = g.numEdges;
  expectNodeMatrix(op, 'xl', xl, N, H * C);
  expectNodeMatrix(op, 'xr', xr, N, H * C);
  expectSize(op, 'att', att, 'f32', H * C);
  out = outputFor(gpu, op, 'out', [E, H], out);
  expectNoAlias(op, ['out', out], { xl: xl.t, xr: xr.t, att });
  launch(gpu, K.gatv2Score, { rowPtr: g.rowPtr, src: g.src, left: xl.t, right: xr.t, att, out }, params(N, E, H, C, slope, { left: xl, right: xr }), N * H,
    { bytes: 4 * (N + 1 + E + E * H * C + N * H * C + E * H), flops: 4 * E * H * C });
  return out;
}

/**
 * Backward of gatv2Score given de [E,H]: z = xl[src]+xr[dst];
 *  dxl[j,h,c] (+)= sum_{k: src_k = j} de[k,h] * att[h,c] * lrelu'(z)   (via the CSC permutation)
 *  dxr[i,h,c]  = sum_{k: dst_k = i} de[k,h] * att[h,c] * lrelu'(z)   (CSR segment)
 *  datt[h,c]   = sum_k de[k,h] * lrelu(z)   (per-destination partials, then a deterministic column sum)
 * accumulateDxl: add into dxl instead of overwriting it (the aggregation backward writes dxl first).
 */
export function gatv2ScoreBackward(gpu: Gpu, g: GraphTensors, xl: NodeMatrix, xr: NodeMatrix, att: Tensor, de: Tensor, dims: ScoreDims, grads: { dxl: NodeMatrix; dxr: NodeMatrix; datt: Tensor; accumulateDxl?: boolean }): void {
  const op = 'gatv2ScoreBackward';
  const { heads: H, channels: C, slope } = dims;
  expectDims(op, dims);
  expectGraph(op, g);
  const N = g.numNodes, E = g.numEdges, HC = H * C;
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
  launch(gpu, K.gatv2Dxr, { rowPtr: g.rowPtr, src: g.src, left: xl.t, right: xr.t, att, gradIn: de, out: grads.dxr.t, out2: partials },
    params(N, E, H, C, slope, { left: xl, right: xr, grad: grads.dxr }), chunkThreads(N, H, C),
    { bytes: edgeBytes + 4 * 3 * N * HC, flops: 5 * E * HC });
  launch(gpu, K.gatv2Dxl, { colPtr: g.colPtr, perm: g.perm, dst: g.dst, left: xl.t, right: xr.t, att, gradIn: de, out: grads.dxl.t },
    params(N, E, H, C, slope, { left: xl, right: xr, grad: grads.dxl, accumulate: grads.accumulateDxl }), chunkThreads(N, H, C),
    { bytes: edgeBytes + 4 * E + 4 * (grads.accumulateDxl ? 3 : 2) * N * HC, flops: 3 * E * HC });
  columnSum(gpu, partials, { out: grads.datt });
  partials.dispose();
}

/** GAT (GATConv): per-node head dot a[n,h] = sum_c x[n,h,c] * att[h,c]  (alpha_src / alpha_dst in PyG). */
export function headDot(gpu: Gpu, x: NodeMatrix, att: Tensor, rows: number, dims: { heads: number; channels: number }, out?: Tensor): Tensor {
  const op = 'headDot';
  const { heads: H, channels: C } = dims;
  expectDims(op, dims);
  expectNodeMatrix(op, 'x', x, rows, H * C);
  expectSize(op, 'att', att, 'f32', H * C);
  out = outputFor(gpu, op, 'out', [rows, H], out);
  expectNoAlias(op, ['out', out], { x: x.t, att });
  launch(gpu, K.headDot, { left: x.t, att, out }, params(rows, 0, H, C, 0, { left: x }), rows * H,
    { bytes: 4 * (rows * H * C + rows * H), flops: 2 * rows * H * C });
  return out;
}

/** dx[n,h,c] (+)= da[n,h] * att[h,c];  datt[h,c] = sum_n da[n,h] * x[n,h,c] (deterministic reduction). */
export function headDotBackward(gpu: Gpu, x: NodeMatrix, att: Tensor, da: Tensor, rows: number, dims: { heads: number; channels: number }, grads: { dx: NodeMatrix; datt: Tensor; accumulateDx?: boolean }): void {
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
  launch(gpu, K.headDotDx, { att, gradIn: da, out: grads.dx.t }, params(rows, 0, H, C, 0, { grad: grads.dx, accumulate: grads.accumulateDx }), chunkThreads(rows, H, C),
    { bytes: 4 * (rows * H + (grads.accumulateDx ? 2 : 1) * rows * H * C), flops: rows * H * C });
  weightedColumnSums(gpu, x, da, rows, H, C, grads.datt);
}

/** GAT: e[k,h] = LeakyReLU(as[src_k,h] + ad[dst_k,h]), as/ad [N,H]. */
export function gatScore(gpu: Gpu, g: GraphTensors, as: Tensor, ad: Tensor, dims: { heads: number; slope: number }, out?: Tensor): Tensor {
  const op = 'gatScore';
  const { heads: H, slope } = dims;
  expectDims(op, dims);
  expectGraph(op, g);
  const N = g.numNodes, E = g.numEdges;
  expectTensor(op, 'as', as, 'f32', [N, H]);
  expectTensor(op, 'ad', ad, 'f32', [N, H]);
  out = outputFor(gpu, op, 'out', [E, H], out);
  expectNoAlias(op, ['out', out], { as, ad });
  launch(gpu, K.gatScore, { rowPtr: g.rowPtr, src: g.src, left: as, right: ad, out }, params(N, E, H, 1, slope), N * H,
    { bytes: 4 * (N + 1 + E + 2 * E * H + N * H), flops: 2 * E * H });
  return out;
}

/** das[j,h] = sum_{k: src_k=j} de[k,h]*lrelu'(as[j,h]+ad[dst_k,h]) (CSC);  dad[i,h] = sum_{k: dst_k=i} (same) (CSR). */
export function gatScoreBackward(gpu: Gpu, g: GraphTensors, as: Tensor, ad: Tensor, de: Tensor, dims: { heads: number; slope: number }, grads: { das?: Tensor; dad?: Tensor } = {}): { das: Tensor; dad: Tensor } {
  const op = 'gatScoreBackward';
  const { heads: H, slope } = dims;
  expectDims(op, dims);
  expectGraph(op, g);
  const N = g.numNodes, E = g.numEdges;
  expectTensor(op, 'as', as, 'f32', [N, H]);
  expectTensor(op, 'ad', ad, 'f32', [N, H]);
  expectTensor(op, 'de', de, 'f32', [E, H]);
  const das = outputFor(gpu, op, 'das', [N, H], grads.das);
  const dad = outputFor(gpu, op, 'dad', [N, H], grads.dad);
  expectNoAlias(op, ['das', das], { as, ad, de });
  expectNoAlias(op, ['dad', dad], { as, ad, de, das });
  const u = params(N, E, H, 1, slope);
  const values = 4 * (2 * E * H + 2 * N * H); // de and the gathered scores, the node's own score and its output
  launch(gpu, K.gatDad, { rowPtr: g.rowPtr, src: g.src, left: as, right: ad, gradIn: de, out: dad }, u, N * H,
    { bytes: values + 4 * (N + 1 + E), flops: 3 * E * H });
  launch(gpu, K.gatDas, { colPtr: g.colPtr, perm: g.perm, dst: g.dst, left: as, right: ad, gradIn: de, out: das }, u, N * H,
    { bytes: values + 4 * (N + 1 + 2 * E), flops: 3 * E * H });
  return { das, dad };
}
