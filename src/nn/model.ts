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
import type { Gpu } from '../gpu/gpu.ts';
import { checkParametersFit } from '../train/budget.ts';
import { resolveModelOptions } from '../train/options.ts';
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
  /** Seeds the initialisation and every dropout mask when init() is given no seed. */
  seed?: number;
  residual?: boolean;
  shareWeights?: boolean;
  addSelfLoops?: boolean;
}

export class GATModel extends Sequential {
  readonly config: Required<GATModelConfig>;

  constructor(config: GATModelConfig) {
    const c = resolveModelOptions(config); // each option checked by name, unknown model names refused
    const conv = (fin: number, fout: number, heads: number, concat: boolean) => {
      const o = { heads, concat, dropout: c.dropout, residual: c.residual, addSelfLoops: c.addSelfLoops };
      return c.model === 'gat'
        ? new GATConv(fin, fout, o)
        : new GATv2Conv(fin, fout, { ...o, shareWeights: c.shareWeights });
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

  /** Allocates the parameters (seeded by `seed`, else the config's), after checking they fit the device. */
  override init(gpu: Gpu, opts: { seed?: number } = {}): this {
    checkParametersFit(gpu, this.config); // before any allocation
    return super.init(gpu, { seed: opts.seed ?? this.config.seed });
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
