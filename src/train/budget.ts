// How much GPU memory a training run takes, estimated from the data's shape and the options before anything is
// uploaded, and the check that refuses a run the device cannot hold. Every tensor a run allocates is listed:
//
//   inputs       features (dense, or sparse CSR and its transpose), the graph (CSR + CSC), labels, masks
//   parameters   values and gradients (one flat buffer each, every parameter padded to 256 bytes)
//   optimizer    Adam's m and v, the step counter and scalars, the metrics history (5 floats per epoch)
//   activations  what each layer keeps from the forward for the backward, and the loss buffers
//   backward     each layer's gradient workspaces, per node and per edge
//   scratch      short-lived buffers inside the kernels (fused attention backward scratch, split-K matmul
//                partials, column-sum partials, loss row statistics, the SpMM's kept nonzeros); freed after use
//                but kept by the buffer pool, so each distinct size is counted as often as one kernel call holds
//                it at once. They follow the device's kernel shape
//                (gpu.kernelShape): the CPU shapes' and the GPU shapes' kernels allocate different scratch
//
// Sizes are rounded up as the buffer pool rounds them (BufferPool.bucket). The formulas follow the layers
// (src/nn/gat-conv.ts, gatv2-conv.ts, conv.ts, model.ts), the trainer (trainer.ts) and the kernels' own scratch
// (kernels/spmm.ts keepNonzeros, fused-attention.ts gatv2Scratch / pairScratch, fused-attention-gpu.ts
// gatv2AttendBackwardRows / gatAttendBackwardRows, matmul.ts split-K partials, matmul-tiled.ts split partials,
// reduce.ts columnSum, reduce-gpu.ts columnBlocks, edge-scores.ts weightedColumnSums and gatv2ScoreBackward,
// loss.ts nllLoss);
// tests/node/robust-training.test.ts trains random configurations, on both kernel shapes, and checks that the pool
// never holds more than this estimate.
import type { KernelShape } from '../gpu/device.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { BufferPool } from '../gpu/tensor.ts';
import type { EdgeIndex } from '../graph.ts';
import { canFuseAttention } from '../kernels/fused-attention.ts';
import { matmulBlock } from '../kernels/matmul.ts';
import { TILE, tiledSplits } from '../kernels/matmul-tiled.ts';
import { COLUMN_GROUP_ROWS } from '../kernels/reduce-gpu.ts';
import type { SparseRows } from '../kernels/spmm.ts';
import { SCALAR_TABLE_STEPS as ADAM_SCALAR_STEPS } from './optim.ts';
import type { ResolvedModelOptions, ResolvedRunOptions } from './options.ts';

export type MemoryKind = 'inputs' | 'parameters' | 'optimizer' | 'activations' | 'backward' | 'scratch';

export interface MemoryItem {
  /** What the tensor holds, with its shape, e.g. `conv1 alpha [E=13264, H=8]`. */
  name: string;
  kind: MemoryKind;
  /** Bytes of the tensor itself (what must fit one buffer and one binding). */
  bytes: number;
  /** Bytes the buffer pool allocates for it (rounded up to its size bucket). */
  pooled: number;
}

export interface MemoryEstimate {
  items: MemoryItem[];
  /** Pooled bytes in all. */
  total: number;
  byKind: Record<MemoryKind, number>;
  /** The largest single tensor. */
  largest: MemoryItem;
}

/** What the estimate needs to know of a dataset. */
export interface DatasetShape {
  numNodes: number;
  numFeatures: number;
  numClasses: number;
  /** Edges as given (self loops included; the layers remove them and add one per node). */
  numEdges: number;
  /** Nonzeros of sparse features; null for dense features. */
  featureNnz: number | null;
}

/** The limits a run is checked against. */
export interface DeviceLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  /** Whether the fused attention kernels run (they need fewer workspaces than the separate kernels). */
  fusedAttention: boolean;
  /** Which kernel shapes run (gpu.kernelShape): they allocate different scratch. */
  kernelShape: KernelShape;
}

/** A dataset as trainNodeClassifier receives it: the features as `features` (NodeDataset) or `x` (PyG's name). */
export interface DatasetLike {
  numNodes: number;
  numFeatures: number;
  numClasses: number;
  edgeIndex: EdgeIndex;
  features?: SparseRows | Float32Array;
  x?: SparseRows | Float32Array;
}

/** The shape of a dataset; a malformed edge index counts as no edges here (it is refused on upload). */
export function datasetShape(d: DatasetLike): DatasetShape {
  const e = d.edgeIndex as unknown as ArrayLike<unknown> | null;
  let numEdges = 0;
  if (e && typeof e.length === 'number') {
    const first = e[0] as ArrayLike<unknown> | undefined;
    numEdges =
      e.length === 2 && first && typeof first === 'object' && typeof first.length === 'number'
        ? first.length
        : Math.floor(e.length / 2);
  }
  const f = (d.features ?? d.x ?? null) as Partial<SparseRows> | null;
  const featureNnz = f && !(f instanceof Float32Array) && f.colIdx ? f.colIdx.length : null;
  return { numNodes: d.numNodes, numFeatures: d.numFeatures, numClasses: d.numClasses, numEdges, featureNnz };
}

export function deviceLimits(gpu: Gpu): DeviceLimits {
  const lim = gpu.device.limits;
  return {
    maxBufferSize: lim.maxBufferSize,
    maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
    fusedAttention: canFuseAttention(gpu),
    kernelShape: gpu.kernelShape,
  };
}

const ALIGN = 64; // floats: parameters start on 256-byte boundaries (nn/params.ts)
const alignUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/** One attention layer's shape. */
interface LayerShape {
  name: string;
  v2: boolean;
  inChannels: number;
  channels: number;
  heads: number;
  concat: boolean;
  residual: boolean;
  shareWeights: boolean;
  /** Whether the backward returns the input gradient (layer 2: the gradient flows on to layer 1). */
  inputGrad: boolean;
  /** Whether the input is dense (a matmul) or sparse (an SpMM, which needs no scratch). */
  denseInput: boolean;
}

function layers(d: DatasetShape, o: ResolvedModelOptions): LayerShape[] {
  const common = { v2: o.model === 'gatv2', residual: o.residual, shareWeights: o.shareWeights && o.model === 'gatv2' };
  return [
    {
      name: 'conv1',
      ...common,
      inChannels: d.numFeatures,
      channels: o.hiddenChannels,
      heads: o.heads,
      concat: true,
      inputGrad: false,
      denseInput: d.featureNnz === null,
    },
    {
      name: 'conv2',
      ...common,
      inChannels: o.hiddenChannels * o.heads,
      channels: d.numClasses,
      heads: o.outHeads,
      concat: false,
      inputGrad: true,
      denseInput: true,
    },
  ];
}

/** Parameter floats of a layer, each parameter padded as the parameter store pads it. */
function layerParams(l: LayerShape): number[] {
  const hc = l.heads * l.channels,
    out = l.concat ? hc : l.channels;
  const p = l.v2 ? (l.shareWeights ? hc : 2 * hc) : hc;
  const sizes = l.v2 ? [l.inChannels * p, p, hc] : [l.inChannels * hc, hc, hc];
  sizes.push(out); // bias
  if (l.residual) sizes.push(l.inChannels * out);
  return sizes;
}

/** Floats of the partials a split-K matmul C[m, n] = A B (inner dimension k) allocates; 0 when it does not split. */
function matmulPartials(m: number, n: number, k: number, shape: KernelShape): number {
  if (m === 0 || n === 0) return 0;
  if (shape === 'gpu') {
    const { splits } = tiledSplits(Math.ceil(m / TILE) * Math.ceil(n / TILE), k);
    return splits > 1 ? splits * m * n : 0;
  }
  const [bm, bn] = matmulBlock(m, n);
  const blocks = Math.ceil(m / bm) * Math.ceil(n / bn);
  const want = blocks >= 256 ? 1 : Math.min(Math.floor(1024 / blocks), Math.floor(k / 128));
  if (want < 2) return 0;
  const kChunk = Math.ceil(k / want / 4) * 4;
  return Math.ceil(k / kChunk) * m * n;
}

/**
 * Floats of each partials buffer reduce.ts's columnSum allocates for a [rows, f] input: one for the CPU shape's
 * two stages, one per pass but the last for the GPU shape's passes over row blocks (reduce-gpu.ts columnBlocks).
 */
function columnSumPartials(rows: number, f: number, shape: KernelShape): number[] {
  if (shape === 'cpu') return [rows > 256 ? Math.ceil(rows / 128) * f : 0];
  const sizes: number[] = [];
  for (let n = Math.ceil(rows / COLUMN_GROUP_ROWS); n > 1; n = Math.ceil(n / COLUMN_GROUP_ROWS)) sizes.push(n * f);
  return sizes;
}

/** Floats of edge-scores.ts's weightedColumnSums partials (and their column sums) for rows x (heads * channels). */
function weightedColumnSumPartials(rows: number, hc: number, shape: KernelShape): number[] {
  const blockRows = Math.max(1, Math.ceil(Math.sqrt(rows)));
  const blocks = Math.max(1, Math.ceil(rows / blockRows));
  return [blocks * hc, ...columnSumPartials(blocks, hc, shape)];
}

/** Every tensor a training run allocates, as listed at the top of this file. */

export function estimateTrainingMemory(
  d: DatasetShape,
  o: ResolvedRunOptions,
  device: Pick<DeviceLimits, 'fusedAttention' | 'kernelShape'>,
): MemoryEstimate {
  const shape = device.kernelShape;
  const items: MemoryItem[] = [];
  // Scratch per pool size: the most buffers of that size one kernel call holds at once.
  const scratch = new Map<number, MemoryItem[]>();
  const item = (kind: MemoryKind, name: string, values: number): MemoryItem => {
    const bytes = Math.max(values * 4, 4);
    return { name, kind, bytes, pooled: BufferPool.bucket(bytes) };
  };
  /** Scratch buffers held at once by one call (each freed after it): a size already held as often adds nothing. */
  const addScratch = (...buffers: [name: string, values: number][]) => {
    const bySize = new Map<number, MemoryItem[]>();
    for (const [name, values] of buffers) {
      if (values <= 0) continue;
      const it = item('scratch', name, values);
      bySize.set(it.pooled, [...(bySize.get(it.pooled) ?? []), it]);
    }
    for (const [size, its] of bySize) if (its.length > (scratch.get(size)?.length ?? 0)) scratch.set(size, its);
  };
  const add = (kind: MemoryKind, name: string, values: number) => {
    if (kind === 'scratch') addScratch([name, values]);
    else items.push(item(kind, name, values));
  };
  const N = d.numNodes,
    F = d.numFeatures,
    C = d.numClasses;
  const E = o.addSelfLoops ? d.numEdges + N : d.numEdges; // self loops: at most one added per node

  // Inputs.
  if (d.featureNnz === null) add('inputs', `features [N=${N}, F=${F}]`, N * F);
  else {
    const nnz = d.featureNnz;
    add('inputs', `sparse features rowPtr [N+1=${N + 1}]`, N + 1);
    add('inputs', `sparse features transposed rowPtr [F+1=${F + 1}]`, F + 1);
    for (const which of ['', ' transposed']) {
      for (const part of ['colIdx', 'values', 'nzId'])
        add('inputs', `sparse features${which} ${part} [nnz=${nnz}]`, nnz);
    }
    // The SpMM with input dropout walks a copy of the kept nonzeros (kernels/spmm.ts keepNonzeros).
    if (o.dropout > 0) {
      for (const [which, rows] of [
        ['', N],
        [' transposed', F],
      ] as const) {
        addScratch(
          [`sparse features${which}: kept colIdx [nnz=${nnz}]`, nnz],
          [`sparse features${which}: kept values [nnz=${nnz}]`, nnz],
          [`sparse features${which}: kept row ends [${rows}]`, rows],
        );
      }
    }
  }
  add('inputs', `graph rowPtr [N+1=${N + 1}]`, N + 1);
  add('inputs', `graph colPtr [N+1=${N + 1}]`, N + 1);
  for (const part of ['src', 'dst', 'perm', 'edgeId']) add('inputs', `graph ${part} [E=${E}]`, E);
  add('inputs', `labels [N=${N}]`, N);
  for (const split of ['train', 'val', 'test']) add('inputs', `${split} mask [N=${N}]`, N);

  // Parameters and optimizer state.
  const ls = layers(d, o);
  const P = Math.max(
    ALIGN,
    ls.flatMap(layerParams).reduce((s, n) => s + alignUp(n), 0),
  );
  add('parameters', `parameter values [${P}]`, P);
  add('parameters', `parameter gradients [${P}]`, P);
  add('optimizer', `Adam m [${P}]`, P);
  add('optimizer', `Adam v [${P}]`, P);
  add('optimizer', 'step counter [1]', 1);
  add('optimizer', 'Adam scalars [4]', 4);
  add('optimizer', `Adam scalars of the next steps [${ADAM_SCALAR_STEPS} x 4]`, ADAM_SCALAR_STEPS * 4);
  add('optimizer', `metrics history [epochs x 5 = ${o.epochs * 5}]`, o.epochs * 5);

  // Loss and evaluation buffers (trainer.ts), the hidden activation (model.ts).
  for (const name of [
    'loss',
    'correct',
    'eval loss (train)',
    'eval loss (val)',
    'eval loss (test)',
    'eval correct (train)',
    'eval correct (val)',
    'eval correct (test)',
  ]) {
    add('activations', `${name} [1]`, 1);
  }
  add('activations', `evaluation d logits [N=${N}, C=${C}]`, N * C);
  add('scratch', `loss row statistics [N=${N}, 2]`, Math.max(N, 1) * 2);
  add('activations', `hidden ELU(conv1) [N=${N}, ${o.heads * o.hiddenChannels}]`, N * o.heads * o.hiddenChannels);

  for (const l of ls) {
    const H = l.heads,
      hc = H * l.channels,
      out = l.concat ? hc : l.channels,
      Fin = l.inChannels;
    const p = l.v2 ? (l.shareWeights ? hc : 2 * hc) : hc;
    const averages = !l.concat && H > 1;
    const fusedBias = device.fusedAttention && !averages && !l.residual;
    const n = l.name;
    // Forward, kept for the backward.
    add('activations', `${n} x W [N=${N}, ${p}]`, N * p);
    if (!l.v2)
      add('activations', `${n} a_src [N=${N}, H=${H}]`, N * H),
        add('activations', `${n} a_dst [N=${N}, H=${H}]`, N * H);
    add('activations', `${n} alpha [E=${E}, H=${H}]`, E * H);
    add('activations', `${n} aggregation [N=${N}, ${hc}]`, N * hc);
    if (!device.fusedAttention) add('activations', `${n} scores [E=${E}, H=${H}]`, E * H);
    if (!fusedBias) {
      if (averages) add('activations', `${n} head mean [N=${N}, ${out}]`, N * out);
      if (l.residual) add('activations', `${n} residual [N=${N}, ${out}]`, N * out);
      add('activations', `${n} output [N=${N}, ${out}]`, N * out);
    }
    // Backward workspaces.
    if (averages) add('backward', `${n} d aggregation [N=${N}, ${hc}]`, N * hc);
    add('backward', `${n} d (x W) [N=${N}, ${p}]`, N * p);
    if (!l.v2)
      add('backward', `${n} d a_src [N=${N}, H=${H}]`, N * H), add('backward', `${n} d a_dst [N=${N}, H=${H}]`, N * H);
    if (!device.fusedAttention)
      add('backward', `${n} d alpha [E=${E}, H=${H}]`, E * H), add('backward', `${n} d scores [E=${E}, H=${H}]`, E * H);
    if (l.shareWeights)
      add('backward', `${n} d x_r [N=${N}, ${hc}]`, N * hc),
        add('backward', `${n} d (x W) summed [N=${N}, ${p}]`, N * p);
    if (l.inputGrad) add('backward', `${n} d input [N=${N}, ${Fin}]`, N * Fin);
    // Kernel scratch.
    const colSums = (what: string, rows: number, f: number) => {
      for (const v of columnSumPartials(rows, f, shape)) add('scratch', `${n} ${what} column-sum partials`, v);
    };
    if (l.v2 && device.fusedAttention) {
      // The GPU shape's backward keeps, per edge and head, two words and a bit mask of C bits (ceil(C / 32) words).
      const words = shape === 'gpu' ? 2 + Math.ceil(l.channels / 32) : l.channels > 8 ? 1 : 2;
      add('scratch', `${n} fused attention backward scratch [N*H*C + 1 + ${words}*E*H]`, N * hc + 1 + words * E * H);
    }
    if (l.v2 && !device.fusedAttention) add('scratch', `${n} score backward partials [N=${N}, ${hc}]`, N * hc);
    if (l.v2) colSums('d att', N, hc);
    if (!l.v2 && device.fusedAttention) {
      // The GPU shape's backward puts a header word (the dropout step) in front of the pairs.
      const pairs = shape === 'gpu' ? 1 + 2 * E * H : Math.max(E, 1) * H * 2;
      const header = shape === 'gpu' ? '1 + ' : '';
      add('scratch', `${n} fused attention backward pairs [${header}E=${E} x H=${H} x 2]`, pairs);
    }
    if (!l.v2) {
      for (const v of weightedColumnSumPartials(N, hc, shape)) add('scratch', `${n} d att_src / att_dst partials`, v);
    }
    colSums('d bias', N, out);
    if (l.v2) colSums('d lin bias', N, p);
    if (l.denseInput) {
      add('scratch', `${n} x W split-K partials`, matmulPartials(N, p, Fin, shape));
      add('scratch', `${n} d W split-K partials`, matmulPartials(Fin, p, N, shape));
      if (l.residual) {
        add('scratch', `${n} residual split-K partials`, matmulPartials(N, out, Fin, shape));
        add('scratch', `${n} d W_res split-K partials`, matmulPartials(Fin, out, N, shape));
      }
      if (l.inputGrad) {
        add('scratch', `${n} d input split-K partials`, matmulPartials(N, Fin, p, shape));
        if (l.residual) {
          add('scratch', `${n} d input (residual) split-K partials`, matmulPartials(N, Fin, out, shape));
        }
      }
    }
  }
  for (const its of scratch.values()) items.push(...its);

  const byKind = { inputs: 0, parameters: 0, optimizer: 0, activations: 0, backward: 0, scratch: 0 } as Record<
    MemoryKind,
    number
  >;
  let total = 0;
  let largest = items[0];
  for (const it of items) {
    byKind[it.kind] += it.pooled;
    total += it.pooled;
    if (it.bytes > largest.bytes) largest = it;
  }
  return { items, total, byKind, largest };
}

/** Bytes in binary units, e.g. `1.5 GiB`. */
export function formatBytes(b: number): string {
  if (!Number.isFinite(b)) return String(b);
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) (b /= 1024), i++;
  return i === 0 ? `${b} bytes` : `${b.toFixed(b < 10 ? 2 : 1)} ${units[i]}`;
}

/**
 * Throws, before anything is uploaded, when the run cannot fit: a tensor larger than the device's largest buffer
 * or storage binding, or a total above `memoryBudget`. The message gives the estimate and the limit.
 */
export function checkMemoryEstimate(est: MemoryEstimate, limits: DeviceLimits, memoryBudget: number): void {
  const perTensor = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  const limitName =
    limits.maxStorageBufferBindingSize <= limits.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
  const big = est.largest;
  if (big.bytes > perTensor) {
    throw new Error(
      `Too large for this device: ${big.name} needs ${formatBytes(big.bytes)} (${big.bytes} bytes) in one buffer, ` +
        `but the device allows ${formatBytes(perTensor)} (${limitName} = ${perTensor} bytes). ` +
        `Training would take about ${formatBytes(est.total)} in all. Use fewer heads or channels, or a smaller graph.`,
    );
  }
  if (est.total > memoryBudget) {
    const parts = (Object.entries(est.byKind) as [MemoryKind, number][])
      .filter(([, b]) => b > 0)
      .map(([k, b]) => `${k} ${formatBytes(b)}`);
    throw new Error(
      `Training would take about ${formatBytes(est.total)} (${est.total} bytes) of GPU memory (${parts.join(', ')}), ` +
        `more than memoryBudget = ${formatBytes(memoryBudget)} (${memoryBudget} bytes)`,
    );
  }
}

/** The estimate for a run on this device, checked against its limits and the budget; returned when it fits. */
export function checkTrainingFits(gpu: Gpu, dataset: DatasetLike, o: ResolvedRunOptions): MemoryEstimate {
  const limits = deviceLimits(gpu);
  const est = estimateTrainingMemory(datasetShape(dataset), o, limits);
  checkMemoryEstimate(est, limits, o.memoryBudget);
  return est;
}

/**
 * A model on its own (GATModel's constructor): its parameter buffers must fit one buffer and one binding.
 * Checked before they are allocated.
 */
export function checkParametersFit(
  gpu: Gpu,
  c: ResolvedModelOptions & { inChannels: number; outChannels: number },
): void {
  const d: DatasetShape = {
    numNodes: 0,
    numFeatures: c.inChannels,
    numClasses: c.outChannels,
    numEdges: 0,
    featureNnz: 0,
  };
  const P = Math.max(
    ALIGN,
    layers(d, c)
      .flatMap(layerParams)
      .reduce((s, n) => s + alignUp(n), 0),
  );
  const limits = deviceLimits(gpu);
  const perTensor = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  if (P * 4 > perTensor) {
    throw new Error(
      `Too large for this device: the model's ${P} parameters need ${formatBytes(P * 4)} in one buffer, ` +
        `but the device allows ${formatBytes(perTensor)} ` +
        `(inChannels ${c.inChannels}, heads ${c.heads}, hiddenChannels ${c.hiddenChannels})`,
    );
  }
}
