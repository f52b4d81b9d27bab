// Graph classification with k-fold stratified cross-validation over a graph dataset (a TU dataset fits): for each
// fold a fresh GATv2GraphClassifier, Adam and cross-entropy over the graph labels, trained on the fold's training
// graphs in seeded shuffled batches (DataLoader), evaluated on its test graphs after every epoch.
//
// A training step (form the batch, forward, loss, backward, optimizer, and the copy of the step's loss and count of
// correct graphs into a history buffer) is one submit. The history is read back once per epoch only when a hook
// asks for it, otherwise once per fold.
//
// The protocol reported (the GIN paper's): for each epoch, the mean over folds of the test accuracy; the epoch with
// the best mean is chosen, and the mean ± std over folds at that epoch is reported (`best`). This picks the epoch on
// the test folds, so it is optimistic; `final` (the last epoch's mean ± std) is reported beside it.
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { stratifiedKFold } from '../data/folds.ts';
import { DataLoader, GpuGraphDataset, type GraphDatasetLike } from '../data/loader.ts';
import {
  GATv2GraphClassifier,
  resolveGraphClassifierConfig,
  type GraphClassifierConfig,
} from '../nn/graph-classifier.ts';
import { crossEntropy, noteMaskCount } from './loss.ts';
import { Adam } from './optim.ts';

export type GraphTrainConfig = Omit<GraphClassifierConfig, 'inChannels' | 'numClasses' | 'edgeDim'> & {
  /** Attend over the dataset's edge features, when it has any (default true): edgeDim = their width. */
  edgeFeatures?: boolean;
  /** Folds of the cross-validation (default 10). */
  folds?: number;
  /** Seed of the folds (default 0). */
  foldSeed?: number;
  /** Run only these folds (indices into the folds; default all). */
  onlyFolds?: readonly number[];
  /** Training epochs per fold (default 100). */
  epochs?: number;
  /** Graphs per training batch (default 32). */
  batchSize?: number;
  /** Adam learning rate (default 0.005). */
  lr?: number;
  /** Adam's L2 weight decay (default 0). */
  weightDecay?: number;
  /** Seeds the initialisation, the dropout masks and the shuffle of each fold (default 0). */
  seed?: number;
};

export interface FoldResult {
  fold: number;
  trainGraphs: number;
  testGraphs: number;
  /** Per epoch: mean training loss over the steps, training accuracy (during the epoch, dropout on), test accuracy. */
  trainLoss: number[];
  trainAcc: number[];
  testAcc: number[];
  /** Milliseconds per epoch (training and test pass, to the GPU finishing): the median with an onEpoch hook, else
   * the mean over epochs 2.. (the first compiles the pipelines). */
  medianEpochMs: number;
}

export interface GraphCVResult {
  folds: FoldResult[];
  /** The GIN paper's protocol: the epoch (1-based) with the best mean test accuracy over folds, mean ± std there. */
  best: { epoch: number; mean: number; std: number; perFold: number[] };
  /** The last epoch's mean ± std of the test accuracy over folds. */
  final: { epoch: number; mean: number; std: number; perFold: number[] };
  medianEpochMs: number;
  config: Required<Omit<GraphTrainConfig, 'onlyFolds'>> & { onlyFolds: number[] | null; edgeDim: number };
}

export function resolveGraphTrainConfig(
  c: GraphTrainConfig,
  dims: { inChannels: number; numClasses: number; numEdgeFeatures?: number },
) {
  const edgeFeatures = c.edgeFeatures ?? true;
  if (typeof edgeFeatures !== 'boolean')
    throw new Error(`trainGraphClassifier: edgeFeatures must be true or false, got ${String(edgeFeatures)}`);
  const { numEdgeFeatures, ...modelDims } = dims;
  const edgeDim = edgeFeatures ? (numEdgeFeatures ?? 0) : 0;
  const model = resolveGraphClassifierConfig({ ...c, ...modelDims, edgeDim });
  const t = {
    folds: c.folds ?? 10,
    foldSeed: c.foldSeed ?? 0,
    epochs: c.epochs ?? 100,
    batchSize: c.batchSize ?? 32,
    lr: c.lr ?? 0.005,
    weightDecay: c.weightDecay ?? 0,
    seed: c.seed ?? 0,
  };
  for (const k of ['folds', 'epochs', 'batchSize'] as const) {
    if (!Number.isInteger(t[k]) || t[k] < 1)
      throw new Error(`trainGraphClassifier: ${k} must be a positive integer, got ${t[k]}`);
  }
  if (t.folds < 2) throw new Error(`trainGraphClassifier: folds must be at least 2, got ${t.folds}`);
  for (const k of ['foldSeed', 'seed'] as const) {
    if (!Number.isInteger(t[k]) || t[k] < 0 || t[k] >= 2 ** 32)
      throw new Error(`trainGraphClassifier: ${k} must be an integer in [0, 2^32), got ${t[k]}`);
  }
  if (!(t.lr > 0 && Number.isFinite(t.lr)))
    throw new Error(`trainGraphClassifier: lr must be a positive number, got ${t.lr}`);
  if (!(t.weightDecay >= 0 && Number.isFinite(t.weightDecay)))
    throw new Error(`trainGraphClassifier: weightDecay must be a non-negative number, got ${t.weightDecay}`);
  const only = c.onlyFolds ? [...c.onlyFolds] : null;
  only?.forEach((f) => {
    if (!Number.isInteger(f) || f < 0 || f >= t.folds)
      throw new Error(`trainGraphClassifier: onlyFolds holds ${f}, outside 0..${t.folds - 1}`);
  });
  const { inChannels: _i, numClasses: _n, ...modelOpts } = model;
  return { ...modelOpts, ...t, edgeFeatures, onlyFolds: only };
}

const meanStd = (xs: number[]) => {
  const m = xs.reduce((s, v) => s + v, 0) / xs.length;
  return { mean: m, std: Math.sqrt(xs.reduce((s, v) => s + (v - m) ** 2, 0) / xs.length) };
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

/** A u32 mask of ones per batch size (crossEntropy averages over every graph of the batch). */
class AllRows {
  private masks = new Map<number, Tensor>();
  constructor(private readonly gpu: Gpu) {}
  get(n: number): Tensor {
    let m = this.masks.get(n);
    if (!m) {
      this.masks.set(n, (m = this.gpu.full('u32', [n], 1)));
      noteMaskCount(m, n);
    }
    return m;
  }
  dispose(): void {
    this.masks.forEach((m) => m.dispose());
  }
}

export interface GraphTrainHooks {
  /** After every epoch of every fold (reading the epoch's metrics costs one readback per epoch). */
  onEpoch?: (fold: number, epoch: number, m: { trainLoss: number; trainAcc: number; testAcc: number }) => void;
}

/**
 * k-fold stratified cross-validation of a GATv2GraphClassifier on `dataset` (graphs with node features `x`, label
 * `y`; e.g. loadTUDataset('MUTAG')). Uploads the dataset once; each fold trains a fresh model.
 */
export async function trainGraphClassifier(
  gpu: Gpu,
  dataset: GraphDatasetLike & { numClasses: number },
  config: GraphTrainConfig = {},
  hooks: GraphTrainHooks = {},
): Promise<GraphCVResult> {
  const cfg = resolveGraphTrainConfig(config, {
    inChannels: dataset.numFeatures,
    numClasses: dataset.numClasses,
    numEdgeFeatures: dataset.numEdgeFeatures,
  });
  const labels = Int32Array.from(dataset.graphs, (g) => g.y);
  const folds = stratifiedKFold(labels, { folds: cfg.folds, seed: cfg.foldSeed });
  const data = GpuGraphDataset.upload(gpu, dataset);
  const rows = new AllRows(gpu);
  const results: FoldResult[] = [];
  try {
    for (const [k, fold] of folds.entries()) {
      if (cfg.onlyFolds && !cfg.onlyFolds.includes(k)) continue;
      results.push(await trainFold(gpu, data, rows, k, fold, cfg, dataset.numClasses, hooks));
    }
  } finally {
    rows.dispose();
    data.dispose();
  }
  const E = cfg.epochs;
  const meanAt = (e: number) => meanStd(results.map((r) => r.testAcc[e]));
  let bestEpoch = 0;
  for (let e = 1; e < E; e++) if (meanAt(e).mean > meanAt(bestEpoch).mean) bestEpoch = e;
  const at = (e: number) => ({ epoch: e + 1, ...meanAt(e), perFold: results.map((r) => r.testAcc[e]) });
  return {
    folds: results,
    best: at(bestEpoch),
    final: at(E - 1),
    medianEpochMs: median(results.map((r) => r.medianEpochMs)),
    config: cfg,
  };
}

async function trainFold(
  gpu: Gpu,
  data: GpuGraphDataset,
  rows: AllRows,
  k: number,
  fold: { train: Int32Array; test: Int32Array },
  cfg: ReturnType<typeof resolveGraphTrainConfig>,
  numClasses: number,
  hooks: GraphTrainHooks,
): Promise<FoldResult> {
  const seed = (cfg.seed + 1009 * k) >>> 0;
  const model = new GATv2GraphClassifier({ ...cfg, inChannels: data.numFeatures, numClasses }).init(gpu, { seed });
  const opt = new Adam(model.parameters(), { lr: cfg.lr, weightDecay: cfg.weightDecay });
  const selfLoops = [true];
  // BatchNorm needs two graphs in a batch: a last batch of one graph is dropped (the graph is in other epochs'
  // batches).
  const dropLast = cfg.norm === 'batch' && fold.train.length % cfg.batchSize === 1;
  const train = new DataLoader(data, {
    batchSize: cfg.batchSize,
    shuffle: true,
    seed,
    indices: fold.train,
    selfLoops,
    dropLast,
  });
  const test = new DataLoader(data, {
    batchSize: Math.max(cfg.batchSize, 128),
    indices: fold.test,
    selfLoops,
  });
  const trainSteps = (dropLast ? Math.floor : Math.ceil)(fold.train.length / cfg.batchSize);
  const trainSeen = dropLast ? trainSteps * cfg.batchSize : fold.train.length;
  const testSteps = Math.ceil(fold.test.length / test.batchSize);
  // Per epoch: [loss, correct] per training step, then correct per test batch.
  const width = 2 * trainSteps + testSteps;
  const history = gpu.full('f32', [cfg.epochs * width], NaN);
  const result: FoldResult = {
    fold: k,
    trainGraphs: fold.train.length,
    testGraphs: fold.test.length,
    trainLoss: [],
    trainAcc: [],
    testAcc: [],
    medianEpochMs: NaN,
  };
  const times: number[] = [];
  const unpack = (h: Float32Array, e: number) => {
    const o = e * width;
    let loss = 0,
      correct = 0,
      testCorrect = 0;
    for (let s = 0; s < trainSteps; s++) {
      loss += h[o + 2 * s];
      correct += h[o + 2 * s + 1];
    }
    for (let s = 0; s < testSteps; s++) testCorrect += h[o + 2 * trainSteps + s];
    result.trainLoss[e] = loss / trainSteps;
    result.trainAcc[e] = correct / trainSeen;
    result.testAcc[e] = testCorrect / fold.test.length;
  };
  try {
    let last = performance.now();
    for (let epoch = 0; epoch < cfg.epochs; epoch++) {
      const o = epoch * width;
      model.train();
      let s = 0;
      for (const batch of train) {
        opt.zeroGrad();
        const out = model.forward(batch.x, batch);
        const loss = crossEntropy(out, batch.y, { mask: rows.get(batch.numGraphs), reuseLogits: true });
        loss.backward();
        opt.step();
        gpu.copy(loss.value, history, o + 2 * s);
        gpu.copy(loss.correct!, history, o + 2 * s + 1);
        gpu.flush();
        s++;
      }
      model.eval();
      s = 0;
      for (const batch of test) {
        const out = model.forward(batch.x, batch);
        const loss = crossEntropy(out, batch.y, { mask: rows.get(batch.numGraphs), reuseLogits: true });
        gpu.copy(loss.correct!, history, o + 2 * trainSteps + s);
        gpu.flush();
        s++;
      }
      if (hooks.onEpoch) {
        const tmp = new Float32Array(cfg.epochs * width);
        tmp.set(
          (await gpu.readBuffer(history.buffer, history.byteOffset + 4 * o, 4 * width, 'f32')) as Float32Array,
          o,
        );
        unpack(tmp, epoch);
        hooks.onEpoch(k, epoch, {
          trainLoss: result.trainLoss[epoch],
          trainAcc: result.trainAcc[epoch],
          testAcc: result.testAcc[epoch],
        });
        const now = performance.now();
        times.push(now - last);
        last = now;
      } else if (epoch === 0) {
        await gpu.done(); // the first epoch compiles the pipelines: the time per epoch is taken over the others
        last = performance.now();
      }
    }
    if (!hooks.onEpoch && cfg.epochs > 1) {
      await gpu.done();
      times.push((performance.now() - last) / (cfg.epochs - 1));
    }
    const h = (await history.read()) as Float32Array;
    for (let e = 0; e < cfg.epochs; e++) unpack(h, e);
    result.medianEpochMs = median(times);
  } finally {
    train.dispose();
    test.dispose();
    history.dispose();
    opt.dispose();
    model.dispose();
  }
  return result;
}
