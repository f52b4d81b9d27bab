// GATv2Conv (Brody et al., "How Attentive are Graph Attention Networks?"), with PyTorch Geometric's semantics:
//
//   x_l = x W_l + b_l,  x_r = x W_r + b_r                      (one product: x [W_l | W_r])
//   e_ij = att . LeakyReLU(x_l[j] + x_r[i] (+ W_e e_ji))       for each edge j -> i, per head (W_e: lin_edge,
//                                                              with edgeDim and edge attributes given)
//   alpha_ij = softmax over the incoming edges of i (e_ij)     then dropout in training
//   out_i = sum_j alpha_ij x_l[j]                              concat or mean over heads, + x W_res, + bias
import { nodeMatrix, type NodeMatrix } from '../kernels/check.ts';
import { gatv2Score, gatv2ScoreBackward } from '../kernels/edge-scores.ts';
import { aggregate, aggregateBackward } from '../kernels/aggregate.ts';
import { gatv2Attend, gatv2AttendBackward } from '../kernels/fused-attention.ts';
import { add } from '../kernels/elementwise.ts';
import { columnSum } from '../kernels/reduce.ts';
import { segmentSoftmax, segmentSoftmaxBackward } from '../kernels/softmax.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { AttentionConv, transpose, type ConvCall, type ConvOptions } from './conv.ts';
import { glorot, linearBias } from './init.ts';
import type { StateDict, StateSpec } from './module.ts';
import type { ParamSpec } from './params.ts';

/**
 * GATv2Conv(inChannels, outChannels, { heads = 1, concat = true, negativeSlope = 0.2, dropout = 0, addSelfLoops = true,
 * bias = true, shareWeights = false, residual = false, edgeDim = null, fillValue = 'mean' }): x [N, in] ->
 * [N, heads * out] (concat) or [N, out] (mean), as PyG's GATv2Conv. forward(x, graph, edgeAttr?) with edgeAttr
 * [E, edgeDim] in edge_index order (self loops get fillValue). State dict: att [1, H, C], bias, lin_l.weight
 * [H*C, in], lin_l.bias, lin_r.weight, lin_r.bias, lin_edge.weight [H*C, edgeDim], res.weight.
 */
export class GATv2Conv extends AttentionConv {
  constructor(inChannels: number, outChannels: number, options: ConvOptions = {}) {
    super(inChannels, outChannels, options);
  }

  /** Width of the fused linear output: [x_l | x_r], or x_l alone when the weights are shared. */
  get linWidth() {
    return this.opts.shareWeights ? this.hc : 2 * this.hc;
  }

  protected attentionParams(): ParamSpec[] {
    const { inChannels: fin, hc, linWidth: p } = this;
    // Glorot per PyTorch-shaped [hc, in] block: lin_l then lin_r, stored side by side as [in, p].
    const weight = (r: () => number) => {
      const w = new Float32Array(fin * p);
      for (let block = 0; block < p / hc; block++) {
        const wt = glorot(r, hc * fin, hc, fin); // [hc, in] as PyTorch has it
        for (let o = 0; o < hc; o++) for (let i = 0; i < fin; i++) w[i * p + block * hc + o] = wt[o * fin + i];
      }
      return w;
    };
    const specs: ParamSpec[] = [{ name: 'lin.weight', shape: [fin, p], init: weight }];
    if (this.opts.bias) specs.push({ name: 'lin.bias', shape: [p], init: (r) => linearBias(r, p, fin) });
    specs.push({ name: 'att', shape: [hc], init: (r) => glorot(r, hc, this.heads, this.outChannels) });
    const D = this.opts.edgeDim;
    if (D !== null) {
      // PyG: Linear(edgeDim, H*C, bias=False, glorot), stored [D, H*C].
      specs.push({ name: 'lin_edge.weight', shape: [D, hc], init: (r) => transpose(glorot(r, hc * D, hc, D), hc, D) });
    }
    return specs;
  }

  /** x_l and x_r: column blocks of the one product x [W_l | W_r] (+ [b_l | b_r]). */
  private views(lin: Tensor): { xl: NodeMatrix; xr: NodeMatrix } {
    const p = this.linWidth;
    return { xl: nodeMatrix(lin, p, 0), xr: nodeMatrix(lin, p, this.opts.shareWeights ? 0 : this.hc) };
  }

  protected attend(call: ConvCall): Tensor {
    const { gpu } = this;
    const { input, graph, alpha, dropout, scope } = call;
    const n = input.rows,
      p = this.linWidth,
      hc = this.hc;
    const dims = this.dims;
    const lin = input.times(
      gpu,
      this.param('lin.weight'),
      scope.get('lin', [n, p]),
      this.opts.bias ? this.param('lin.bias') : undefined,
    );
    const { xl, xr } = this.views(lin);
    const agg = scope.get('agg', [n, hc]);
    const edge = call.edge?.lin;
    if (this.fused) {
      gatv2Attend(gpu, graph, xl, xr, this.param('att'), dims, {
        dropout,
        bias: this.attentionBias,
        alpha,
        out: agg,
        edge,
      });
    } else {
      const e = gatv2Score(gpu, graph, xl, xr, this.param('att'), dims, scope.get('e', [graph.numEdges, this.heads]), {
        edge,
      });
      segmentSoftmax(gpu, graph, e, this.heads, alpha);
      aggregate(gpu, graph, alpha, xl, dims, { dropout, out: agg });
    }
    return agg;
  }

  protected backwardOf(call: ConvCall, dout: Tensor, needInputGrad: boolean): Tensor | null {
    const { gpu } = this;
    const { input, graph, alpha, dropout, scope } = call;
    const n = input.rows,
      p = this.linWidth,
      hc = this.hc;
    const dims = this.dims;
    const { xl, xr } = this.views(scope.get('lin', [n, p]));

    const dagg = this.outputStageBackward(call, dout);
    let dlin = scope.get('dlin', [n, p]);
    // With shared weights x_l and x_r are one tensor: its gradient is the sum of both roles.
    const dxr = this.opts.shareWeights ? nodeMatrix(scope.get('dxr', [n, hc]), hc, 0) : nodeMatrix(dlin, p, hc);
    const E = graph.numEdges;
    // With edge features: d lin_edge(e) [E, H*C] of the edge term, written by the score backward.
    const edge = call.edge ? { edge: call.edge.lin, dedge: scope.get('dedge_lin', [E, hc]) } : {};
    if (this.fused) {
      gatv2AttendBackward(gpu, graph, xl, xr, this.param('att'), alpha, dagg, dims, {
        dropout,
        dxl: nodeMatrix(dlin, p, 0),
        dxr,
        datt: this.grad('att'),
        ...edge,
      });
    } else {
      // Aggregation (writes dxl), softmax, then scores (adds to dxl, writes dxr).
      const { dalpha } = aggregateBackward(gpu, graph, alpha, xl, dagg, dims, {
        dalpha: scope.get('dalpha', [E, this.heads]),
        dx: nodeMatrix(dlin, p, 0),
        dropout,
      });
      const de = segmentSoftmaxBackward(gpu, graph, alpha, dalpha, this.heads, scope.get('de', [E, this.heads]));
      gatv2ScoreBackward(gpu, graph, xl, xr, this.param('att'), de, dims, {
        dxl: nodeMatrix(dlin, p, 0),
        dxr,
        datt: this.grad('att'),
        accumulateDxl: true,
        ...edge,
      });
    }
    if (call.edge) this.edgeWeightGrad(call, scope.get('dedge_lin', [E, hc]));
    if (this.opts.shareWeights) dlin = add(gpu, dlin, dxr.t, scope.get('dlin_sum', [n, p]));
    if (this.opts.bias) columnSum(gpu, dlin, { out: this.grad('lin.bias') });
    input.transposeTimes(gpu, dlin, this.grad('lin.weight'));
    return needInputGrad ? this.inputGrad(call, dlin, this.param('lin.weight'), dout) : null;
  }

  override stateSpecs(): StateSpec[] {
    const { inChannels: fin, hc } = this;
    // With shared weights lin_r is lin_l: listed (as PyTorch does), but it may be left out of a dict.
    const alias = (name: string) => (this.opts.shareWeights ? { alias: name.replace('lin_r', 'lin_l') } : {});
    const lin = (side: string) => [
      { name: `${side}.weight`, shape: [hc, fin], ...(side === 'lin_r' ? alias(`${side}.weight`) : {}) },
      ...(this.opts.bias
        ? [{ name: `${side}.bias`, shape: [hc], ...(side === 'lin_r' ? alias(`${side}.bias`) : {}) }]
        : []),
    ];
    return [
      { name: 'att', shape: [1, this.heads, this.outChannels] },
      ...this.outputStateSpecs(),
      ...lin('lin_l'),
      ...lin('lin_r'),
      ...this.edgeStateSpecs(),
      ...this.residualStateSpecs(),
    ];
  }

  protected override toState(values: (name: string) => Float32Array): StateDict {
    const { inChannels: fin, hc, linWidth: p } = this;
    const w = values('lin.weight');
    const d: StateDict = {};
    const rOff = this.opts.shareWeights ? 0 : hc;
    const { bias, res } = this.outputToState(values);
    d['att'] = { shape: [1, this.heads, this.outChannels], data: values('att') };
    Object.assign(d, bias);
    d['lin_l.weight'] = { shape: [hc, fin], data: transpose(w, fin, p, 0, hc) };
    if (this.opts.bias) d['lin_l.bias'] = { shape: [hc], data: values('lin.bias').slice(0, hc) };
    d['lin_r.weight'] = { shape: [hc, fin], data: transpose(w, fin, p, rOff, hc) };
    if (this.opts.bias) d['lin_r.bias'] = { shape: [hc], data: values('lin.bias').slice(rOff, rOff + hc) };
    Object.assign(d, this.edgeToState(values));
    return Object.assign(d, res);
  }

  protected override fromState(
    get: (name: string) => Float32Array,
    set: (name: string, data: Float32Array) => void,
  ): void {
    const { inChannels: fin, hc, linWidth: p } = this;
    const w = new Float32Array(fin * p);
    // With shared weights lin_r is lin_l (PyTorch saves it under both names); the lin_l entries are loaded.
    const blocks = this.opts.shareWeights ? ['lin_l'] : ['lin_l', 'lin_r'];
    const b = new Float32Array(p);
    blocks.forEach((name, k) => {
      const wt = get(`${name}.weight`);
      for (let o = 0; o < hc; o++) for (let i = 0; i < fin; i++) w[i * p + k * hc + o] = wt[o * fin + i];
      if (this.opts.bias) b.set(get(`${name}.bias`), k * hc);
    });
    set('lin.weight', w);
    if (this.opts.bias) set('lin.bias', b);
    set('att', get('att'));
    this.edgeFromState(get, set);
    this.outputFromState(get, set);
  }
}
