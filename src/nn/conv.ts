// What GATConv and GATv2Conv share: options, the graph they run on, and the output stage
// (concat or mean over heads, residual, bias) with its backward.
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { GraphTensors } from '../graph.ts';
import { add, biasAdd, headMeanBackward, headMeanForward } from '../kernels/elementwise.ts';
import { canFuseAttention } from '../kernels/fused-attention.ts';
import { matmul } from '../kernels/matmul.ts';
import { columnSum } from '../kernels/reduce.ts';
import { glorot, zeros } from './init.ts';
import type { LayerInput } from './input.ts';
import type { ParameterStore, ParamSpec } from './params.ts';
import { Workspace } from './workspace.ts';

export interface ConvOptions {
  heads?: number;
  /** Concatenate the heads (true) or average them (false). */
  concat?: boolean;
  negativeSlope?: number;
  /** Dropout on the attention coefficients (after the softmax), in training only. */
  dropout?: number;
  /** Remove existing self loops and add one per node before attending (PyG's default). */
  addSelfLoops?: boolean;
  bias?: boolean;
  /** GATv2 only: one linear map for sources and targets. */
  shareWeights?: boolean;
  /** Add a linear map of the input (no bias) to the output. */
  residual?: boolean;
}

export type ResolvedConvOptions = Required<ConvOptions>;

export function resolveConvOptions(o: ConvOptions): ResolvedConvOptions {
  const r = {
    heads: o.heads ?? 1,
    concat: o.concat ?? true,
    negativeSlope: o.negativeSlope ?? 0.2,
    dropout: o.dropout ?? 0,
    addSelfLoops: o.addSelfLoops ?? true,
    bias: o.bias ?? true,
    shareWeights: o.shareWeights ?? false,
    residual: o.residual ?? false,
  };
  if (!Number.isInteger(r.heads) || r.heads < 1) throw new Error(`heads must be a positive integer, got ${o.heads}`);
  if (!(r.dropout >= 0 && r.dropout < 1)) throw new Error(`dropout must be in [0, 1), got ${o.dropout}`);
  return r;
}

/** The per-step state a layer needs: the device, training or evaluation, and the step counter for dropout. */
export interface StepContext {
  gpu: Gpu;
  training: boolean;
  /** u32 [1]: the training step, hashed into every dropout mask. */
  step: Tensor;
}

/** Graphs on the GPU with and without added self loops, built once and shared by the layers. */
export interface LayerGraphs {
  get(addSelfLoops: boolean): GraphTensors;
}

/** A PyTorch-layout tensor for the state dict. */
export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

/** Transposes a row-major [rows, cols] matrix, or its column block [c0, c0 + n). */
export function transpose(a: Float32Array, rows: number, cols: number, c0 = 0, n = cols): Float32Array {
  const t = new Float32Array(n * rows);
  for (let r = 0; r < rows; r++) for (let c = 0; c < n; c++) t[c * rows + r] = a[r * cols + c0 + c];
  return t;
}

export abstract class AttentionConv {
  readonly opts: ResolvedConvOptions;
  /** Width of the output: heads * channels when concatenating, channels when averaging. */
  readonly outWidth: number;
  protected ws: Workspace | null = null;
  protected store: ParameterStore | null = null;
  protected prefix = '';
  /** Seed of this layer's attention-dropout site. */
  dropoutSeed = 0;
  /**
   * Score, softmax and aggregation run as one fused kernel (kernels/fused-attention.ts), and their backward as two, unless
   * the device allows too few storage buffers per shader stage; then as separate kernels. Set by bind().
   */
  protected fused = true;

  /** Saved by forward for backward. */
  protected saved: { input: LayerInput; graph: GraphTensors; alpha: Tensor; training: boolean } | null = null;

  constructor(readonly inChannels: number, readonly outChannels: number, options: ConvOptions = {}) {
    if (!Number.isInteger(inChannels) || inChannels < 1) throw new Error(`inChannels must be a positive integer, got ${inChannels}`);
    if (!Number.isInteger(outChannels) || outChannels < 1) throw new Error(`outChannels must be a positive integer, got ${outChannels}`);
    this.opts = resolveConvOptions(options);
    this.outWidth = this.opts.concat ? this.opts.heads * outChannels : outChannels;
  }

  get heads() { return this.opts.heads; }
  get hc() { return this.opts.heads * this.outChannels; }

  /** The parameters of the attention part, named and shaped internally (weights [in, out]). */
  protected abstract attentionParams(): ParamSpec[];

  /** Parameter specs, names prefixed (e.g. `conv1.`): the attention part, then `bias` and `res`. */
  paramSpecs(prefix: string): ParamSpec[] {
    const specs = this.attentionParams();
    if (this.opts.bias) specs.push({ name: 'bias', shape: [this.outWidth], init: () => zeros(this.outWidth) });
    if (this.opts.residual) {
      // PyG: Linear(in, outWidth, bias=False, glorot)
      specs.push({ name: 'res', shape: [this.inChannels, this.outWidth], init: (r) => glorot(r, this.inChannels * this.outWidth, this.outWidth, this.inChannels) });
    }
    return specs.map((s) => ({ ...s, name: prefix + s.name }));
  }

  bind(gpu: Gpu, store: ParameterStore, prefix: string): void {
    this.fused = canFuseAttention(gpu);
    this.store = store;
    this.prefix = prefix;
    this.ws = new Workspace(gpu);
  }

  protected param(name: string): Tensor {
    return this.store!.value(this.prefix + name);
  }

  protected grad(name: string): Tensor {
    return this.store!.grad(this.prefix + name);
  }

  protected get workspace(): Workspace {
    if (!this.ws) throw new Error(`${this.constructor.name}: the layer is not bound to parameters yet`);
    return this.ws;
  }

  protected edgeDropout(ctx: StepContext) {
    return ctx.training && this.opts.dropout > 0 ? { p: this.opts.dropout, seed: this.dropoutSeed, step: ctx.step } : undefined;
  }

  /** Heads, channels per head and LeakyReLU slope, as the attention kernels take them. */
  protected get dims(): { heads: number; channels: number; slope: number } {
    return { heads: this.heads, channels: this.outChannels, slope: this.opts.negativeSlope };
  }

  /** Whether the heads are averaged (concat = false with several heads; one head needs no averaging). */
  protected get averagesHeads(): boolean {
    return !this.opts.concat && this.heads > 1;
  }

  /** The output bias, when the fused attention kernel adds it itself (nothing comes between: no mean, no residual). */
  protected get attentionBias(): Tensor | undefined {
    return this.fused && this.opts.bias && !this.averagesHeads && !this.opts.residual ? this.param('bias') : undefined;
  }

  /** Concat or mean over heads, + residual, + bias: out = combine(agg) + x Wres + b (the bias may be in agg already). */
  protected outputStage(ctx: StepContext, input: LayerInput, agg: Tensor): Tensor {
    if (this.attentionBias) return agg;
    const { gpu } = ctx;
    const ws = this.workspace;
    const n = input.rows;
    const bias = this.opts.bias ? this.param('bias') : undefined;
    let out = this.averagesHeads ? headMeanForward(gpu, agg, this.heads, ws.get('mean', [n, this.outWidth])) : agg;
    if (this.opts.residual) {
      // The bias rides along in the residual product: out = combine(agg) + (x Wres + b).
      const res = input.times(gpu, this.param('res'), ws.get('res', [n, this.outWidth]), bias);
      out = add(gpu, out, res, ws.get('out', [n, this.outWidth]));
    } else if (bias) {
      out = biasAdd(gpu, out, bias, ws.get('out', [n, this.outWidth]));
    }
    return out;
  }

  /** Backward of the output stage: bias and residual gradients; returns d agg [N, H*C]. */
  protected outputStageBackward(ctx: StepContext, input: LayerInput, dout: Tensor): Tensor {
    const { gpu } = ctx;
    if (this.opts.bias) columnSum(gpu, dout, { out: this.grad('bias') });
    if (this.opts.residual) input.transposeTimes(gpu, dout, this.grad('res'));
    return this.averagesHeads ? headMeanBackward(gpu, dout, this.heads, this.workspace.get('dagg', [input.rows, this.hc])) : dout;
  }

  /** dx = dlin W^T (+ dout Wres^T): the input gradient, for a dense input. */
  protected inputGrad(ctx: StepContext, input: LayerInput, dlin: Tensor, w: Tensor, dout: Tensor): Tensor {
    if (!input.dense) throw new Error(`${this.constructor.name}: no input gradient for a sparse input or one with input dropout`);
    const dx = matmul(ctx.gpu, dlin, w, { transB: true, out: this.workspace.get('dx', [input.rows, this.inChannels]) });
    if (this.opts.residual) matmul(ctx.gpu, dout, this.param('res'), { transB: true, accumulate: true, out: dx });
    return dx;
  }

  protected checkInput(input: LayerInput): void {
    if (input.cols !== this.inChannels) {
      throw new Error(`${this.constructor.name}: shape mismatch: input has ${input.cols} features, the layer expects ${this.inChannels}`);
    }
  }

  /**
   * The attention coefficients of the last forward, as PyG's `return_attention_weights=True` gives them: the edge
   * list the layer attended over (self loops included; sources then destinations, in CSR order) and alpha
   * [E, heads] before dropout.
   */
  async attention(): Promise<{ edgeIndex: Int32Array; alpha: Float32Array; heads: number } | null> {
    if (!this.saved) return null;
    const { graph, alpha } = this.saved;
    const [src, dst, a] = await Promise.all([graph.src.read(), graph.dst.read(), alpha.read()]);
    const edgeIndex = new Int32Array(2 * graph.numEdges);
    edgeIndex.set(src);
    edgeIndex.set(dst, graph.numEdges);
    return { edgeIndex, alpha: a as Float32Array, heads: this.heads };
  }

  /** This layer's parameters in PyG's state_dict names and shapes. */
  abstract toStateDict(values: (name: string) => Float32Array): Record<string, NamedArray>;
  /** Sets this layer's parameters from PyG-named tensors (names without the layer prefix). */
  abstract fromStateDict(get: (name: string, shape: number[]) => Float32Array, set: (name: string, data: Float32Array) => void): void;

  /** State dict entries shared by both layers: bias, res.weight. */
  protected outputStateDict(values: (name: string) => Float32Array): Record<string, NamedArray> {
    const d: Record<string, NamedArray> = {};
    if (this.opts.bias) d['bias'] = { shape: [this.outWidth], data: values('bias') };
    if (this.opts.residual) d['res.weight'] = { shape: [this.outWidth, this.inChannels], data: transpose(values('res'), this.inChannels, this.outWidth) };
    return d;
  }

  protected outputFromStateDict(get: (name: string, shape: number[]) => Float32Array, set: (name: string, data: Float32Array) => void): void {
    if (this.opts.bias) set('bias', get('bias', [this.outWidth]));
    if (this.opts.residual) set('res', transpose(get('res.weight', [this.outWidth, this.inChannels]), this.outWidth, this.inChannels));
  }

  abstract forward(ctx: StepContext, input: LayerInput, graphs: LayerGraphs): Tensor;
  /** Writes every parameter gradient; returns the input gradient when asked (dense inputs only). */
  abstract backward(ctx: StepContext, dout: Tensor, needInputGrad: boolean): Tensor | null;

  dispose(): void {
    this.ws?.dispose();
    this.saved = null;
  }
}
