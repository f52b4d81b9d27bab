// GATConv (Velickovic et al., "Graph Attention Networks"), with PyTorch Geometric's semantics:
//
//   h = x W                                          (no bias, as PyG's GATConv)
//   a_src[j] = h[j] . att_src,  a_dst[i] = h[i] . att_dst      per head
//   a_edge[ji] = (W_e e_ji) . att_edge               per head, with edgeDim and edge attributes given
//   e_ij = LeakyReLU(a_src[j] + a_dst[i] (+ a_edge[ji]))   for each edge j -> i
//   alpha_ij = softmax over the incoming edges of i  then dropout in training
//   out_i = sum_j alpha_ij h[j]                      concat or mean over heads, + x W_res, + bias
import { nodeMatrix } from '../kernels/check.ts';
import { gatScore, gatScoreBackward, headDot, headDotBackward } from '../kernels/edge-scores.ts';
import { aggregate, aggregateBackward } from '../kernels/aggregate.ts';
import { gatAttend, gatAttendBackward } from '../kernels/fused-attention.ts';
import { segmentSoftmax, segmentSoftmaxBackward } from '../kernels/softmax.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { AttentionConv, transpose, type ConvCall, type ConvOptions } from './conv.ts';
import { glorot } from './init.ts';
import type { StateDict, StateSpec } from './module.ts';
import type { ParamSpec } from './params.ts';

/**
 * GATConv(inChannels, outChannels, { heads = 1, concat = true, negativeSlope = 0.2, dropout = 0, addSelfLoops = true,
 * bias = true, residual = false, edgeDim = null, fillValue = 'mean' }): x [N, in] -> [N, heads * out] (concat) or
 * [N, out] (mean), as PyG's GATConv. forward(x, graph, edgeAttr?) with edgeAttr [E, edgeDim] in edge_index order
 * (self loops get fillValue). State dict (PyG >= 2.5): att_src, att_dst, att_edge [1, H, C], bias, lin.weight
 * [H*C, in], lin_edge.weight [H*C, edgeDim], res.weight.
 */
export class GATConv extends AttentionConv {
  constructor(inChannels: number, outChannels: number, options: ConvOptions = {}) {
    if (options.shareWeights) throw new Error('GATConv has no shareWeights option (it has a single linear map)');
    super(inChannels, outChannels, options);
  }

  protected attentionParams(): ParamSpec[] {
    const { inChannels: fin, hc, heads, outChannels: c } = this;
    const specs: ParamSpec[] = [
      { name: 'lin.weight', shape: [fin, hc], init: (r) => transpose(glorot(r, hc * fin, hc, fin), hc, fin) },
      { name: 'att_src', shape: [hc], init: (r) => glorot(r, hc, heads, c) },
      { name: 'att_dst', shape: [hc], init: (r) => glorot(r, hc, heads, c) },
    ];
    const D = this.opts.edgeDim;
    if (D !== null) {
      // PyG: Linear(edgeDim, H*C, bias=False, glorot), stored [D, H*C]; att_edge glorot as att_src.
      specs.push({ name: 'lin_edge.weight', shape: [D, hc], init: (r) => transpose(glorot(r, hc * D, hc, D), hc, D) });
      specs.push({ name: 'att_edge', shape: [hc], init: (r) => glorot(r, hc, heads, c) });
    }
    return specs;
  }

  protected attend(call: ConvCall): Tensor {
    const { gpu } = this;
    const { input, graph, alpha, dropout, scope } = call;
    const n = input.rows,
      hc = this.hc,
      heads = this.heads;
    const dims = this.dims;
    const h = nodeMatrix(input.times(gpu, this.param('lin.weight'), scope.get('lin', [n, hc])));
    const aSrc = headDot(gpu, h, this.param('att_src'), n, dims, scope.get('a_src', [n, heads]));
    const aDst = headDot(gpu, h, this.param('att_dst'), n, dims, scope.get('a_dst', [n, heads]));
    const agg = scope.get('agg', [n, hc]);
    // With edge features: a_edge [E, H], the per-head dot of lin_edge(e) with att_edge.
    const E = graph.numEdges;
    const edge = call.edge
      ? headDot(gpu, nodeMatrix(call.edge.lin), this.param('att_edge'), E, dims, scope.get('a_edge', [E, heads]))
      : undefined;
    if (this.fused) {
      gatAttend(gpu, graph, aSrc, aDst, h, dims, { dropout, bias: this.attentionBias, alpha, out: agg, edge });
    } else {
      const e = gatScore(gpu, graph, aSrc, aDst, dims, scope.get('e', [graph.numEdges, heads]), { edge });
      segmentSoftmax(gpu, graph, e, heads, alpha);
      aggregate(gpu, graph, alpha, h, dims, { dropout, out: agg });
    }
    return agg;
  }

  protected backwardOf(call: ConvCall, dout: Tensor, needInputGrad: boolean): Tensor | null {
    const { gpu } = this;
    const { input, graph, alpha, dropout, scope } = call;
    const n = input.rows,
      hc = this.hc,
      heads = this.heads;
    const dims = this.dims;
    const h = nodeMatrix(scope.get('lin', [n, hc]));

    const dagg = this.outputStageBackward(call, dout);
    const dlin = scope.get('dlin', [n, hc]);
    const aSrc = scope.get('a_src', [n, heads]),
      aDst = scope.get('a_dst', [n, heads]);
    const das = scope.get('da_src', [n, heads]),
      dad = scope.get('da_dst', [n, heads]);
    const E = graph.numEdges;
    const edge = call.edge ? { edge: scope.get('a_edge', [E, heads]), dedge: scope.get('da_edge', [E, heads]) } : {};
    if (this.fused) {
      gatAttendBackward(gpu, graph, aSrc, aDst, h, alpha, dagg, dims, {
        dropout,
        dx: nodeMatrix(dlin),
        das,
        dad,
        ...edge,
      });
    } else {
      // Aggregation (writes d lin), softmax, then scores.
      const { dalpha } = aggregateBackward(gpu, graph, alpha, h, dagg, dims, {
        dalpha: scope.get('dalpha', [graph.numEdges, heads]),
        dx: nodeMatrix(dlin),
        dropout,
      });
      const de = segmentSoftmaxBackward(gpu, graph, alpha, dalpha, heads, scope.get('de', [graph.numEdges, heads]));
      gatScoreBackward(gpu, graph, aSrc, aDst, de, dims, { das, dad, ...edge });
    }
    if (call.edge) {
      // a_edge = lin_edge(e) . att_edge: d att_edge, then d lin_edge(e) and d lin_edge.weight.
      const dedgeLin = scope.get('dedge_lin', [E, hc]);
      const daEdge = scope.get('da_edge', [E, heads]);
      headDotBackward(gpu, nodeMatrix(call.edge.lin), this.param('att_edge'), daEdge, E, dims, {
        dx: nodeMatrix(dedgeLin),
        datt: this.grad('att_edge'),
      });
      this.edgeWeightGrad(call, dedgeLin);
    }
    headDotBackward(gpu, h, this.param('att_src'), das, n, dims, {
      dx: nodeMatrix(dlin),
      datt: this.grad('att_src'),
      accumulateDx: true,
    });
    headDotBackward(gpu, h, this.param('att_dst'), dad, n, dims, {
      dx: nodeMatrix(dlin),
      datt: this.grad('att_dst'),
      accumulateDx: true,
    });
    input.transposeTimes(gpu, dlin, this.grad('lin.weight'));
    return needInputGrad ? this.inputGrad(call, dlin, this.param('lin.weight'), dout) : null;
  }

  override stateSpecs(): StateSpec[] {
    const { inChannels: fin, hc, heads, outChannels: c } = this;
    const edge = this.opts.edgeDim !== null;
    return [
      { name: 'att_src', shape: [1, heads, c] },
      { name: 'att_dst', shape: [1, heads, c] },
      ...(edge ? [{ name: 'att_edge', shape: [1, heads, c] }] : []),
      ...this.outputStateSpecs(),
      { name: 'lin.weight', shape: [hc, fin] },
      ...this.edgeStateSpecs(),
      ...this.residualStateSpecs(),
    ];
  }

  protected override toState(values: (name: string) => Float32Array): StateDict {
    const { inChannels: fin, hc, heads, outChannels: c } = this;
    const { bias, res } = this.outputToState(values);
    return {
      att_src: { shape: [1, heads, c], data: values('att_src') },
      att_dst: { shape: [1, heads, c], data: values('att_dst') },
      ...(this.opts.edgeDim !== null ? { att_edge: { shape: [1, heads, c], data: values('att_edge') } } : {}),
      ...bias,
      'lin.weight': { shape: [hc, fin], data: transpose(values('lin.weight'), fin, hc) },
      ...this.edgeToState(values),
      ...res,
    };
  }

  protected override fromState(
    get: (name: string) => Float32Array,
    set: (name: string, data: Float32Array) => void,
  ): void {
    const { inChannels: fin, hc } = this;
    set('lin.weight', transpose(get('lin.weight'), hc, fin));
    set('att_src', get('att_src'));
    set('att_dst', get('att_dst'));
    if (this.opts.edgeDim !== null) set('att_edge', get('att_edge'));
    this.edgeFromState(get, set);
    this.outputFromState(get, set);
  }
}
