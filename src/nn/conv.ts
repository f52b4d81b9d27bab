// What GATConv and GATv2Conv share: options, the graph they run on, and the output stage
// (concat or mean over heads, residual, bias) with its backward.
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { GraphTensors } from '../graph.ts';
import type { EdgeDropout } from '../kernels/check.ts';
import { add, biasAdd, headMeanBackward, headMeanForward } from '../kernels/elementwise.ts';
import { canFuseAttention } from '../kernels/fused-attention.ts';
import { matmul } from '../kernels/matmul.ts';
import { columnSum } from '../kernels/reduce.ts';
import { glorot, zeros } from './init.ts';
import type { LayerInput } from './input.ts';
import { Module, type StateDict, type StateSpec } from './module.ts';
import type { ParamSpec } from './params.ts';
import { asVariable, record, Variable, type Features, type Scope } from './tape.ts';

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

/** Graphs on the GPU with and without added self loops, built once and shared by the layers. */
export interface LayerGraphs {
  get(addSelfLoops: boolean): GraphTensors;
}

/** Transposes a row-major [rows, cols] matrix, or its column block [c0, c0 + n). */
export function transpose(a: Float32Array, rows: number, cols: number, c0 = 0, n = cols): Float32Array {
  const t = new Float32Array(n * rows);
  for (let r = 0; r < rows; r++) for (let c = 0; c < n; c++) t[c * rows + r] = a[r * cols + c0 + c];
  return t;
}

/** What a layer's forward keeps for its backward. */
export interface ConvCall {
  input: LayerInput;
  graph: GraphTensors;
  alpha: Tensor;
  /** Attention dropout of this call (undefined in evaluation mode). */
  dropout: EdgeDropout | undefined;
  scope: Scope;
}

export abstract class AttentionConv extends Module {
  readonly opts: ResolvedConvOptions;
  /** Width of the output: heads * channels when concatenating, channels when averaging. */
  readonly outWidth: number;
  override readonly takesGraph = true;
  /**
   * Score, softmax and aggregation run as one fused kernel (kernels/fused-attention.ts), and their backward as
   * two, unless the device allows too few storage buffers per shader stage; then as separate kernels. Set by init().
   */
  protected fused = true;
  /** The graph and coefficients of the last forward, for attention(). */
  private last: { graph: GraphTensors; alpha: Tensor; output: Variable } | null = null;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    options: ConvOptions = {},
  ) {
    super();
    if (!Number.isInteger(inChannels) || inChannels < 1)
      throw new Error(`inChannels must be a positive integer, got ${inChannels}`);
    if (!Number.isInteger(outChannels) || outChannels < 1)
      throw new Error(`outChannels must be a positive integer, got ${outChannels}`);
    this.opts = resolveConvOptions(options);
    this.outWidth = this.opts.concat ? this.opts.heads * outChannels : outChannels;
  }

  get heads() {
    return this.opts.heads;
  }
  get hc() {
    return this.opts.heads * this.outChannels;
  }

  protected override get dropoutPhase(): number | null {
    return 2;
  }

  protected override onInit(gpu: Gpu): void {
    this.fused = canFuseAttention(gpu);
  }

  /** The parameters of the attention part, named and shaped internally (weights [in, out]). */
  protected abstract attentionParams(): ParamSpec[];

  /** Parameter specs: the attention part, then `bias` and `res`. */
  protected override parameterSpecs(): ParamSpec[] {
    const specs = this.attentionParams();
    if (this.opts.bias) specs.push({ name: 'bias', shape: [this.outWidth], init: () => zeros(this.outWidth) });
    if (this.opts.residual) {
      // PyG: Linear(in, outWidth, bias=False, glorot)
      specs.push({
        name: 'res',
        shape: [this.inChannels, this.outWidth],
        init: (r) => glorot(r, this.inChannels * this.outWidth, this.outWidth, this.inChannels),
      });
    }
    return specs;
  }

  /** The layer on node features x [N, in] over `graph`: [N, outWidth]. */
  override forward(x: Features, graph: LayerGraphs): Variable {
    const v = asVariable(x);
    const input = v.layerInput();
    this.checkInput(input);
    if (!graph || typeof graph.get !== 'function')
      throw new Error(`${this.constructor.name}: the second argument must be the graph (a GraphSet, e.g. batch.graph)`);
    const g = graph.get(this.opts.addSelfLoops);
    if (g.numNodes !== input.rows)
      throw new Error(`${this.constructor.name}: the graph has ${g.numNodes} nodes, the features ${input.rows} rows`);
    const dropout =
      this.training && this.opts.dropout > 0
        ? { p: this.opts.dropout, seed: this.dropoutSeed, step: this.context.step }
        : undefined;
    const call: ConvCall = {
      input,
      graph: g,
      alpha: this.scope.get('alpha', [g.numEdges, this.heads]),
      dropout,
      scope: this.scope,
    };
    const agg = this.attend(call);
    const out = new Variable({ value: this.outputStage(call, agg), scope: this.scope });
    this.last = { graph: g, alpha: call.alpha, output: out };
    return record(out, {
      label: this.constructor.name,
      inputs: [v],
      saved: [v],
      owner: this,
      backward: (dout, ctx) => {
        const dx = this.backwardOf(call, dout, ctx.needsGrad(v));
        if (dx) ctx.deliver(v, dx);
      },
    });
  }

  /** The attention part: scores, softmax (into call.alpha), dropout and aggregation; returns agg [N, H*C]. */
  protected abstract attend(call: ConvCall): Tensor;
  /** Writes every parameter gradient; returns the input gradient when asked. */
  protected abstract backwardOf(call: ConvCall, dout: Tensor, needInputGrad: boolean): Tensor | null;

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

  /** Concat or mean over heads, + residual, + bias: out = combine(agg) + x Wres + b (b may be in agg already). */
  protected outputStage(call: ConvCall, agg: Tensor): Tensor {
    if (this.attentionBias) return agg;
    const { gpu } = this;
    const { input, scope } = call;
    const n = input.rows;
    const bias = this.opts.bias ? this.param('bias') : undefined;
    let out = this.averagesHeads ? headMeanForward(gpu, agg, this.heads, scope.get('mean', [n, this.outWidth])) : agg;
    if (this.opts.residual) {
      // The bias rides along in the residual product: out = combine(agg) + (x Wres + b).
      const res = input.times(gpu, this.param('res'), scope.get('res', [n, this.outWidth]), bias);
      out = add(gpu, out, res, scope.get('out', [n, this.outWidth]));
    } else if (bias) {
      out = biasAdd(gpu, out, bias, scope.get('out', [n, this.outWidth]));
    }
    return out;
  }

  /** Backward of the output stage: bias and residual gradients; returns d agg [N, H*C]. */
  protected outputStageBackward(call: ConvCall, dout: Tensor): Tensor {
    const { gpu } = this;
    const { input } = call;
    if (this.opts.bias) columnSum(gpu, dout, { out: this.grad('bias') });
    if (this.opts.residual) input.transposeTimes(gpu, dout, this.grad('res'));
    return this.averagesHeads
      ? headMeanBackward(gpu, dout, this.heads, call.scope.get('dagg', [input.rows, this.hc]))
      : dout;
  }

  /** dx = dlin W^T (+ dout Wres^T): the gradient of the input as the layer read it (after any dropout). */
  protected inputGrad(call: ConvCall, dlin: Tensor, w: Tensor, dout: Tensor): Tensor {
    const dx = matmul(this.gpu, dlin, w, {
      transB: true,
      out: call.scope.get('dx', [call.input.rows, this.inChannels]),
    });
    if (this.opts.residual) matmul(this.gpu, dout, this.param('res'), { transB: true, accumulate: true, out: dx });
    return dx;
  }

  protected checkInput(input: LayerInput): void {
    if (input.cols !== this.inChannels) {
      throw new Error(
        `${this.constructor.name}: shape mismatch: input has ${input.cols} features, the layer expects ${this.inChannels}`,
      );
    }
  }

  /**
   * The attention coefficients of the last forward, as PyG's `return_attention_weights=True` gives them: the edge
   * list the layer attended over (self loops included; sources then destinations, in CSR order) and alpha
   * [E, heads] before dropout. Null before the first forward or once a later forward has reused the buffers.
   */
  async attention(): Promise<{ edgeIndex: Int32Array; alpha: Float32Array; heads: number } | null> {
    if (!this.last || this.last.output.stale === 'reused') return null;
    const { graph, alpha } = this.last;
    const [src, dst, a] = await Promise.all([graph.src.read(), graph.dst.read(), alpha.read()]);
    const edgeIndex = new Int32Array(2 * graph.numEdges);
    edgeIndex.set(src);
    edgeIndex.set(dst, graph.numEdges);
    return { edgeIndex, alpha: a as Float32Array, heads: this.heads };
  }

  /** State dict entries shared by both layers, after the attention part's own: bias, then res.weight (a child). */
  protected outputStateSpecs(): StateSpec[] {
    const specs: StateSpec[] = [];
    if (this.opts.bias) specs.push({ name: 'bias', shape: [this.outWidth] });
    return specs;
  }

  protected residualStateSpecs(): StateSpec[] {
    return this.opts.residual ? [{ name: 'res.weight', shape: [this.outWidth, this.inChannels] }] : [];
  }

  protected outputToState(values: (name: string) => Float32Array): { bias: StateDict; res: StateDict } {
    const bias: StateDict = {},
      res: StateDict = {};
    if (this.opts.bias) bias['bias'] = { shape: [this.outWidth], data: values('bias') };
    if (this.opts.residual)
      res['res.weight'] = {
        shape: [this.outWidth, this.inChannels],
        data: transpose(values('res'), this.inChannels, this.outWidth),
      };
    return { bias, res };
  }

  protected outputFromState(
    get: (name: string) => Float32Array,
    set: (name: string, data: Float32Array) => void,
  ): void {
    if (this.opts.bias) set('bias', get('bias'));
    if (this.opts.residual) set('res', transpose(get('res.weight'), this.outWidth, this.inChannels));
  }

  override dispose(): void {
    this.last = null;
    super.dispose();
  }
}
