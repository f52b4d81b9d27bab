// A GATv2 graph classifier in PyG's style, for batches of small graphs (molecules, proteins):
//
//   h_0 = x
//   h_l = ELU(GATv2Conv_l(h_l-1, edge_attr))           l = 1..L, heads concatenated: [N, heads * hidden]
//                                                      (edge_attr in every layer's attention, with edgeDim)
//   z   = [h_1 | ... | h_L]    (jumping knowledge 'cat')   or h_L ('last')
//   g   = readout(z, batch)                            sum (default), mean, max, or attention pooling
//   out = Linear(dropout(ReLU(BatchNorm(Linear(g)))))   the MLP head (PyG's MLP order): [B, classes] logits
//
// Why these pieces: mean or softmax-weighted aggregation (the GATv2 layers, attention pooling) alone cannot count,
// so graph size is lost; the sum readout keeps it (as GIN argues). Jumping knowledge lets the head see every
// depth's features (small molecules are read best at several radii), and an MLP head separates what a single
// linear map cannot. Sums over graphs of different sizes vary widely in scale (MUTAG's graphs have 10 to 28
// nodes): without normalisation the head's first layer sees inputs in the tens, and Adam's first steps swing the
// logits far (the loss jumps between 0.6 and 7 at lr 0.01); BatchNorm1d after it keeps training stable.
//
// With readout 'attention' the readout is AttentionalAggregation(Linear(width, 1)) (gate per node), the pooling
// weights readable through `pool.weights()`.
import type { LayerGraphs } from './conv.ts';
import { BatchNorm1d } from './batchnorm.ts';
import { Dropout } from './dropout.ts';
import { concat } from './functional.ts';
import { GATv2Conv } from './gatv2-conv.ts';
import { Linear } from './linear.ts';
import { Module } from './module.ts';
import { AttentionalAggregation, globalPoolOf, type GraphSegments } from './pool.ts';
import { ReLU } from './activations.ts';
import { Sequential } from './sequential.ts';
import { asVariable, type Features, type Variable } from './tape.ts';
import type { Tensor } from '../gpu/tensor.ts';

export type GraphReadout = 'add' | 'mean' | 'max' | 'attention';

export interface GraphClassifierConfig {
  inChannels: number;
  numClasses: number;
  /** Channels per head (default 16). */
  hiddenChannels?: number;
  /** Attention heads per layer, concatenated (default 4). */
  heads?: number;
  /** GATv2Conv layers (default 3). */
  numLayers?: number;
  /** Readout over each graph's nodes (default 'add'). */
  readout?: GraphReadout;
  /** Jumping knowledge: 'cat' reads every layer's output (default), 'last' only the last. */
  jk?: 'cat' | 'last';
  /** Residual connections in the GATv2Conv layers (PyG's residual: + x W_res), default true. */
  residual?: boolean;
  /** Normalisation in the head after its hidden layer: 'batch' (BatchNorm1d, default) or 'none'. */
  norm?: 'batch' | 'none';
  /** Dropout in the head, after its hidden layer's activation (default 0.5). */
  dropout?: number;
  /**
   * Edge-feature width for attention (GATv2Conv's edge_dim): every layer reads the batch's edgeAttr [E, edgeDim]
   * (self loops filled with the mean of each node's incoming edges). Default 0: no edge features.
   */
  edgeDim?: number;
}

export type ResolvedGraphClassifierConfig = Required<GraphClassifierConfig>;

/**
 * A batch as the classifier reads it: the graphs' CSR for the layers, the segments for the readout and, with
 * edgeDim, the edge attributes [E, edgeDim] in edge_index order (a DataLoader's batch has all three).
 */
export type GraphBatchLike = GraphSegments & { graphs: LayerGraphs; edgeAttr?: Tensor | Variable | null };

export function resolveGraphClassifierConfig(c: GraphClassifierConfig): ResolvedGraphClassifierConfig {
  const r = {
    inChannels: c.inChannels,
    numClasses: c.numClasses,
    hiddenChannels: c.hiddenChannels ?? 16,
    heads: c.heads ?? 4,
    numLayers: c.numLayers ?? 3,
    residual: c.residual ?? true,
    readout: c.readout ?? 'add',
    norm: c.norm ?? 'batch',
    jk: c.jk ?? 'cat',
    dropout: c.dropout ?? 0.5,
    edgeDim: c.edgeDim ?? 0,
  } as ResolvedGraphClassifierConfig;
  for (const k of ['inChannels', 'numClasses', 'hiddenChannels', 'heads', 'numLayers'] as const) {
    if (!Number.isInteger(r[k]) || r[k] < 1)
      throw new Error(`GATv2GraphClassifier: ${k} must be a positive integer, got ${r[k]}`);
  }
  if (r.numClasses < 2) throw new Error(`GATv2GraphClassifier: numClasses must be at least 2, got ${r.numClasses}`);
  if (!['add', 'mean', 'max', 'attention'].includes(r.readout)) {
    throw new Error(
      `GATv2GraphClassifier: readout must be 'add', 'mean', 'max' or 'attention', got '${String(r.readout)}'`,
    );
  }
  if (typeof r.residual !== 'boolean')
    throw new Error(`GATv2GraphClassifier: residual must be true or false, got ${String(r.residual)}`);
  if (r.norm !== 'batch' && r.norm !== 'none')
    throw new Error(`GATv2GraphClassifier: norm must be 'batch' or 'none', got '${String(r.norm)}'`);
  if (r.jk !== 'cat' && r.jk !== 'last')
    throw new Error(`GATv2GraphClassifier: jk must be 'cat' or 'last', got '${String(r.jk)}'`);
  if (!(r.dropout >= 0 && r.dropout < 1))
    throw new Error(`GATv2GraphClassifier: dropout must be in [0, 1), got ${r.dropout}`);
  if (!Number.isInteger(r.edgeDim) || r.edgeDim < 0)
    throw new Error(`GATv2GraphClassifier: edgeDim must be a non-negative integer, got ${r.edgeDim}`);
  return r;
}

/**
 * GATv2GraphClassifier(config): forward(x [N, in], batch) -> logits [B, classes]. State dict: `convs.0.lin_l.weight`,
 * ..., `convs.0.lin_edge.weight` (with edgeDim), `pool.gate_nn.weight` (attention readout), `head.0.weight`,
 * `head.1.running_mean` (BatchNorm1d), ..., `head.4.weight` (`head.3.weight` with norm 'none').
 */
export class GATv2GraphClassifier extends Module {
  readonly config: ResolvedGraphClassifierConfig;
  readonly convs: GATv2Conv[];
  readonly pool: AttentionalAggregation | undefined;
  readonly head: Sequential;

  constructor(config: GraphClassifierConfig) {
    super();
    const c = (this.config = resolveGraphClassifierConfig(config));
    const width = c.heads * c.hiddenChannels;
    this.convs = Array.from(
      { length: c.numLayers },
      (_, l) =>
        new GATv2Conv(l === 0 ? c.inChannels : width, c.hiddenChannels, {
          heads: c.heads,
          residual: c.residual,
          edgeDim: c.edgeDim > 0 ? c.edgeDim : null,
        }),
    );
    const readWidth = c.jk === 'cat' ? c.numLayers * width : width;
    this.pool = c.readout === 'attention' ? new AttentionalAggregation(new Linear(readWidth, 1)) : undefined;
    const norm = c.norm === 'batch' ? [new BatchNorm1d(width)] : [];
    this.head = new Sequential([
      new Linear(readWidth, width),
      ...norm,
      new ReLU(),
      new Dropout(c.dropout),
      new Linear(width, c.numClasses),
    ]);
  }

  override forward(x: Features, batch: GraphBatchLike): Variable {
    let h = asVariable(x);
    const edgeAttr = this.config.edgeDim > 0 ? batch.edgeAttr : undefined;
    if (edgeAttr === null || (this.config.edgeDim > 0 && edgeAttr === undefined))
      throw new Error(`GATv2GraphClassifier: edgeDim is ${this.config.edgeDim}, but the batch has no edgeAttr`);
    const hs: Variable[] = [];
    for (const conv of this.convs) {
      h = conv.forward(h, batch.graphs, edgeAttr).elu();
      hs.push(h);
    }
    const z = this.config.jk === 'cat' && hs.length > 1 ? concat(hs) : h;
    const g = this.pool
      ? this.pool.forward(z, batch)
      : globalPoolOf(this.config.readout as 'add' | 'mean' | 'max')(z, batch);
    return this.head.forward(g);
  }
}
