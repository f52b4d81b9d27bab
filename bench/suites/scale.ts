// Scale: the paper model (GATv2, 8 heads x 8 hidden, dropout 0.6, Adam) on synthetic graphs shaped like
// ogbn-arxiv, up to its full size. Per size: ms per training epoch, the pool's peak bytes in use and bytes
// allocated, and an explicit estimate of what training needs at least, to compare them with.
import type { Gpu } from '../../src/gpu/gpu.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
import { GATModel } from '../../src/nn/model.ts';
import { uploadDataset } from '../../src/train/data.ts';
import { PAPER_CONFIG } from '../../src/train/run.ts';
import { Trainer } from '../../src/train/trainer.ts';
import { median } from '../report.ts';
import { ARXIV, scaled, syntheticDataset, type SyntheticShape } from '../synthetic.ts';

export interface ScaleSize {
  /** Fraction of ogbn-arxiv's nodes and edges. */
  fraction: number;
  /** Epochs run; the first `warmup` are not timed (the first epoch is timed from the start of training). */
  epochs: number;
  warmup: number;
}

/**
 * One device for every size (pipelines compile once, at the smallest); the pool is emptied and its peak reset
 * between sizes. An arxiv-sized epoch takes about a minute on a 2-core CPU driver, hence two epochs there, both
 * timed (the first pays only the first touch of its buffers: every pipeline is compiled by then).
 */
export const SCALE_FULL: ScaleSize[] = [
  { fraction: 1 / 8, epochs: 3, warmup: 1 },
  { fraction: 1, epochs: 2, warmup: 0 },
];
export const SCALE_QUICK: ScaleSize[] = [
  { fraction: 1 / 64, epochs: 3, warmup: 1 },
  { fraction: 1 / 16, epochs: 2, warmup: 0 },
];

export interface MemoryItem {
  group: 'inputs' | 'parameters' | 'kept for backward';
  name: string;
  bytes: number;
}

export interface ScaleRow {
  fraction: number;
  shape: SyntheticShape;
  /** Edges the layers see: self loops removed, one per node added. */
  kernelEdges: number;
  msPerEpoch: number;
  epochMs: number[];
  peakBytesInUse: number;
  bytesAllocated: number;
  buffersCreated: number;
  estimate: { total: number; items: MemoryItem[] };
  /** peakBytesInUse / estimate.total */
  ratio: number;
  /** What the pool holds at the end of training, by owner and name (largest first). */
  held: { name: string; bytes: number }[];
}

/**
 * What one training step needs at least, from the model's sizes:
 * - inputs: dense features, the graph's CSR/CSC index arrays (rowPtr, colPtr, src, dst, perm, edgeId), labels, 3 masks;
 * - parameters: values, gradients and Adam's two moments (4 x the flat parameter buffer);
 * - kept by the forward for the backward: layer 1's fused linear output G1 = x [W_l | W_r] [N, 2HC] and attention
 *   alpha1 [E', H], its output h1 [N, HC] (for ELU's backward), layer 2's input dropout(ELU(h1)) [N, HC], layer 2's
 *   G2 [N, 2 classes] and alpha2 [E', 1]. Dropout masks are recomputed from a hash, so they cost nothing; the
 *   dropped-out layer-1 input is not counted either (it can be recomputed from x the same way).
 */
export function memoryEstimate(
  shape: SyntheticShape,
  kernelEdges: number,
  paramFloats: number,
  heads: number,
  hidden: number,
): { total: number; items: MemoryItem[] } {
  const N = shape.nodes,
    E = kernelEdges,
    F = shape.features,
    K = shape.classes,
    HC = heads * hidden;
  const f = 4;
  const items: MemoryItem[] = [
    { group: 'inputs', name: `features [${N}, ${F}]`, bytes: N * F * f },
    {
      group: 'inputs',
      name: `graph: rowPtr, colPtr [N+1]; src, dst, perm, edgeId [E'=${E}]`,
      bytes: (2 * (N + 1) + 4 * E) * f,
    },
    { group: 'inputs', name: 'labels, train/val/test masks [N]', bytes: 4 * N * f },
    { group: 'parameters', name: `values, grads, Adam m and v (4 x ${paramFloats})`, bytes: 4 * paramFloats * f },
    { group: 'kept for backward', name: `G1 = x [W_l | W_r] [N, ${2 * HC}]`, bytes: N * 2 * HC * f },
    { group: 'kept for backward', name: `alpha1 [E', ${heads}]`, bytes: E * heads * f },
    { group: 'kept for backward', name: `h1 (pre-ELU) [N, ${HC}]`, bytes: N * HC * f },
    { group: 'kept for backward', name: `layer-2 input [N, ${HC}]`, bytes: N * HC * f },
    { group: 'kept for backward', name: `G2 [N, ${2 * K}]`, bytes: N * 2 * K * f },
    { group: 'kept for backward', name: "alpha2 [E', 1]", bytes: E * f },
  ];
  return { total: items.reduce((a, i) => a + i.bytes, 0), items };
}

/** The named scratch tensors (Workspace) of the model, its layers and the trainer, with their buffer sizes. */
function heldTensors(model: GATModel, trainer: Trainer): { name: string; bytes: number }[] {
  // Workspaces are private fields; this reads them for the report only, and yields nothing if they move.
  const ws = (owner: unknown) =>
    (owner as { ws?: { tensors?: Map<string, Tensor> } }).ws?.tensors ?? new Map<string, Tensor>();
  const frames = (m: unknown) => (m as { _frames?: unknown[] })._frames ?? [];
  const out: { name: string; bytes: number }[] = [];
  const owners: [string, unknown][] = [['trainer', trainer]];
  for (const [prefix, m] of model.namedModules())
    frames(m).forEach((f, k) => owners.push([`model${prefix ? '.' + prefix : ''}#${k}`, f]));
  for (const [owner, o] of owners)
    for (const [name, t] of ws(o))
      if (!t.isDisposed) out.push({ name: `${owner}.${name} [${t.shape}]`, bytes: t.buffer.size });
  return out.sort((a, b) => b.bytes - a.bytes);
}

export async function scaleRun(gpu: Gpu, sizes: ScaleSize[], log: (m: string) => void = () => {}): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const size of sizes) {
    const shape = scaled(ARXIV, size.fraction);
    const t0 = performance.now();
    const dataset = syntheticDataset(shape);
    log(`${shape.nodes} nodes, ${shape.edges} edges: data made in ${((performance.now() - t0) / 1e3).toFixed(1)} s`);
    // Start from an empty pool, so that the peak and the bytes allocated are this size's alone.
    gpu.pool.trim();
    gpu.pool.peakBytesInUse = gpu.pool.bytesInUse;
    const created = gpu.pool.created;
    const data = uploadDataset(gpu, dataset);
    const model = new GATModel({ ...PAPER_CONFIG, inChannels: shape.features, outChannels: shape.classes }).init(gpu, {
      seed: PAPER_CONFIG.seed,
    });
    const trainer = new Trainer(gpu, model, data, { ...PAPER_CONFIG, epochs: size.epochs, evaluate: false });
    const start = performance.now();
    await trainer.run({
      onEpoch: (e) => log(`  epoch ${e} recorded, ${((performance.now() - start) / 1e3).toFixed(0)} s into training`),
    });
    const done = [start, ...trainer.doneAt];
    const epochMs: number[] = [];
    for (let i = size.warmup; i < size.epochs; i++) epochMs.push(done[i + 1] - done[i]);
    const kernelEdges = data.graphs.get(true).numEdges;
    const estimate = memoryEstimate(
      shape,
      kernelEdges,
      model.parameterStore.total,
      PAPER_CONFIG.heads,
      PAPER_CONFIG.hiddenChannels,
    );
    const peak = gpu.pool.peakBytesInUse;
    rows.push({
      fraction: size.fraction,
      shape,
      kernelEdges,
      msPerEpoch: median(epochMs),
      epochMs,
      peakBytesInUse: peak,
      bytesAllocated: gpu.pool.bytesAllocated,
      buffersCreated: gpu.pool.created - created,
      estimate,
      ratio: peak / estimate.total,
      held: heldTensors(model, trainer),
    });
    log(
      `  ${median(epochMs).toFixed(0)} ms per epoch, peak ${(peak / 2 ** 20).toFixed(0)} MiB, estimate ` +
        `${(estimate.total / 2 ** 20).toFixed(0)} MiB`,
    );
    trainer.dispose();
    model.dispose();
    data.dispose();
  }
  return rows;
}
