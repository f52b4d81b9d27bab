// GCNConv (Kipf & Welling, "Semi-Supervised Classification with Graph Convolutional Networks"), with PyTorch
// Geometric's semantics:
//
//   A_hat = D^-1/2 (A + I) D^-1/2          gcn_norm: self loops replaced by one per node, deg over the targets
//   out = A_hat (x W) + b                  out_i = sum_{j -> i} deg_j^-1/2 deg_i^-1/2 (x W)_j + b
//
// A_hat is built on the host (graph.ts gcnNorm) as CSR by destination with its transpose, so the forward is one
// SpMM and the backward another (dY' = A_hat^T dY), both in a fixed order: no atomics.
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { gcnNorm, uploadGcn, type GcnTensors, type Graph } from '../graph.ts';
import { matmul } from '../kernels/matmul.ts';
import { columnSum } from '../kernels/reduce.ts';
import { spmm } from '../kernels/spmm.ts';
import { transpose, type LayerGraphs, type NamedArray, type StepContext } from './conv.ts';
import { glorot, zeros } from './init.ts';
import type { LayerInput } from './input.ts';
import type { ParameterStore, ParamSpec } from './params.ts';
import { Workspace } from './workspace.ts';

export interface GCNConvOptions {
  /** A_hat with self loops weighing 2 (PyG's `improved`). Default false. */
  improved?: boolean;
  /**
   * Keep the normalised graph of each graph the layer sees (until dispose), instead of rebuilding it on every
   * forward: for a fixed graph (transductive learning). PyG caches the first graph it is given for good; here each
   * graph object has its own entry. Default false (as PyG).
   */
  cached?: boolean;
  /** Replace existing self loops by one per node before normalising. Default true. */
  addSelfLoops?: boolean;
  /** Symmetric normalisation (gcn_norm); without it the plain adjacency, no self loops. Default true. */
  normalize?: boolean;
  bias?: boolean;
}

/** The graphs a GCN layer runs on: it needs the edge list on the host to build A_hat. */
export interface GcnGraphs extends LayerGraphs {
  /** The graph as given (no self loops added), edges in CSR order. */
  hostGraph(addSelfLoops: false): Graph;
}

/**
 * out = A_hat (x W) + b. x [N, in] (dense or sparse), W [in, out] internally (PyG's `lin.weight` [out, in], glorot),
 * b [out] (zeros). The forward keeps its input and A_hat for the backward:
 *   db = sum_i dout_i;  dXW = A_hat^T dout;  dW = x^T dXW;  dx = dXW W^T.
 */
export class GCNConv {
  readonly opts: Required<GCNConvOptions>;
  private ws: Workspace | null = null;
  private store: ParameterStore | null = null;
  private prefix = '';
  /** Normalised graphs by graph object (cached), or the last forward's (not cached: replaced every forward). */
  private cache = new Map<object, GcnTensors>();
  private current: GcnTensors | null = null;
  private saved: { input: LayerInput; norm: GcnTensors } | null = null;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    options: GCNConvOptions = {},
  ) {
    if (!Number.isInteger(inChannels) || inChannels < 1)
      throw new Error(`inChannels must be a positive integer, got ${inChannels}`);
    if (!Number.isInteger(outChannels) || outChannels < 1)
      throw new Error(`outChannels must be a positive integer, got ${outChannels}`);
    this.opts = {
      improved: options.improved ?? false,
      cached: options.cached ?? false,
      addSelfLoops: options.addSelfLoops ?? true,
      normalize: options.normalize ?? true,
      bias: options.bias ?? true,
    };
  }

  get outWidth() {
    return this.outChannels;
  }

  /** Parameter specs, names prefixed (e.g. `conv1.`): `lin.weight` [in, out] (glorot), `bias` [out] (zeros). */
  paramSpecs(prefix: string): ParamSpec[] {
    const { inChannels: fin, outChannels: c } = this;
    const specs: ParamSpec[] = [
      { name: 'lin.weight', shape: [fin, c], init: (r) => transpose(glorot(r, c * fin, c, fin), c, fin) },
    ];
    if (this.opts.bias) specs.push({ name: 'bias', shape: [c], init: () => zeros(c) });
    return specs.map((s) => ({ ...s, name: prefix + s.name }));
  }

  bind(gpu: Gpu, store: ParameterStore, prefix: string): void {
    this.store = store;
    this.prefix = prefix;
    this.ws = new Workspace(gpu);
  }

  private param(name: string): Tensor {
    return this.store!.value(this.prefix + name);
  }

  private grad(name: string): Tensor {
    return this.store!.grad(this.prefix + name);
  }

  private get workspace(): Workspace {
    if (!this.ws) throw new Error('GCNConv: the layer is not bound to parameters yet');
    return this.ws;
  }

  /** A_hat and its transpose for `graphs`: from the cache, or built now. */
  private normalized(gpu: Gpu, graphs: GcnGraphs): GcnTensors {
    const hit = this.opts.cached ? this.cache.get(graphs) : undefined;
    if (hit) return hit;
    const g = graphs.hostGraph(false);
    const { improved, addSelfLoops, normalize } = this.opts;
    const norm = uploadGcn(gpu, gcnNorm([g.src, g.dst], g.numNodes, { improved, addSelfLoops, normalize }));
    if (this.opts.cached) {
      this.cache.set(graphs, norm);
    } else {
      // The previous forward's matrices are no longer needed once this forward is recorded.
      this.current?.dispose();
      this.current = norm;
    }
    return norm;
  }

  forward(ctx: StepContext, input: LayerInput, graphs: GcnGraphs): Tensor {
    if (input.cols !== this.inChannels) {
      throw new Error(
        `GCNConv: shape mismatch: input has ${input.cols} features, the layer expects ${this.inChannels}`,
      );
    }
    const { gpu } = ctx;
    const ws = this.workspace;
    const n = input.rows,
      c = this.outChannels;
    const norm = this.normalized(gpu, graphs);
    if (norm.numNodes !== n)
      throw new Error(`GCNConv: the graph has ${norm.numNodes} nodes but the input has ${n} rows`);
    const xw = input.times(gpu, this.param('lin.weight'), ws.get('xw', [n, c]));
    const out = spmm(gpu, norm.matrix, xw, {
      bias: this.opts.bias ? this.param('bias') : undefined,
      out: ws.get('out', [n, c]),
    });
    this.saved = { input, norm };
    return out;
  }

  /** Writes every parameter gradient; returns the input gradient when asked (dense inputs only). */
  backward(ctx: StepContext, dout: Tensor, needInputGrad: boolean): Tensor | null {
    if (!this.saved) throw new Error('GCNConv.backward called before forward');
    const { input, norm } = this.saved;
    const { gpu } = ctx;
    const ws = this.workspace;
    const n = input.rows;
    if (this.opts.bias) columnSum(gpu, dout, { out: this.grad('bias') });
    const dxw = spmm(gpu, norm.transpose, dout, { out: ws.get('dxw', [n, this.outChannels]) });
    input.transposeTimes(gpu, dxw, this.grad('lin.weight'));
    if (!needInputGrad) return null;
    if (!input.dense) throw new Error('GCNConv: no input gradient for a sparse input or one with input dropout');
    return matmul(gpu, dxw, this.param('lin.weight'), { transB: true, out: ws.get('dx', [n, this.inChannels]) });
  }

  /** This layer's parameters in PyG's state_dict names and shapes: `lin.weight` [out, in], `bias` [out]. */
  toStateDict(values: (name: string) => Float32Array): Record<string, NamedArray> {
    const { inChannels: fin, outChannels: c } = this;
    const d: Record<string, NamedArray> = {
      'lin.weight': { shape: [c, fin], data: transpose(values('lin.weight'), fin, c) },
    };
    if (this.opts.bias) d['bias'] = { shape: [c], data: values('bias') };
    return d;
  }

  /** Sets this layer's parameters from PyG-named tensors (names without the layer prefix). */
  fromStateDict(
    get: (name: string, shape: number[]) => Float32Array,
    set: (name: string, data: Float32Array) => void,
  ): void {
    const { inChannels: fin, outChannels: c } = this;
    set('lin.weight', transpose(get('lin.weight', [c, fin]), c, fin));
    if (this.opts.bias) set('bias', get('bias', [c]));
  }

  dispose(): void {
    this.ws?.dispose();
    this.ws = null;
    this.current?.dispose();
    this.current = null;
    for (const norm of this.cache.values()) norm.dispose();
    this.cache.clear();
    this.saved = null;
  }
}
