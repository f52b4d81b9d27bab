// What the kernel modules share: argument checks (every shape or type problem becomes an error naming the
// operation), strided node-matrix views, the output and thread-count helpers of the graph kernels, the dropout
// fields of their uniform blocks, and a dispatch by thread count.
import type { DispatchCall, Gpu } from '../gpu/gpu.ts';
import { groups, type Kernel } from '../gpu/kernel.ts';
import type { DType, Tensor } from '../gpu/tensor.ts';
import type { GraphTensors } from '../graph.ts';

/** Throws unless `t` has dtype `dtype` and exactly `shape` (-1 matches any size). */
export function expectTensor(op: string, what: string, t: Tensor, dtype: DType, shape: readonly number[]): void {
  t.assertAlive();
  if (t.dtype !== dtype) throw new Error(`${op}: ${what} must be ${dtype}, got ${t.dtype}`);
  const ok = t.shape.length === shape.length && shape.every((d, i) => d === -1 || d === t.shape[i]);
  if (!ok) {
    const want = shape.map((d) => (d === -1 ? '*' : d));
    throw new Error(`${op}: shape mismatch for ${what}: expected [${want}], got [${t.shape}]`);
  }
}

/** Dropout on the attention coefficients: mask index k*H + h, multiplier dropout_scale from common.wgsl. */
export interface EdgeDropout {
  p: number;
  seed: number;
  /** u32 [1]: the training step. */
  step: Tensor;
}

/** The dropout, when it drops anything (p > 0). */
export function activeDropout<D extends { p: number }>(d: D | undefined): D | undefined {
  return d && d.p > 0 ? d : undefined;
}

/**
 * The step buffer of a dropout that drops anything; else an unread stand-in (pipelines without dropout bind one, as
 * WGSL counts a use under their DROPOUT flag, but never read it).
 */
export function dropoutStep(gpu: Gpu, d?: EdgeDropout): Tensor {
  return activeDropout(d)?.step ?? gpu.unread('u32');
}

/** The dropout fields of a uniform block: p and the site seed as u32; 0 and 0 without dropout. */
export function dropoutUniforms(d: { p: number; seed: number } | undefined): { p: number; seed: number } {
  return { p: d?.p ?? 0, seed: (d?.seed ?? 0) >>> 0 };
}

/** Throws unless `d` (when given) is usable dropout: p in [0, 1) and the step a u32 tensor, named `stepName`. */
export function expectDropout(op: string, d: { p: number; step: Tensor } | undefined, stepName = 'dropout step'): void {
  if (!d) return;
  if (!(d.p >= 0 && d.p < 1)) throw new Error(`${op}: dropout p must be in [0, 1), got ${d.p}`);
  expectTensor(op, stepName, d.step, 'u32', [-1]);
}

/** Throws unless `t` holds exactly `size` elements of dtype `dtype` (any shape). */
export function expectSize(op: string, what: string, t: Tensor, dtype: DType, size: number): void {
  t.assertAlive();
  if (t.dtype !== dtype) throw new Error(`${op}: ${what} must be ${dtype}, got ${t.dtype}`);
  if (t.size !== size) {
    throw new Error(`${op}: shape mismatch for ${what}: expected ${size} elements, got [${t.shape}] (${t.size})`);
  }
}

export function expectPositiveInt(op: string, what: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: ${what} must be a positive integer, got ${v}`);
}

/** Throws unless heads (and channels, when given) are positive integers and the slope (when given) is finite. */
export function expectDims(op: string, dims: { heads: number; channels?: number; slope?: number }): void {
  expectPositiveInt(op, 'heads', dims.heads);
  if (dims.channels !== undefined) expectPositiveInt(op, 'channels', dims.channels);
  if (dims.slope !== undefined && !Number.isFinite(dims.slope)) {
    throw new Error(`${op}: slope must be a finite number, got ${dims.slope}`);
  }
}

export function expectGraph(op: string, g: GraphTensors): void {
  const { numNodes: n, numEdges: e } = g;
  const ok =
    g.rowPtr.size === n + 1 && g.colPtr.size === n + 1 && g.src.size === e && g.dst.size === e && g.perm.size === e;
  if (!ok) throw new Error(`${op}: graph tensors do not match ${n} nodes and ${e} edges`);
}

/** WebGPU forbids binding one buffer as an output and as anything else in a dispatch; name the clash instead. */
export function expectNoAlias(op: string, output: [string, Tensor], inputs: Record<string, Tensor>): void {
  for (const [name, t] of Object.entries(inputs)) {
    if (t.buffer === output[1].buffer) {
      throw new Error(`${op}: ${output[0]} shares a GPU buffer with ${name}; outputs must not alias inputs`);
    }
  }
}

/** The output tensor: `out` after checking it, else a new one from the pool. */
export function outputFor(
  gpu: Gpu,
  op: string,
  what: string,
  shape: readonly number[],
  out?: Tensor,
  dtype: DType = 'f32',
): Tensor {
  if (!out) return gpu.empty(dtype, shape);
  expectTensor(op, what, out, dtype, shape);
  return out;
}

// ---- node matrices ----

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
    const want = `${rows} rows of stride ${stride} (${rows * stride} values)`;
    throw new Error(`${op}: shape mismatch for ${what}: expected ${want}, got [${m.t.shape}]`);
  }
}

/** Dispatches `k` over `threads` threads: as many workgroups of its size as that takes. */
export function dispatchThreads(
  gpu: Gpu,
  k: Kernel,
  bindings: DispatchCall['bindings'],
  uniforms: DispatchCall['uniforms'],
  threads: number,
  cost: DispatchCall['cost'],
): void {
  gpu.dispatch(k, { bindings, uniforms, workgroups: groups(threads, k.workgroupSize), cost });
}

/** Threads of the chunked node kernels: one per (node, head, chunk of 4 channels). */
export function chunkThreads(nodes: number, heads: number, channels: number): number {
  return nodes * heads * Math.ceil(channels / 4);
}
