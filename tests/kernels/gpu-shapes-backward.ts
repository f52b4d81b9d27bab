// Cases aimed at the fused attention backward's GPU shape (a workgroup per destination, then a workgroup per
// source; shaders/fused-attention-gpu-backward*.wgsl): segments far longer than a workgroup on both sides, nodes
// without incoming or without outgoing edges, row widths around the 64 lanes (the column phases' slices and rounds)
// and heads of more than 32 channels (two sign words per edge), more than 65,535 workgroups, edge terms. Each
// checks every output element against the float64 chain aggregateBackward -> segmentSoftmaxBackward ->
// gatv2ScoreBackward / gatScoreBackward from a float64 alpha, outputs poisoned, strided views, and a second run bit
// for bit.
// Run on a device with `kernels: 'gpu'` (tests/kernels/gpu-shapes.ts).
import type { Gpu } from '../../src/gpu/gpu.ts';
import type { Kernel } from '../../src/gpu/kernel.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
import { buildGraph, uploadGraph, type Graph } from '../../src/graph.ts';
import { nodeMatrix } from '../../src/kernels/check.ts';
import { gatAttendBackward, gatv2AttendBackward } from '../../src/kernels/fused-attention.ts';
import * as refAggregate from '../reference/aggregate.ts';
import * as refScores from '../reference/edge-scores.ts';
import * as refSoftmax from '../reference/softmax.ts';
import {
  assert,
  assertBitIdentical,
  assertClose,
  assertEqual,
  randInt,
  randomArray,
  repeat,
  rng,
  type KernelCase,
} from './harness.ts';

interface Backward {
  /** Relative error allowed (assertClose's); 1e-5 unless a node sums thousands of terms. */
  tol?: number;
  /** Run twice and compare bits (default true). */
  twice?: boolean;
  heads: number;
  channels: number;
  /** Dropout probability (0: none). */
  p: number;
  accumulate: boolean;
  /** An edge term ([E, H*C] for GATv2, [E, H] for GAT) in the scores; dedge checked too. */
  edge?: boolean;
}

const readF32 = async (t: Tensor) => (await t.read()) as Float32Array;

/**
 * Node 0 takes 10,000 edges from nodes 2 .. 249, node 1 sends 10,000 to nodes 2 .. 149, and 300 random edges run
 * from 2 .. 249 to 2 .. 149: nodes 0 and 150 .. 249 have no outgoing edges or no incoming ones, 250 .. 299 neither.
 */
function twoHubs(rand: () => number, degree = 10_000): Graph {
  const src: number[] = [],
    dst: number[] = [];
  for (let k = 0; k < degree; k++) src.push(randInt(rand, 2, 250)), dst.push(0);
  for (let k = 0; k < degree; k++) src.push(1), dst.push(randInt(rand, 2, 150));
  for (let k = 0; k < 300; k++) src.push(randInt(rand, 2, 250)), dst.push(randInt(rand, 2, 150));
  return buildGraph([src, dst], 300);
}

/** Dropout masks as training draws them: the step in a u32 tensor. */
function dropoutFor(gpu: Gpu, rand: () => number, p: number) {
  if (p === 0) return { host: undefined, gpu: undefined, step: undefined };
  const host = { p, seed: randInt(rand, 0, 2 ** 31), step: randInt(rand, 0, 10_000) };
  const step = gpu.tensor('u32', [1], [host.step]);
  return { host, gpu: { p, seed: host.seed, step }, step };
}

interface Block {
  name: string;
  /** First column of the block in each row. */
  at: number;
  /** [N, width] float64. */
  want: ArrayLike<number>;
  /** The kernel added to what the matrix held. */
  add: boolean;
}

/**
 * Each block of columns of an [N, stride] matrix holds its `want` (plus `base` there when it adds); every other
 * column still holds `base` (NaN where it was poisoned), bit for bit.
 */
function checkBlocks(
  label: string,
  got: Float32Array,
  N: number,
  stride: number,
  base: Float32Array,
  blocks: Block[],
  tol?: number,
) {
  const owner = new Int32Array(stride).fill(-1);
  for (const [b, block] of blocks.entries()) for (let c = 0; c < block.want.length / N; c++) owner[block.at + c] = b;
  for (const [b, block] of blocks.entries()) {
    const width = block.want.length / N;
    const cols = new Float32Array(N * width),
      want = new Float64Array(N * width);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < width; c++) {
        const o = n * stride + block.at + c;
        cols[n * width + c] = got[o];
        want[n * width + c] = block.want[n * width + c] + (block.add ? base[o] : 0);
      }
    }
    assertClose(`${label} ${blocks[b].name}`, cols, want, tol);
  }
  const rest: number[] = [],
    restBase: number[] = [];
  for (let o = 0; o < N * stride; o++) if (owner[o % stride] < 0) rest.push(got[o]), restBase.push(base[o]);
  assertEqual(`${label}: columns outside ${blocks.map((b) => b.name).join(', ')} untouched`, rest, restBase);
}

/**
 * gatv2AttendBackward with xl, xr in one strided matrix and dxl, dxr in another (dxl accumulated into random values
 * or written over NaN), against float64; then again, bit for bit.
 */
async function checkGatv2(gpu: Gpu, rand: () => number, graph: Graph, label: string, o: Backward) {
  const N = graph.numNodes,
    E = graph.numEdges,
    H = o.heads,
    C = o.channels,
    HC = H * C;
  const dims = { heads: H, channels: C, slope: 0.05 + 0.4 * rand() };
  const xl = randomArray(rand, N * HC),
    xr = randomArray(rand, N * HC),
    att = randomArray(rand, HC),
    dagg = randomArray(rand, N * HC);
  const edge = o.edge ? randomArray(rand, E * HC) : undefined;
  const alpha = Float32Array.from(
    refSoftmax.segmentSoftmax(graph, refScores.gatv2Score(graph, xl, xr, att, dims, edge), H),
  );
  const drop = dropoutFor(gpu, rand, o.p);
  const stride = 2 * HC + 3;
  const G = new Float32Array(N * stride);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < HC; c++)
      (G[n * stride + 1 + c] = xl[n * HC + c]), (G[n * stride + HC + 2 + c] = xr[n * HC + c]);
  const g = uploadGraph(gpu, graph);
  const t = {
    G: gpu.tensor('f32', [N, stride], G),
    att: gpu.tensor('f32', [HC], att),
    alpha: gpu.tensor('f32', [E, H], alpha),
    dagg: gpu.tensor('f32', [N, HC], dagg),
    edge: edge && gpu.tensor('f32', [E, HC], edge),
  };
  const base = o.accumulate ? randomArray(rand, N * stride) : new Float32Array(N * stride).fill(NaN);
  const dispose = () => [...Object.values(t), drop.step, g].forEach((x) => x?.dispose());
  const run = async () => {
    const dG = gpu.tensor('f32', [N, stride], base),
      datt = gpu.full('f32', [HC], NaN);
    const dedge = edge && gpu.full('f32', [E, HC], NaN);
    gatv2AttendBackward(
      gpu,
      g,
      nodeMatrix(t.G, stride, 1),
      nodeMatrix(t.G, stride, HC + 2),
      t.att,
      t.alpha,
      t.dagg,
      dims,
      {
        dropout: drop.gpu,
        dxl: nodeMatrix(dG, stride, 2),
        dxr: nodeMatrix(dG, stride, HC + 3),
        datt,
        accumulateDxl: o.accumulate,
        edge: t.edge,
        dedge,
      },
    );
    const r = {
      dG: await readF32(dG),
      datt: await readF32(datt),
      dedge: dedge ? await readF32(dedge) : new Float32Array(0),
    };
    [dG, datt, dedge].forEach((x) => x?.dispose());
    return r;
  };
  const got = await run();
  const ab = refAggregate.aggregateBackward(graph, alpha, xl, dagg, H, C, drop.host);
  const de = refSoftmax.segmentSoftmaxBackward(graph, alpha, ab.dalpha, H);
  const sb = refScores.gatv2ScoreBackward(graph, xl, xr, att, de, dims, edge);
  checkBlocks(
    label,
    got.dG,
    N,
    stride,
    base,
    [
      { name: 'dxl', at: 2, want: ab.dx.map((v, i) => v + sb.dxl[i]), add: o.accumulate },
      { name: 'dxr', at: HC + 3, want: sb.dxr, add: false },
    ],
    o.tol,
  );
  assertClose(`${label} datt`, got.datt, sb.datt, o.tol);
  if (edge) assertClose(`${label} dedge`, got.dedge, sb.dedge, o.tol);
  if (o.twice === false) return dispose();
  const again = await run();
  assertBitIdentical(`${label} dG twice`, got.dG, again.dG);
  assertBitIdentical(`${label} datt twice`, got.datt, again.datt);
  assertBitIdentical(`${label} dedge twice`, got.dedge, again.dedge);
  dispose();
}

/** gatAttendBackward into a strided dx (accumulated or over NaN) and poisoned das, dad against float64; twice. */
async function checkGat(gpu: Gpu, rand: () => number, graph: Graph, label: string, o: Backward) {
  const N = graph.numNodes,
    E = graph.numEdges,
    H = o.heads,
    C = o.channels,
    HC = H * C,
    slope = 0.05 + 0.4 * rand();
  const dims = { heads: H, channels: C, slope };
  const x = randomArray(rand, N * HC),
    as = randomArray(rand, N * H, -2, 2),
    ad = randomArray(rand, N * H, -2, 2),
    dagg = randomArray(rand, N * HC);
  const edge = o.edge ? randomArray(rand, E * H, -2, 2) : undefined;
  const alpha = Float32Array.from(
    refSoftmax.segmentSoftmax(graph, refScores.gatScore(graph, as, ad, H, slope, edge), H),
  );
  const drop = dropoutFor(gpu, rand, o.p);
  const g = uploadGraph(gpu, graph);
  const t = {
    x: gpu.tensor('f32', [N, HC], x),
    as: gpu.tensor('f32', [N, H], as),
    ad: gpu.tensor('f32', [N, H], ad),
    alpha: gpu.tensor('f32', [E, H], alpha),
    dagg: gpu.tensor('f32', [N, HC], dagg),
    edge: edge && gpu.tensor('f32', [E, H], edge),
  };
  const stride = HC + 2;
  const base = o.accumulate ? randomArray(rand, N * stride) : new Float32Array(N * stride).fill(NaN);
  const dispose = () => [...Object.values(t), drop.step, g].forEach((v) => v?.dispose());
  const run = async () => {
    const dX = gpu.tensor('f32', [N, stride], base),
      das = gpu.full('f32', [N, H], NaN),
      dad = gpu.full('f32', [N, H], NaN);
    const dedge = edge && gpu.full('f32', [E, H], NaN);
    gatAttendBackward(gpu, g, t.as, t.ad, nodeMatrix(t.x), t.alpha, t.dagg, dims, {
      dropout: drop.gpu,
      dx: nodeMatrix(dX, stride, 1),
      accumulateDx: o.accumulate,
      das,
      dad,
      edge: t.edge,
      dedge,
    });
    const r = {
      dX: await readF32(dX),
      das: await readF32(das),
      dad: await readF32(dad),
      dedge: dedge ? await readF32(dedge) : new Float32Array(0),
    };
    [dX, das, dad, dedge].forEach((v) => v?.dispose());
    return r;
  };
  const got = await run();
  const ab = refAggregate.aggregateBackward(graph, alpha, x, dagg, H, C, drop.host);
  const de = refSoftmax.segmentSoftmaxBackward(graph, alpha, ab.dalpha, H);
  const sb = refScores.gatScoreBackward(graph, as, ad, de, H, slope, edge);
  checkBlocks(`${label} gat`, got.dX, N, stride, base, [{ name: 'dx', at: 1, want: ab.dx, add: o.accumulate }], o.tol);
  assertClose(`${label} gat das`, got.das, sb.das, o.tol);
  assertClose(`${label} gat dad`, got.dad, sb.dad, o.tol);
  if (edge) assertClose(`${label} gat dedge`, got.dedge, sb.dedge, o.tol);
  if (o.twice === false) return dispose();
  const again = await run();
  assertBitIdentical(`${label} gat dX twice`, got.dX, again.dX);
  assertBitIdentical(`${label} gat das twice`, got.das, again.das);
  assertBitIdentical(`${label} gat dad twice`, got.dad, again.dad);
  assertBitIdentical(`${label} gat dedge twice`, got.dedge, again.dedge);
  dispose();
}

/** [H, C]: row widths 1, 6 (10 slices of 6 lanes, 4 idle), 64 (one lane a column), 65 and 130 (a second round of
 * 1 and 2 columns), 32 channels (a full sign word), 33 (two). */
const WIDTHS = [
  [1, 1],
  [2, 3],
  [1, 64],
  [5, 13],
  [2, 65],
  [1, 32],
  [3, 33],
];

export const backwardCases: KernelCase[] = [
  {
    name:
      'fused attention backward, a workgroup per node: 10,000 in-edges and 10,000 out-edges, nodes without ' +
      'incoming or outgoing edges, row widths around the 64 lanes, 1 and 2 sign words, with and without an edge term',
    async run(gpu) {
      await repeat(WIDTHS.length, 51, async (rand, i) => {
        const [heads, channels] = WIDTHS[i];
        const graph = twoHubs(rand);
        const label = `H=${heads} C=${channels}`;
        // Node 1's gradient rows sum 10,000 terms in f32, one after another where H * C >= 64: ~1e-5 relative.
        const tol = 1e-4;
        const edge = i % 2 === 0;
        await checkGatv2(gpu, rand, graph, label, {
          heads,
          channels,
          p: i % 2 ? 0.3 : 0,
          accumulate: i % 3 === 0,
          tol,
          edge,
        });
        await checkGat(gpu, rand, graph, label, {
          heads,
          channels,
          p: i % 2 ? 0 : 0.3,
          accumulate: i % 3 === 1,
          tol,
          edge: !edge,
        });
      });
    },
  },
  {
    name:
      'fused attention backward, a workgroup per node: 70,000 nodes (more than 65,535 workgroups), dropout, ' +
      'accumulate, an edge term',
    async run(gpu) {
      const rand = rng(52);
      const N = 70_000;
      const graph = buildGraph(
        [
          Array.from({ length: 3000 }, () => randInt(rand, 0, N)),
          Array.from({ length: 3000 }, () => randInt(rand, 0, N)),
        ],
        N,
      );
      await checkGatv2(gpu, rand, graph, 'folded', {
        heads: 2,
        channels: 3,
        p: 0.25,
        accumulate: true,
        twice: false,
        edge: true,
      });
      await checkGat(gpu, rand, graph, 'folded', {
        heads: 2,
        channels: 3,
        p: 0.25,
        accumulate: false,
        twice: false,
        edge: true,
      });
    },
  },
  {
    name: 'fused attention backward dispatches the GPU-shaped passes (a workgroup per node)',
    async run(gpu) {
      const names: string[] = [];
      const dispatch = gpu.dispatch.bind(gpu);
      gpu.dispatch = (k: Kernel, call) => (names.push(k.name), dispatch(k, call));
      try {
        await checkGatv2(gpu, rng(53), twoHubs(rng(54), 10), 'names', {
          heads: 2,
          channels: 4,
          p: 0.5,
          accumulate: false,
        });
        await checkGat(gpu, rng(55), twoHubs(rng(56), 10), 'names', {
          heads: 2,
          channels: 4,
          p: 0.5,
          accumulate: true,
        });
      } finally {
        gpu.dispatch = dispatch;
      }
      const sg = gpu.hasSubgroups ? '+subgroups' : '';
      const want = [`gatv2_attend_dst.rows${sg}`, 'gatv2_attend_src.rows', 'column_sum.blocks'];
      const wantGat = [`gat_attend_dst.rows${sg}`, 'gat_attend_src.rows'];
      const all = [...want, ...want, ...wantGat, ...wantGat].join();
      assert(names.join() === all, `dispatched ${names.join()}, expected ${all}`);
    },
  },
];
