// GATv2Conv (Brody et al., "How Attentive are Graph Attention Networks?"), with PyTorch Geometric's semantics:
//
//   x_l = x W_l + b_l,  x_r = x W_r + b_r                      (one product: x [W_l | W_r])
//   e_ij = att . LeakyReLU(x_l[j] + x_r[i])                    for each edge j -> i, per head
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
import { AttentionConv, transpose, type ConvOptions, type LayerGraphs, type NamedArray, type StepContext } from './conv.ts';
import { glorot, linearBias } from './init.ts';
import type { LayerInput } from './input.ts';
import type { ParamSpec } from './params.ts';

export class GATv2Conv extends AttentionConv {
  /** [x_l | x_r] of the last forward, kept for the backward. */
  private lin: Tensor | null = null;

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
    return specs;
  }

  forward(ctx: StepContext, input: LayerInput, graphs: LayerGraphs): Tensor {
    this.checkInput(input);
    const { gpu } = ctx;
    const ws = this.workspace;
    const graph = graphs.get(this.opts.addSelfLoops);
    const n = input.rows, p = this.linWidth, hc = this.hc;
    const dims = this.dims;

    const lin = input.times(gpu, this.param('lin.weight'), ws.get('lin', [n, p]), this.opts.bias ? this.param('lin.bias') : undefined);
    const xl = nodeMatrix(lin, p, 0);
    const xr = nodeMatrix(lin, p, this.opts.shareWeights ? 0 : hc);

    const dropout = this.edgeDropout(ctx);
    const alpha = ws.get('alpha', [graph.numEdges, this.heads]);
    const agg = ws.get('agg', [n, hc]);
    if (this.fused) {
      gatv2Attend(gpu, graph, xl, xr, this.param('att'), dims, { dropout, bias: this.attentionBias, alpha, out: agg });
    } else {
      const e = gatv2Score(gpu, graph, xl, xr, this.param('att'), dims, ws.get('e', [graph.numEdges, this.heads]));
      segmentSoftmax(gpu, graph, e, this.heads, alpha);
      aggregate(gpu, graph, alpha, xl, dims, { dropout, out: agg });
    }
    this.saved = { input, graph, alpha, training: ctx.training };
    this.lin = lin;
    return this.outputStage(ctx, input, agg);
  }

  backward(ctx: StepContext, dout: Tensor, needInputGrad: boolean): Tensor | null {
    if (!this.saved || !this.lin) throw new Error('GATv2Conv.backward called before forward');
    const { input, graph, alpha } = this.saved;
    const { gpu } = ctx;
    const ws = this.workspace;
    const n = input.rows, p = this.linWidth, hc = this.hc;
    const dims = this.dims;
    const xl = nodeMatrix(this.lin, p, 0);
    const xr = nodeMatrix(this.lin, p, this.opts.shareWeights ? 0 : hc);

    const dagg = this.outputStageBackward(ctx, input, dout);
    let dlin = ws.get('dlin', [n, p]);
    // With shared weights x_l and x_r are one tensor: its gradient is the sum of both roles.
    const dxr = this.opts.shareWeights ? nodeMatrix(ws.get('dxr', [n, hc]), hc, 0) : nodeMatrix(dlin, p, hc);
    if (this.fused) {
      gatv2AttendBackward(gpu, graph, xl, xr, this.param('att'), alpha, dagg, dims, {
        dropout: this.edgeDropout(ctx), dxl: nodeMatrix(dlin, p, 0), dxr, datt: this.grad('att'),
      });
    } else {
      this.unfusedBackward(ctx, xl, xr, dagg, nodeMatrix(dlin, p, 0), dxr);
    }
    if (this.opts.shareWeights) dlin = add(gpu, dlin, dxr.t, ws.get('dlin_sum', [n, p]));
    if (this.opts.bias) columnSum(gpu, dlin, { out: this.grad('lin.bias') });
    input.transposeTimes(gpu, dlin, this.grad('lin.weight'));
    return needInputGrad ? this.inputGrad(ctx, input, dlin, this.param('lin.weight'), dout) : null;
  }

  /** The backward as separate kernels: aggregation (writes dxl), softmax, then scores (adds to dxl, writes dxr). */
  private unfusedBackward(ctx: StepContext, xl: NodeMatrix, xr: NodeMatrix, dagg: Tensor, dxl: NodeMatrix, dxr: NodeMatrix): void {
    const { graph, alpha } = this.saved!;
    const { gpu } = ctx;
    const ws = this.workspace;
    const E = graph.numEdges, dims = this.dims;
    const dropout = this.edgeDropout(ctx);
    const { dalpha } = aggregateBackward(gpu, graph, alpha, xl, dagg, dims, { dalpha: ws.get('dalpha', [E, this.heads]), dx: dxl, dropout });
    const de = segmentSoftmaxBackward(gpu, graph, alpha, dalpha, this.heads, ws.get('de', [E, this.heads]));
    gatv2ScoreBackward(gpu, graph, xl, xr, this.param('att'), de, dims, { dxl, dxr, datt: this.grad('att'), accumulateDxl: true });
  }

  toStateDict(values: (name: string) => Float32Array): Record<string, NamedArray> {
    const { inChannels: fin, hc, linWidth: p } = this;
    const w = values('lin.weight');
    const d: Record<string, NamedArray> = {};
    const rOff = this.opts.shareWeights ? 0 : hc;
    d['lin_l.weight'] = { shape: [hc, fin], data: transpose(w, fin, p, 0, hc) };
    if (this.opts.bias) d['lin_l.bias'] = { shape: [hc], data: values('lin.bias').slice(0, hc) };
    d['lin_r.weight'] = { shape: [hc, fin], data: transpose(w, fin, p, rOff, hc) };
    if (this.opts.bias) d['lin_r.bias'] = { shape: [hc], data: values('lin.bias').slice(rOff, rOff + hc) };
    d['att'] = { shape: [1, this.heads, this.outChannels], data: values('att') };
    return { ...d, ...this.outputStateDict(values) };
  }

  fromStateDict(get: (name: string, shape: number[]) => Float32Array, set: (name: string, data: Float32Array) => void): void {
    const { inChannels: fin, hc, linWidth: p } = this;
    const w = new Float32Array(fin * p);
    const blocks = this.opts.shareWeights ? ['lin_l'] : ['lin_l', 'lin_r'];
    const b = new Float32Array(p);
    blocks.forEach((name, k) => {
      const wt = get(`${name}.weight`, [hc, fin]);
      for (let o = 0; o < hc; o++) for (let i = 0; i < fin; i++) w[i * p + k * hc + o] = wt[o * fin + i];
      if (this.opts.bias) b.set(get(`${name}.bias`, [hc]), k * hc);
    });
    set('lin.weight', w);
    if (this.opts.bias) set('lin.bias', b);
    set('att', get('att', [1, this.heads, this.outChannels]));
    this.outputFromStateDict(get, set);
  }
}
