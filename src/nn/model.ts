// The two-layer graph attention network of the GAT paper (and PyG's examples/gat.py), written with the module API:
//
//   Sequential(Dropout(p), Conv(in, hidden, heads, dropout p), ELU(), Dropout(p), Conv(hidden * heads, classes,
//              outHeads, concat = false, dropout p))
//
// State-dict names are PyTorch's for that Sequential: `1.lin_l.weight`, `1.att`, ..., `4.bias`.
import { ELU } from './activations.ts';
import type { AttentionConv } from './conv.ts';
import { Dropout } from './dropout.ts';
import { GATConv } from './gat-conv.ts';
import { GATv2Conv } from './gatv2-conv.ts';
import { Sequential } from './sequential.ts';

export type { NodeFeatures } from './tape.ts';

export interface GATModelConfig {
  model?: 'gatv2' | 'gat';
  inChannels: number;
  hiddenChannels?: number;
  outChannels: number;
  heads?: number;
  /** Heads of the output layer (averaged). */
  outHeads?: number;
  /** Dropout on each layer's input and on the attention coefficients. */
  dropout?: number;
  residual?: boolean;
  shareWeights?: boolean;
  addSelfLoops?: boolean;
}

export class GATModel extends Sequential {
  readonly config: Required<GATModelConfig>;

  constructor(config: GATModelConfig) {
    const c = {
      model: config.model ?? 'gatv2', hiddenChannels: config.hiddenChannels ?? 8, heads: config.heads ?? 8, outHeads: config.outHeads ?? 1,
      dropout: config.dropout ?? 0.6, residual: config.residual ?? false, shareWeights: config.shareWeights ?? false,
      addSelfLoops: config.addSelfLoops ?? true, inChannels: config.inChannels, outChannels: config.outChannels,
    };
    if (c.model !== 'gatv2' && c.model !== 'gat') throw new Error(`model must be 'gatv2' or 'gat', got ${String(c.model)}`);
    const conv = (fin: number, fout: number, heads: number, concat: boolean) => {
      const o = { heads, concat, dropout: c.dropout, residual: c.residual, addSelfLoops: c.addSelfLoops };
      return c.model === 'gat' ? new GATConv(fin, fout, o) : new GATv2Conv(fin, fout, { ...o, shareWeights: c.shareWeights });
    };
    super([
      new Dropout(c.dropout),
      conv(c.inChannels, c.hiddenChannels, c.heads, true),
      new ELU(),
      new Dropout(c.dropout),
      conv(c.hiddenChannels * c.heads, c.outChannels, c.outHeads, false),
    ]);
    this.config = c;
  }

  /** The hidden attention layer. */
  get conv1(): AttentionConv {
    return this.layers[1] as AttentionConv;
  }

  /** The output attention layer. */
  get conv2(): AttentionConv {
    return this.layers[4] as AttentionConv;
  }
}
