// GCNConv (Kipf & Welling, "Semi-Supervised Classification with Graph Convolutional Networks"), with PyTorch
// Geometric's semantics:
//
//   A_hat = D^-1/2 (A + I) D^-1/2          gcn_norm: self loops replaced by one per node, deg over the targets
//   out = A_hat (x W) + b                  out_i = sum_{j -> i} deg_j^-1/2 deg_i^-1/2 (x W)_j + b
//
// A_hat is built on the host (graph.ts gcnNorm) as CSR by destination with its transpose, so the forward is one
// SpMM and the backward another (dXW = A_hat^T dY), both in a fixed order: no atomics.
import type { Gpu } from '../gpu/gpu.ts';
import { gcnNorm, uploadGcn, type GcnTensors, type Graph } from '../graph.ts';
import { matmul } from '../kernels/matmul.ts';
import { columnSum } from '../kernels/reduce.ts';
import { spmm } from '../kernels/spmm.ts';
import { transpose, type LayerGraphs } from './conv.ts';
import { glorot, zeros } from './init.ts';
import { Module, type StateDict, type StateSpec } from './module.ts';
import type { ParamSpec } from './params.ts';
import { asVariable, record, Variable, type Features } from './tape.ts';

export interface GCNConvOptions {
  /** A_hat with added self loops weighing 2 (PyG's `improved`). Default false. */
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

/** The graphs a GCN layer runs on: it needs the edge list on the host to build A_hat (a GraphSet has it). */
export interface GcnGraphs extends LayerGraphs {
  /** The graph as given (no self loops added), edges in CSR order. */
  hostGraph(addSelfLoops: false): Graph;
}

/**
 * GCNConv(inChannels, outChannels, { improved = false, cached = false, addSelfLoops = true, normalize = true,
 * bias = true }): x [N, in] -> [N, out], as PyG's GCNConv. forward(x, graph). State dict: lin.weight [out, in]
 * (glorot), bias [out] (zeros). The backward: db = sum_i dout_i;  dXW = A_hat^T dout;  dW = x^T dXW;  dx = dXW W^T.
 */
export class GCNConv extends Module {
  readonly opts: Required<GCNConvOptions>;
  override readonly takesGraph = true;
  /** Normalised graphs by graph object (cached), or the last forward's (not cached: replaced every forward). */
  private cache = new Map<object, GcnTensors>();
  private current: GcnTensors | null = null;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    options: GCNConvOptions = {},
  ) {
    super();
    if (!Number.isInteger(inChannels) || inChannels < 1)
      throw new Error(`GCNConv: inChannels must be a positive integer, got ${inChannels}`);
    if (!Number.isInteger(outChannels) || outChannels < 1)
      throw new Error(`GCNConv: outChannels must be a positive integer, got ${outChannels}`);
    this.opts = {
      improved: options.improved ?? false,
      cached: options.cached ?? false,
      addSelfLoops: options.addSelfLoops ?? true,
      normalize: options.normalize ?? true,
      bias: options.bias ?? true,
    };
  }

  protected override parameterSpecs(): ParamSpec[] {
    const { inChannels: fin, outChannels: c } = this;
    const specs: ParamSpec[] = [
      { name: 'lin.weight', shape: [fin, c], init: (r) => transpose(glorot(r, c * fin, c, fin), c, fin) },
    ];
    if (this.opts.bias) specs.push({ name: 'bias', shape: [c], init: () => zeros(c) });
    return specs;
  }

  /** A_hat and its transpose for `graph`: from the cache, or built now. */
  private normalized(gpu: Gpu, graph: GcnGraphs): GcnTensors {
    const hit = this.opts.cached ? this.cache.get(graph) : undefined;
    if (hit) return hit;
    const g = graph.hostGraph(false);
    const { improved, addSelfLoops, normalize } = this.opts;
    const norm = uploadGcn(gpu, gcnNorm([g.src, g.dst], g.numNodes, { improved, addSelfLoops, normalize }));
    if (this.opts.cached) {
      this.cache.set(graph, norm);
    } else {
      // The previous forward's matrices are no longer needed once this forward is recorded.
      this.current?.dispose();
      this.current = norm;
    }
    return norm;
  }

  /** The layer on node features x [N, in] over `graph`: [N, out]. */
  override forward(x: Features, graph: GcnGraphs): Variable {
    const v = asVariable(x);
    const input = v.layerInput();
    if (input.cols !== this.inChannels) {
      throw new Error(
        `GCNConv: shape mismatch: input has ${input.cols} features, the layer expects ${this.inChannels}`,
      );
    }
    if (!graph || typeof graph.hostGraph !== 'function')
      throw new Error('GCNConv: the second argument must be the graph (a GraphSet, e.g. batch.graph)');
    const { gpu, scope } = this;
    const norm = this.normalized(gpu, graph);
    const n = input.rows,
      c = this.outChannels;
    if (norm.numNodes !== n) throw new Error(`GCNConv: the graph has ${norm.numNodes} nodes, the features ${n} rows`);
    const xw = input.times(gpu, this.param('lin.weight'), scope.get('xw', [n, c]));
    const out = spmm(gpu, norm.matrix, xw, {
      bias: this.opts.bias ? this.param('bias') : undefined,
      out: scope.get('out', [n, c]),
    });
    return record(new Variable({ value: out, scope }), {
      label: 'GCNConv',
      inputs: [v],
      saved: [v],
      owner: this,
      backward: (dout, ctx) => {
        if (this.opts.bias) columnSum(gpu, dout, { out: this.grad('bias') });
        const dxw = spmm(gpu, norm.transpose, dout, { out: scope.get('dxw', [n, c]) });
        input.transposeTimes(gpu, dxw, this.grad('lin.weight'));
        if (ctx.needsGrad(v))
          ctx.deliver(
            v,
            matmul(gpu, dxw, this.param('lin.weight'), { transB: true, out: scope.get('dx', [n, this.inChannels]) }),
          );
      },
    });
  }

  override stateSpecs(): StateSpec[] {
    const { inChannels: fin, outChannels: c } = this;
    return [{ name: 'lin.weight', shape: [c, fin] }, ...(this.opts.bias ? [{ name: 'bias', shape: [c] }] : [])];
  }

  protected override toState(values: (name: string) => Float32Array): StateDict {
    const { inChannels: fin, outChannels: c } = this;
    const d: StateDict = { 'lin.weight': { shape: [c, fin], data: transpose(values('lin.weight'), fin, c) } };
    if (this.opts.bias) d.bias = { shape: [c], data: values('bias') };
    return d;
  }

  protected override fromState(
    get: (name: string) => Float32Array,
    set: (name: string, data: Float32Array) => void,
  ): void {
    set('lin.weight', transpose(get('lin.weight'), this.outChannels, this.inChannels));
    if (this.opts.bias) set('bias', get('bias'));
  }

  protected override onDispose(): void {
    this.current?.dispose();
    this.current = null;
    for (const norm of this.cache.values()) norm.dispose();
    this.cache.clear();
  }
}
