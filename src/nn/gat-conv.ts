// GATConv (Velickovic et al., "Graph Attention Networks"), with PyTorch Geometric's semantics:
//
//   h = x W                                          (no bias, as PyG's GATConv)
//   a_src[j] = h[j] . att_src,  a_dst[i] = h[i] . att_dst      per head
//   e_ij = LeakyReLU(a_src[j] + a_dst[i])            for each edge j -> i
//   alpha_ij = softmax over the incoming edges of i  then dropout in training
//   out_i = sum_j alpha_ij h[j]                      concat or mean over heads, + x W_res, + bias
import { nodeMatrix } from '../kernels/check.ts';
import { gatScore, gatScoreBackward, headDot, headDotBackward } from '../kernels/edge-scores.ts';
import { aggregate, aggregateBackward } from '../kernels/aggregate.ts';
import { gatAttend, gatAttendBackward } from '../kernels/fused-attention.ts';
import { segmentSoftmax, segmentSoftmaxBackward } from '../kernels/softmax.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { AttentionConv, transpose, type ConvOptions, type LayerGraphs, type NamedArray, type StepContext } from './conv.ts';
import { glorot } from './init.ts';
import type { LayerInput } from './input.ts';
import type { ParamSpec } from './params.ts';

export class GATConv extends AttentionConv {
  /** h = x W of the last forward, kept for the backward. */
  private lin: Tensor | null = null;

  constructor(inChannels: number, outChannels: number, options: ConvOptions = {}) {
    if (options.shareWeights) throw new Error('GATConv has no shareWeights option (it has a single linear map)');
    super(inChannels, outChannels, options);
  }

  protected attentionParams(): ParamSpec[] {
    const { inChannels: fin, hc, heads, outChannels: c } = this;
    return [
      { name: 'lin.weight', shape: [fin, hc], init: (r) => transpose(glorot(r, hc * fin, hc, fin), hc, fin) },
      { name: 'att_src', shape: [hc], init: (r) => glorot(r, hc, heads, c) },
      { name: 'att_dst', shape: [hc], init: (r) => glorot(r, hc, heads, c) },
    ];
  }

  forward(ctx: StepContext, input: LayerInput, graphs: LayerGraphs): Tensor {
    this.checkInput(input);
    const { gpu } = ctx;
    const ws = this.workspace;
    const graph = graphs.get(this.opts.addSelfLoops);
    const n = input.rows, hc = this.hc, heads = this.heads;
    const dims = this.dims;

    const lin = input.times(gpu, this.param('lin.weight'), ws.get('lin', [n, hc]));
    const h = nodeMatrix(lin);
    const aSrc = headDot(gpu, h, this.param('att_src'), n, dims, ws.get('a_src', [n, heads]));
    const aDst = headDot(gpu, h, this.param('att_dst'), n, dims, ws.get('a_dst', [n, heads]));
    const dropout = this.edgeDropout(ctx);
    const alpha = ws.get('alpha', [graph.numEdges, heads]);
    const agg = ws.get('agg', [n, hc]);
    if (this.fused) {
      gatAttend(gpu, graph, aSrc, aDst, h, dims, { dropout, bias: this.attentionBias, alpha, out: agg });
    } else {
      const e = gatScore(gpu, graph, aSrc, aDst, dims, ws.get('e', [graph.numEdges, heads]));
      segmentSoftmax(gpu, graph, e, heads, alpha);
      aggregate(gpu, graph, alpha, h, dims, { dropout, out: agg });
    }
    this.saved = { input, graph, alpha, training: ctx.training };
    this.lin = lin;
    return this.outputStage(ctx, input, agg);
  }

  backward(ctx: StepContext, dout: Tensor, needInputGrad: boolean): Tensor | null {
    if (!this.saved || !this.lin) throw new Error('GATConv.backward called before forward');
    const { input, graph, alpha } = this.saved;
    const { gpu } = ctx;
    const ws = this.workspace;
    const n = input.rows, hc = this.hc, heads = this.heads;
    const dims = this.dims;
    const h = nodeMatrix(this.lin);

    const dagg = this.outputStageBackward(ctx, input, dout);
    const dlin = ws.get('dlin', [n, hc]);
    const dropout = this.edgeDropout(ctx);
    const aSrc = ws.get('a_src', [n, heads]), aDst = ws.get('a_dst', [n, heads]);
    const das = ws.get('da_src', [n, heads]), dad = ws.get('da_dst', [n, heads]);
    if (this.fused) {
      gatAttendBackward(gpu, graph, aSrc, aDst, h, alpha, dagg, dims, { dropout, dx: nodeMatrix(dlin), das, dad });
    } else {
      // Aggregation (writes d lin), softmax, then scores.
      const { dalpha } = aggregateBackward(gpu, graph, alpha, h, dagg, dims, { dalpha: ws.get('dalpha', [graph.numEdges, heads]), dx: nodeMatrix(dlin), dropout });
      const de = segmentSoftmaxBackward(gpu, graph, alpha, dalpha, heads, ws.get('de', [graph.numEdges, heads]));
      gatScoreBackward(gpu, graph, aSrc, aDst, de, dims, { das, dad });
    }
    headDotBackward(gpu, h, this.param('att_src'), das, n, dims, { dx: nodeMatrix(dlin), datt: this.grad('att_src'), accumulateDx: true });
    headDotBackward(gpu, h, this.param('att_dst'), dad, n, dims, { dx: nodeMatrix(dlin), datt: this.grad('att_dst'), accumulateDx: true });
    input.transposeTimes(gpu, dlin, this.grad('lin.weight'));
    return needInputGrad ? this.inputGrad(ctx, input, dlin, this.param('lin.weight'), dout) : null;
  }

  toStateDict(values: (name: string) => Float32Array): Record<string, NamedArray> {
    const { inChannels: fin, hc, heads, outChannels: c } = this;
    return {
      'lin.weight': { shape: [hc, fin], data: transpose(values('lin.weight'), fin, hc) },
      att_src: { shape: [1, heads, c], data: values('att_src') },
      att_dst: { shape: [1, heads, c], data: values('att_dst') },
      ...this.outputStateDict(values),
    };
  }

  fromStateDict(get: (name: string, shape: number[]) => Float32Array, set: (name: string, data: Float32Array) => void): void {
    const { inChannels: fin, hc, heads, outChannels: c } = this;
    set('lin.weight', transpose(get('lin.weight', [hc, fin]), hc, fin));
    set('att_src', get('att_src', [1, heads, c]));
    set('att_dst', get('att_dst', [1, heads, c]));
    this.outputFromStateDict(get, set);
  }
}
