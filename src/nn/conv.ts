// What GATConv and GATv2Conv share: options, the graph they run on, and the output stage
// (concat or mean over heads, residual, bias) with its backward.
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { GraphTensors } from '../graph.ts';
import type { EdgeDropout } from '../kernels/check.ts';
import { checkFillValue, csrEdgeAttr, csrEdgeAttrBackward, type FillValue } from '../kernels/edge-attr.ts';
import { add, biasAdd, fill, headMeanBackward, headMeanForward } from '../kernels/elementwise.ts';
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
  /**
   * Width D of the edge attributes forward() may take (PyG's edge_dim): adds lin_edge, a linear map D -> H*C
   * without bias. Default none (null).
   */
  edgeDim?: number | null;
  /**
   * The edge attributes of the added self loops (PyG's fill_value): 'mean' of the node's incoming edges' attributes
   * (default), 'add', 'max', 'min' (0 for a node without incoming edges), or a number in every column.
   */
  fillValue?: FillValue;
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
    edgeDim: o.edgeDim ?? null,
    fillValue: o.fillValue ?? 'mean',
  };
  if (!Number.isInteger(r.heads) || r.heads < 1) throw new Error(`heads must be a positive integer, got ${o.heads}`);
  if (!(r.dropout >= 0 && r.dropout < 1)) throw new Error(`dropout must be in [0, 1), got ${o.dropout}`);
  if (r.edgeDim !== null && !(Number.isInteger(r.edgeDim) && r.edgeDim >= 1))
    throw new Error(`edgeDim must be a positive integer (or null for none), got ${o.edgeDim}`);
  checkFillValue('fillValue', r.fillValue);
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

/** The edge features of one forward call. */
export interface EdgeFeatures {
  /** The caller's edge_attr [E_in, D], in edge_index order. */
  attr: Tensor;
  /** The attributes in the graph's CSR order, self loops filled [E, D]. */
  csr: Tensor;
  /** lin_edge of them [E, H*C]. */
  lin: Tensor;
}

/** What a layer's forward keeps for its backward. */
export interface ConvCall {
  input: LayerInput;
  graph: GraphTensors;
  alpha: Tensor;
  /** Attention dropout of this call (undefined in evaluation mode). */
  dropout: EdgeDropout | undefined;
  /** Edge features, when the forward was given them. */
  edge: EdgeFeatures | null;
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

  /**
   * The layer on node features x [N, in] over `graph`: [N, outWidth]. With edgeDim, `edgeAttr` [E, edgeDim] (one
   * row per edge_index column, a tensor or a Variable) adds the edge term to the scores; without it there is none.
   */
  override forward(x: Features, graph: LayerGraphs, edgeAttr?: Tensor | Variable): Variable {
    const v = asVariable(x);
    const input = v.layerInput();
    this.checkInput(input);
    if (!graph || typeof graph.get !== 'function')
      throw new Error(`${this.constructor.name}: the second argument must be the graph (a GraphSet, e.g. batch.graph)`);
    const g = graph.get(this.opts.addSelfLoops);
    if (g.numNodes !== input.rows)
      throw new Error(`${this.constructor.name}: the graph has ${g.numNodes} nodes, the features ${input.rows} rows`);
    const ev = edgeAttr === undefined ? null : this.edgeVariable(edgeAttr, g);
    const dropout =
      this.training && this.opts.dropout > 0
        ? { p: this.opts.dropout, seed: this.dropoutSeed, step: this.context.step }
        : undefined;
    const call: ConvCall = {
      input,
      graph: g,
      alpha: this.scope.get('alpha', [g.numEdges, this.heads]),
      dropout,
      edge: ev ? this.edgeFeatures(g, ev) : null,
      scope: this.scope,
    };
    const agg = this.attend(call);
    const out = new Variable({ value: this.outputStage(call, agg), scope: this.scope });
    this.last = { graph: g, alpha: call.alpha, output: out };
    return record(out, {
      label: this.constructor.name,
      inputs: ev ? [v, ev] : [v],
      saved: ev ? [v, ev] : [v],
      owner: this,
      backward: (dout, ctx) => {
        const dx = this.backwardOf(call, dout, ctx.needsGrad(v));
        if (dx) ctx.deliver(v, dx);
        if (ev && ctx.needsGrad(ev)) ctx.deliver(ev, this.edgeAttrGrad(call));
        if (!ev) this.zeroEdgeGrads();
      },
    });
  }

  /** Checks edgeAttr against edgeDim and the graph; a tensor becomes a Variable without gradient. */
  private edgeVariable(edgeAttr: Tensor | Variable, g: GraphTensors): Variable {
    const name = this.constructor.name;
    const D = this.opts.edgeDim;
    if (D === null)
      throw new Error(`${name}: forward was given edgeAttr, but the layer has no edgeDim (make it with { edgeDim })`);
    if (!(edgeAttr instanceof Variable)) {
      const t = edgeAttr as Tensor;
      if (!t || typeof t !== 'object' || !('dtype' in t) || t.dtype !== 'f32' || t.shape.length !== 2) {
        const got = t && typeof t === 'object' && 'dtype' in t ? `${t.dtype} [${t.shape}]` : String(t);
        throw new Error(`${name}: edgeAttr must be an f32 tensor or Variable [edges, edgeDim], got ${got}`);
      }
    }
    const ev = edgeAttr instanceof Variable ? edgeAttr : Variable.leaf(edgeAttr);
    if (ev.cols !== D)
      throw new Error(`${name}: edgeAttr has ${ev.cols} features per edge, the layer's edgeDim is ${D}`);
    if (ev.rows !== g.numInputEdges)
      throw new Error(`${name}: edgeAttr has ${ev.rows} rows, the graph ${g.numInputEdges} edges (one per column)`);
    return ev;
  }

  /** The edge attributes in CSR order with the self loops filled, and lin_edge of them. */
  private edgeFeatures(g: GraphTensors, ev: Variable): EdgeFeatures {
    const { gpu, scope } = this;
    const attr = ev.dense();
    const csr = csrEdgeAttr(gpu, g, attr, this.opts.fillValue, scope.get('edge_attr', [g.numEdges, attr.shape[1]!]));
    const lin = matmul(gpu, csr, this.param('lin_edge.weight'), { out: scope.get('edge_lin', [g.numEdges, this.hc]) });
    return { attr, csr, lin };
  }

  /** A forward without edge features leaves lin_edge (and att_edge) out of the output: their gradients are 0. */
  private zeroEdgeGrads(): void {
    for (const { name } of this.parameterSpecs()) {
      if (name.startsWith('lin_edge.') || name === 'att_edge') fill(this.gpu, this.grad(name), 0);
    }
  }

  /** Backward of lin_edge given d lin_edge(e) [E, H*C]: writes d lin_edge.weight. */
  protected edgeWeightGrad(call: ConvCall, dlin: Tensor): void {
    matmul(this.gpu, call.edge!.csr, dlin, { transA: true, out: this.grad('lin_edge.weight') });
  }

  /** d edge_attr [E_in, D] (edge_index order), from the d lin_edge(e) the backward left in 'dedge_lin'. */
  private edgeAttrGrad(call: ConvCall): Tensor {
    const { gpu } = this;
    const { graph: g, scope, edge } = call;
    const D = edge!.csr.shape[1]!;
    const dlin = scope.get('dedge_lin', [g.numEdges, this.hc]);
    const dcsr = matmul(gpu, dlin, this.param('lin_edge.weight'), {
      transB: true,
      out: scope.get('dedge_attr_csr', [g.numEdges, D]),
    });
    return csrEdgeAttrBackward(gpu, g, dcsr, this.opts.fillValue, {
      edgeAttr: edge!.attr,
      dEdgeAttr: scope.get('dedge_attr', [g.numInputEdges, D]),
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
        `${this.constructor.name}: shape mismatch: input has ${input.cols} features, the layer expects ` +
          `${this.inChannels}`,
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

  /** lin_edge.weight [H*C, edgeDim], with edgeDim. */
  protected edgeStateSpecs(): StateSpec[] {
    const D = this.opts.edgeDim;
    return D === null ? [] : [{ name: 'lin_edge.weight', shape: [this.hc, D] }];
  }

  protected edgeToState(values: (name: string) => Float32Array): StateDict {
    const D = this.opts.edgeDim;
    if (D === null) return {};
    return { 'lin_edge.weight': { shape: [this.hc, D], data: transpose(values('lin_edge.weight'), D, this.hc) } };
  }

  protected edgeFromState(get: (name: string) => Float32Array, set: (name: string, data: Float32Array) => void): void {
    const D = this.opts.edgeDim;
    if (D !== null) set('lin_edge.weight', transpose(get('lin_edge.weight'), this.hc, D));
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
