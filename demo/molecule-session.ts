// One graph-classification run on the page's GPU: MUTAG on the device (GpuGraphDataset), one fold of a stratified
// k-fold split, a GATv2GraphClassifier with attention pooling (attending over the bond types, unless turned off),
// Adam and cross-entropy over the graph labels. An
// epoch is the training graphs in seeded shuffled batches (one submit per step) and a pass over the test graphs as
// one batch; then the epoch's loss and accuracies are read back (one small readback). As in train/graph.ts, whose
// cross-validation loop this is, for one fold and stepped epoch by epoch so the page can pause, draw and inspect.
import { stratifiedKFold, type Fold } from '../src/data/folds.ts';
import { DataLoader, GpuGraphDataset, type GpuBatch } from '../src/data/loader.ts';
import type { TUDataset } from '../src/data/tu.ts';
import type { Gpu } from '../src/gpu/gpu.ts';
import type { Tensor } from '../src/gpu/tensor.ts';
import { GATv2GraphClassifier } from '../src/nn/graph-classifier.ts';
import { crossEntropy, noteMaskCount } from '../src/train/loss.ts';
import { Adam } from '../src/train/optim.ts';
import type { EpochMetrics } from '../src/train/trainer.ts';

export interface MoleculeConfig {
  heads: number;
  hiddenChannels: number;
  numLayers: number;
  dropout: number;
  lr: number;
  batchSize: number;
  epochs: number;
  /** Folds of the stratified split, and which one is trained on (its test part is held out). */
  folds: number;
  fold: number;
  seed: number;
  /** Attention reads the bond types (the dataset's one-hot edge labels) through each layer's lin_edge. */
  edgeFeatures: boolean;
}

/** One test molecule as the model saw it in an evaluation pass. */
export interface MoleculeInspection {
  /** Index of the graph in the dataset. */
  graph: number;
  label: number;
  predicted: number;
  /** Softmax probability of each class. */
  probabilities: number[];
  /**
   * Attention of every layer: alpha[layer][k * heads + h] for the graph's directed edge k (its edgeIndex column,
   * local node ids: the weight that the destination gives to the source), and selfLoop[layer][i * heads + h] for the
   * added self loop of atom i.
   */
  alpha: Float32Array[];
  selfLoop: Float32Array[];
  /** Pooling weight beta of every atom (AttentionalAggregation's softmax over the molecule's atoms). */
  beta: Float32Array;
}

export interface Inspection {
  epoch: number;
  heads: number;
  layers: number;
  /** The test molecules, in the fold's (dataset) order. */
  molecules: MoleculeInspection[];
}

export class MoleculeSession {
  readonly fold: Fold;
  readonly data: GpuGraphDataset;
  readonly model: GATv2GraphClassifier;
  private readonly opt: Adam;
  private readonly train: DataLoader;
  private readonly test: DataLoader;
  /** Cross-entropy averages over every graph of a batch: an all-ones mask per batch size. */
  private readonly masks = new Map<number, Tensor>();
  /** Per epoch: [loss, correct] per training step, then the test batch's correct count. */
  private readonly record: Tensor;
  private readonly trainSteps: number;
  private readonly trainSeen: number;
  private readonly history: EpochMetrics[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly gpu: Gpu,
    readonly dataset: TUDataset,
    readonly config: MoleculeConfig,
  ) {
    const labels = Int32Array.from(dataset.graphs, (g) => g.y);
    this.fold = stratifiedKFold(labels, { folds: config.folds, seed: 0 })[config.fold]!;
    this.data = GpuGraphDataset.upload(gpu, dataset);
    const edgeDim = config.edgeFeatures ? dataset.numEdgeFeatures : 0;
    this.model = new GATv2GraphClassifier({
      inChannels: dataset.numFeatures,
      numClasses: dataset.numClasses,
      heads: config.heads,
      hiddenChannels: config.hiddenChannels,
      numLayers: config.numLayers,
      dropout: config.dropout,
      readout: 'attention',
      norm: 'none',
      edgeDim,
    }).init(gpu, { seed: config.seed });
    this.opt = new Adam(this.model.parameters(), { lr: config.lr });
    const selfLoops = [true];
    this.train = new DataLoader(this.data, {
      batchSize: config.batchSize,
      shuffle: true,
      seed: config.seed,
      indices: this.fold.train,
      selfLoops,
    });
    // All test molecules in one batch: one forward gives every molecule's attention and pooling weights.
    this.test = new DataLoader(this.data, {
      batchSize: this.fold.test.length,
      indices: this.fold.test,
      selfLoops,
    });
    this.trainSteps = this.train.numBatches;
    this.trainSeen = this.fold.train.length;
    this.record = gpu.full('f32', [2 * this.trainSteps + 1], 0);
  }

  get epoch(): number {
    return this.history.length;
  }

  get done(): boolean {
    return this.epoch >= this.config.epochs;
  }

  /** Share of the fold's test molecules in its most common class. */
  get majorityShare(): number {
    const counts = new Map<number, number>();
    for (const g of this.fold.test) counts.set(this.dataset.labels[g]!, (counts.get(this.dataset.labels[g]!) ?? 0) + 1);
    return Math.max(...counts.values()) / this.fold.test.length;
  }

  /** Every epoch's metrics so far. */
  metrics(): readonly EpochMetrics[] {
    return this.history;
  }

  /** Trains one epoch, evaluates on the test molecules, and reads the epoch's metrics back. */
  step(): Promise<EpochMetrics> {
    return this.serial(async () => {
      const { gpu, model, opt, record } = this;
      model.train();
      let s = 0;
      for (const batch of this.train) {
        opt.zeroGrad();
        const loss = crossEntropy(model.forward(batch.x, batch), batch.y, {
          mask: this.mask(batch),
          reuseLogits: true,
        });
        loss.backward();
        opt.step();
        gpu.copy(loss.value, record, 2 * s);
        gpu.copy(loss.correct!, record, 2 * s + 1);
        gpu.flush();
        s++;
      }
      model.eval();
      const batch = this.testBatch();
      const loss = crossEntropy(model.forward(batch.x, batch), batch.y, { mask: this.mask(batch), reuseLogits: true });
      gpu.copy(loss.correct!, record, 2 * this.trainSteps);
      gpu.flush();
      const r = (await record.read()) as Float32Array;
      gpu.check();
      let lossSum = 0,
        correct = 0;
      for (let k = 0; k < this.trainSteps; k++) (lossSum += r[2 * k]!), (correct += r[2 * k + 1]!);
      const m: EpochMetrics = {
        epoch: this.history.length + 1,
        loss: lossSum / this.trainSteps,
        trainAcc: correct / this.trainSeen,
        valAcc: null,
        testAcc: r[2 * this.trainSteps]! / this.fold.test.length,
        valLoss: null,
      };
      this.history.push(m);
      return m;
    });
  }

  /** An evaluation pass over the test molecules: predictions, every layer's attention, the pooling weights. */
  inspect(): Promise<Inspection> {
    return this.serial(async () => {
      const { model } = this;
      model.eval();
      const batch = this.testBatch();
      const logits = model.forward(batch.x, batch);
      const [values, beta, ...attention] = await Promise.all([
        logits.read(),
        model.pool!.weights(),
        ...model.convs.map((c) => c.attention()),
      ]);
      if (!beta || attention.some((a) => !a)) throw new Error('The model has no attention weights yet');
      const heads = model.config.heads;
      const C = this.dataset.numClasses;
      const ptr = batch.host.ptr;
      const molecules = Array.from(batch.indices, (g, i): MoleculeInspection => {
        const sample = this.dataset.graphs[g]!;
        const n0 = ptr[i]!,
          n = sample.numNodes;
        const z = Array.from(values.subarray(i * C, (i + 1) * C) as Float32Array);
        const top = Math.max(...z);
        const e = z.map((v) => Math.exp(v - top));
        const probabilities = e.map((v) => v / e.reduce((a, b) => a + b, 0));
        // The graph's directed edges by (source, destination), to place the batch's CSR edges.
        const column = new Map<number, number>();
        for (let k = 0; k < sample.numEdges; k++)
          column.set(sample.edgeIndex[k]! * n + sample.edgeIndex[sample.numEdges + k]!, k);
        const alpha: Float32Array[] = [],
          selfLoop: Float32Array[] = [];
        for (const a of attention) {
          const al = new Float32Array(sample.numEdges * heads).fill(NaN);
          const sl = new Float32Array(n * heads).fill(NaN);
          const E = a!.edgeIndex.length / 2;
          for (let p = 0; p < E; p++) {
            const s = a!.edgeIndex[p]! - n0,
              d = a!.edgeIndex[E + p]! - n0;
            if (d < 0 || d >= n) continue;
            const w = a!.alpha.subarray(p * heads, (p + 1) * heads);
            if (s === d) sl.set(w, s * heads);
            else al.set(w, column.get(s * n + d)! * heads);
          }
          alpha.push(al);
          selfLoop.push(sl);
        }
        return {
          graph: g,
          label: sample.y,
          predicted: probabilities.indexOf(Math.max(...probabilities)),
          probabilities,
          alpha,
          selfLoop,
          beta: beta.beta.slice(n0 * beta.columns, (n0 + n) * beta.columns),
        };
      });
      return { epoch: this.epoch, heads, layers: model.convs.length, molecules };
    });
  }

  /** Waits for queued GPU work, then frees the run's buffers. */
  async dispose(): Promise<void> {
    await this.queue.catch(() => undefined);
    this.train.dispose();
    this.test.dispose();
    this.record.dispose();
    for (const m of this.masks.values()) m.dispose();
    this.opt.dispose();
    this.model.dispose();
    this.data.dispose();
  }

  private testBatch(): GpuBatch {
    return this.test.form(this.fold.test);
  }

  private mask(batch: GpuBatch): Tensor {
    let m = this.masks.get(batch.numGraphs);
    if (!m) {
      this.masks.set(batch.numGraphs, (m = this.gpu.full('u32', [batch.numGraphs], 1)));
      noteMaskCount(m, batch.numGraphs);
    }
    return m;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
