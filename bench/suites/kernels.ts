// Every edge kernel of a GATv2 layer (forward and backward, attention dropout on): the fused attention kernels the
// layers run and the separate score / softmax / aggregation kernels, the attention kernels again with an edge term
// (edge features, [E, 64]), plus the segment sums, an SpMM over the adjacency, the layer's dense products, a column
// sum and the graph readout kernels (sum, mean, max and attention pooling, forward and backward, over graphs of 18
// nodes), on power-law graphs of growing size with 8 heads x 8 channels. Per kernel: median GPU time per call over
// repeated runs, GB/s from the bytes the op declares and GFLOP/s from its declared operations, as shares of the copy
// and matmul ceilings of the same run. The sweep runs on the device it is given, so a run on a CPU-shaped and a
// GPU-shaped device gives both kernel shapes.
import type { Gpu } from '../../src/gpu/gpu.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
import { buildGraph, uploadGraph, type GraphTensors } from '../../src/graph.ts';
import { aggregate, aggregateBackward } from '../../src/kernels/aggregate.ts';
import { gatv2Attend, gatv2AttendBackward } from '../../src/kernels/fused-attention.ts';
import { nodeMatrix } from '../../src/kernels/check.ts';
import { gatv2Score, gatv2ScoreBackward } from '../../src/kernels/edge-scores.ts';
import {
  attentionPoolBackward,
  globalPool,
  globalPoolBackward,
  poolSoftmax,
  weightedPool,
  type GraphSegments,
} from '../../src/kernels/pooling.ts';
import { matmul } from '../../src/kernels/matmul.ts';
import { columnSum, scatterAdd } from '../../src/kernels/reduce.ts';
import { segmentSoftmax, segmentSoftmaxBackward } from '../../src/kernels/softmax.ts';
import { spmm, uploadSparse, type SparseTensors } from '../../src/kernels/spmm.ts';
import { median } from '../report.ts';
import { degreeStats, powerLawGraph, seededRng } from '../synthetic.ts';
import { timeStep, timingSource, type TimingSource } from './timing.ts';

export interface KernelSweepOptions {
  /** Edges of each graph (before self loops are added); nodes = edges / avgDegree. */
  sizes: number[];
  avgDegree: number;
  heads: number;
  channels: number;
  reps: number;
  /** Fewer runs for graphs of at least `large` edges (a run of the 1e6-edge layer takes seconds on a CPU driver). */
  largeReps: number;
  large: number;
}

export const KERNELS_FULL: KernelSweepOptions = {
  sizes: [1e3, 1e4, 1e5, 1e6],
  avgDegree: 8,
  heads: 8,
  channels: 8,
  reps: 5,
  largeReps: 3,
  large: 5e5,
};
export const KERNELS_QUICK: KernelSweepOptions = {
  sizes: [1e3, 1e4, 1e5],
  avgDegree: 8,
  heads: 8,
  channels: 8,
  reps: 3,
  largeReps: 3,
  large: 5e5,
};

export interface KernelRow {
  /** Edges as generated, and as the kernels see them (self loops removed, one per node added). */
  edges: number;
  kernelEdges: number;
  nodes: number;
  maxInDegree: number;
  kernel: string;
  /** Median milliseconds per run (a run calls the kernel once, or twice for attention.column_sum). */
  ms: number;
  reps: number;
  bytes: number;
  flops: number;
  gbPerS: number;
  /** gbPerS / the copy ceiling of the same device. */
  shareOfCopy: number;
  gflopPerS: number;
  /** gflopPerS / the matmul ceiling of the same run. */
  shareOfMatmul: number;
  /** The device's kernel shape ('cpu' or 'gpu'). */
  shape: 'cpu' | 'gpu';
  source: TimingSource;
  /**
   * Set on the rows that time a whole op rather than one kernel: the op with an edge term ('gatv2Attend+edge') and
   * the same op without it ('gatv2Attend'), each the sum of its dispatches, for the with / without comparison (the
   * edge variants do not always run the same set of kernels). `kernel` is the op's name too.
   */
  op?: string;
  /** True for a kernel only the edge-term variants of the ops dispatch (e.g. 'fused_attention.gatv2_attend+edge'). */
  edgeOnly?: boolean;
}

/** Suffix of the sweep's steps (and of the kernels' names) that run with an edge term. */
export const EDGE_SUFFIX = '+edge';

function random(gpu: Gpu, shape: number[], seed: number, scale = 1): Tensor {
  const rng = seededRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const host = new Float32Array(n);
  for (let i = 0; i < n; i++) host[i] = (rng() * 2 - 1) * scale;
  return gpu.tensor('f32', shape, host);
}

/** The adjacency (with self loops) as a sparse matrix: row i holds 1/deg(i) at each source of an edge into i. */
function adjacency(gpu: Gpu, g: ReturnType<typeof buildGraph>): SparseTensors {
  const values = new Float32Array(g.numEdges);
  for (let i = 0; i < g.numNodes; i++) {
    const deg = g.rowPtr[i + 1] - g.rowPtr[i];
    for (let p = g.rowPtr[i]; p < g.rowPtr[i + 1]; p++) values[p] = 1 / deg;
  }
  return uploadSparse(gpu, { rows: g.numNodes, cols: g.numNodes, rowPtr: g.rowPtr, colIdx: g.src, values });
}

/** The steps of one layer's edge pipeline on one graph, each a closure that records its dispatches. */
function layerSteps(gpu: Gpu, g: GraphTensors, adj: SparseTensors, H: number, C: number) {
  const N = g.numNodes,
    E = g.numEdges,
    HC = H * C;
  const lin = random(gpu, [N, 2 * HC], 11);
  const xl = nodeMatrix(lin, 2 * HC, 0),
    xr = nodeMatrix(lin, 2 * HC, HC);
  const att = random(gpu, [HC], 12, 0.3);
  const dagg = random(gpu, [N, HC], 13);
  const step = gpu.tensor('u32', [1], [1]);
  const dropout = { p: 0.6, seed: 1234, step };
  const dims = { heads: H, channels: C, slope: 0.2 };
  const e = gpu.empty('f32', [E, H]),
    alpha = gpu.empty('f32', [E, H]),
    dalpha = gpu.empty('f32', [E, H]),
    de = gpu.empty('f32', [E, H]);
  const agg = gpu.empty('f32', [N, HC]),
    dlin = gpu.empty('f32', [N, 2 * HC]),
    datt = gpu.empty('f32', [HC]);
  const byDst = gpu.empty('f32', [N, H]),
    bySrc = gpu.empty('f32', [N, H]),
    y = gpu.empty('f32', [N, HC]);
  const w = random(gpu, [HC, 2 * HC], 14, 0.1),
    dw = gpu.empty('f32', [HC, 2 * HC]),
    colSums = gpu.empty('f32', [HC]);
  // An edge term (lin_edge(edge_attr) in CSR order, [E, H*C]) and its gradient, for the edge-feature variants.
  const edge = random(gpu, [E, HC], 16, 0.5),
    dedge = gpu.empty('f32', [E, HC]);
  // The gradients of GATv2's score: x_l and x_r as the two column blocks of d lin, and d att.
  const scoreGrads = { dxl: nodeMatrix(dlin, 2 * HC, 0), dxr: nodeMatrix(dlin, 2 * HC, HC), datt };
  // The fused kernels the layers run, then the separate ones (devices with fewer than 10 storage buffers per stage).
  const steps: [string, () => void][] = [
    ['gatv2Attend', () => gatv2Attend(gpu, g, xl, xr, att, dims, { dropout, alpha, out: agg })],
    [
      'gatv2AttendBackward',
      () => gatv2AttendBackward(gpu, g, xl, xr, att, alpha, dagg, dims, { dropout, ...scoreGrads }),
    ],
    ['gatv2Score', () => gatv2Score(gpu, g, xl, xr, att, dims, e)],
    ['segmentSoftmax', () => segmentSoftmax(gpu, g, e, H, alpha)],
    ['aggregate', () => aggregate(gpu, g, alpha, xl, dims, { dropout, out: agg })],
    [
      'aggregateBackward',
      () => aggregateBackward(gpu, g, alpha, xl, dagg, dims, { dalpha, dx: nodeMatrix(dlin, 2 * HC, 0), dropout }),
    ],
    ['segmentSoftmaxBackward', () => segmentSoftmaxBackward(gpu, g, alpha, dalpha, H, de)],
    [
      'gatv2ScoreBackward',
      () => gatv2ScoreBackward(gpu, g, xl, xr, att, de, dims, { ...scoreGrads, accumulateDxl: true }),
    ],
    // The same attention kernels with an edge term (GATv2Conv with edgeDim); names end in '+edge' (the kernels' own
    // names with timestamps, these without), so the tables pair each with its variant without edge features.
    ['gatv2Attend+edge', () => gatv2Attend(gpu, g, xl, xr, att, dims, { dropout, alpha, out: agg, edge })],
    [
      'gatv2AttendBackward+edge',
      () => gatv2AttendBackward(gpu, g, xl, xr, att, alpha, dagg, dims, { dropout, ...scoreGrads, edge, dedge }),
    ],
    ['gatv2Score+edge', () => gatv2Score(gpu, g, xl, xr, att, dims, e, { edge })],
    [
      'gatv2ScoreBackward+edge',
      () => gatv2ScoreBackward(gpu, g, xl, xr, att, de, dims, { ...scoreGrads, accumulateDxl: true, edge, dedge }),
    ],
    ['scatterAdd dst', () => scatterAdd(gpu, g, alpha, 'dst', byDst)],
    ['scatterAdd src', () => scatterAdd(gpu, g, alpha, 'src', bySrc)],
    ['spmm (adjacency x [N, 64])', () => spmm(gpu, adj, agg, { out: y })],
    ['matmul ([N, 64] x [64, 128])', () => matmul(gpu, agg, w, { out: lin })],
    ['matmul ([N, 64]^T x [N, 128], split-K)', () => matmul(gpu, dagg, dlin, { transA: true, out: dw })],
    ['columnSum ([N, 64])', () => columnSum(gpu, dagg, { out: colSums })],
  ];
  // Graph readout over the same nodes cut into graphs of POOL_GRAPH_NODES nodes (a batch of small molecules).
  const { seg, dispose: disposeSeg } = segments(gpu, N);
  const B = seg.numGraphs;
  const pooled = gpu.empty('f32', [B, HC]),
    argmax = gpu.empty('u32', [B, HC]),
    dpooled = random(gpu, [B, HC], 14);
  const gate = random(gpu, [N, 1], 15),
    beta = gpu.empty('f32', [N, 1]),
    dgate = gpu.empty('f32', [N, 1]);
  steps.push(
    ['globalPool add', () => globalPool(gpu, agg, seg, 'add', { out: pooled })],
    ['globalPoolBackward add', () => globalPoolBackward(gpu, dpooled, seg, 'add', { dx: y })],
    ['globalPool mean', () => globalPool(gpu, agg, seg, 'mean', { out: pooled })],
    ['globalPoolBackward mean', () => globalPoolBackward(gpu, dpooled, seg, 'mean', { dx: y })],
    ['globalPool max', () => globalPool(gpu, agg, seg, 'max', { out: pooled, argmax })],
    ['globalPoolBackward max', () => globalPoolBackward(gpu, dpooled, seg, 'max', { argmax, dx: y })],
    ['poolSoftmax (gate [N, 1])', () => poolSoftmax(gpu, gate, seg, beta)],
    ['weightedPool', () => weightedPool(gpu, agg, beta, seg, pooled)],
    ['attentionPoolBackward', () => attentionPoolBackward(gpu, agg, beta, dpooled, seg, { dx: y, dgate })],
  );
  const dispose = () => {
    [
      lin,
      att,
      dagg,
      step,
      e,
      edge,
      dedge,
      alpha,
      dalpha,
      de,
      agg,
      dlin,
      datt,
      byDst,
      bySrc,
      y,
      w,
      dw,
      colSums,
      pooled,
      argmax,
      dpooled,
      gate,
      beta,
      dgate,
    ].forEach((t) => t.dispose());
    disposeSeg();
  };
  return { steps, dispose };
}

/** Nodes per graph in the readout kernels' batches (MUTAG's graphs have 18 on average). */
const POOL_GRAPH_NODES = 18;

/** The nodes 0..n-1 cut into consecutive graphs of POOL_GRAPH_NODES (the last one shorter). */
function segments(gpu: Gpu, n: number): { seg: GraphSegments; dispose(): void } {
  const b = Math.ceil(n / POOL_GRAPH_NODES);
  const ptr = Uint32Array.from({ length: b + 1 }, (_, g) => Math.min(n, g * POOL_GRAPH_NODES));
  const batch = Uint32Array.from({ length: n }, (_, i) => Math.floor(i / POOL_GRAPH_NODES));
  const t = { ptr: gpu.tensor('u32', [b + 1], ptr), batch: gpu.tensor('u32', [n], batch) };
  return { seg: { numGraphs: b, numNodes: n, ...t }, dispose: () => (t.ptr.dispose(), t.batch.dispose()) };
}

export async function kernelSweep(
  gpu: Gpu,
  o: KernelSweepOptions,
  ceilings: { copyGbPerS: number; matmulGflopPerS: number },
  log: (m: string) => void = () => {},
): Promise<KernelRow[]> {
  const { copyGbPerS, matmulGflopPerS } = ceilings;
  const source = timingSource(gpu);
  const rows: KernelRow[] = [];
  for (const [i, edges] of o.sizes.entries()) {
    const nodes = Math.max(16, Math.round(edges / o.avgDegree));
    const list = powerLawGraph(nodes, edges, 42);
    const { maxIn } = degreeStats(list);
    const host = buildGraph([list.src, list.dst], nodes, { addSelfLoops: true });
    const g = uploadGraph(gpu, host);
    const adj = adjacency(gpu, host);
    const { steps, dispose } = layerSteps(gpu, g, adj, o.heads, o.channels);
    // One untimed pass at the first size compiles every pipeline; later sizes rely on the median.
    if (i === 0) for (const [name, record] of steps) await timeStep(gpu, name, record, source);
    const reps = edges >= o.large ? o.largeReps : o.reps;
    const ms = new Map<string, number[]>();
    const cost = new Map<string, { bytes: number; flops: number }>();
    // Ops that have an edge-term variant, and both of their variants: timed as a whole too.
    const names = steps.map(([n]) => n);
    const paired = new Set(
      names.filter((n) => n.endsWith(EDGE_SUFFIX)).flatMap((n) => [n, n.slice(0, -EDGE_SUFFIX.length)]),
    );
    const opMs = new Map<string, number[]>();
    const opCost = new Map<string, { bytes: number; flops: number }>();
    const plain = new Set<string>(); // kernels dispatched by some step without an edge term
    for (let r = 0; r < reps; r++) {
      for (const [name, record] of steps) {
        const s = await timeStep(gpu, name, record, source);
        for (const [k, v] of s.ms) (ms.get(k) ?? ms.set(k, []).get(k)!).push(v);
        for (const [k, c] of s.cost) cost.set(k, c);
        if (!name.endsWith(EDGE_SUFFIX)) for (const k of s.ms.keys()) plain.add(k);
        if (paired.has(name)) {
          (opMs.get(name) ?? opMs.set(name, []).get(name)!).push([...s.ms.values()].reduce((a, v) => a + v, 0));
          const total = { bytes: 0, flops: 0 };
          for (const c of s.cost.values()) (total.bytes += c.bytes), (total.flops += c.flops);
          opCost.set(name, total);
        }
      }
    }
    for (const [kernel, samples] of ms) {
      const t = median(samples);
      const c = cost.get(kernel) ?? { bytes: 0, flops: 0 };
      const gbPerS = c.bytes / t / 1e6;
      rows.push({
        edges,
        kernelEdges: host.numEdges,
        nodes,
        maxInDegree: maxIn + 1,
        kernel,
        ms: t,
        reps,
        bytes: c.bytes,
        flops: c.flops,
        gbPerS,
        shareOfCopy: gbPerS / copyGbPerS,
        gflopPerS: c.flops / t / 1e6,
        shareOfMatmul: c.flops / t / 1e6 / matmulGflopPerS,
        shape: gpu.kernelShape,
        source,
        ...(plain.has(kernel) ? {} : { edgeOnly: true }),
      });
    }
    for (const [op, samples] of opMs) {
      const t = median(samples);
      const c = opCost.get(op)!;
      const gbPerS = c.bytes / t / 1e6;
      const gflopPerS = c.flops / t / 1e6;
      rows.push({
        edges,
        kernelEdges: host.numEdges,
        nodes,
        maxInDegree: maxIn + 1,
        kernel: op,
        ms: t,
        reps,
        bytes: c.bytes,
        flops: c.flops,
        gbPerS,
        shareOfCopy: gbPerS / copyGbPerS,
        gflopPerS,
        shareOfMatmul: gflopPerS / matmulGflopPerS,
        shape: gpu.kernelShape,
        source,
        op,
      });
    }
    const total = [...ms.values()].reduce((a, x) => a + median(x), 0);
    log(
      `${edges} edges (${nodes} nodes, max in-degree ${maxIn + 1}), ${gpu.kernelShape} shapes: ${ms.size} kernels, ` +
        `${total.toFixed(1)} ms per pass`,
    );
    dispose();
    adj.dispose();
    g.dispose();
  }
  return rows;
}
