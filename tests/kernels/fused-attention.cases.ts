import fc from 'fast-check';
import type { Gpu } from '../../src/gpu/gpu.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
import { buildGraph, uploadGraph, type Graph } from '../../src/graph.ts';
import { aggregate, aggregateBackward } from '../../src/kernels/aggregate.ts';
import * as fused from '../../src/kernels/fused-attention.ts';
import { nodeMatrix } from '../../src/kernels/check.ts';
import { gatScore, gatScoreBackward, gatv2Score, gatv2ScoreBackward } from '../../src/kernels/edge-scores.ts';
import { segmentSoftmax, segmentSoftmaxBackward } from '../../src/kernels/softmax.ts';
import * as aggRef from '../reference/aggregate.ts';
import * as ref from '../reference/edge-scores.ts';
import * as smRef from '../reference/softmax.ts';
import {
  addArrays,
  assertUntouched,
  hubGraph,
  placeColumns,
  randomGraph,
  randomLayout,
  takeColumns,
  tracker,
} from './edge-scores.cases.ts';
import {
  assert,
  assertBitIdentical,
  assertClose,
  assertThrows,
  poisoned,
  randInt,
  randomArray,
  repeat,
  type KernelCase,
} from './harness.ts';

const CASES = 12;

interface Options {
  /** Dropout probability on alpha (0: none). */
  p?: number;
  bias?: boolean;
  accumulate?: boolean;
  /** GATv2 with shared weights: xl and xr are one view, dxr goes to its own buffer. */
  shared?: boolean;
  /** Run each kernel a second time and compare bits (default true). */
  determinism?: boolean;
  heads?: number;
  channels?: number;
  /** An edge term (random, [E, H*C] for GATv2, [E, H] for GAT) in the forward and the backward. */
  edge?: boolean;
}

const readF32 = async (t: Tensor) => (await t.read()) as Float32Array;

/**
 * assertClose, or every element within 1e-6 of the reference: gradients through the softmax cancel to (near) zero
 * on graphs whose segments hold copies of one edge, where a relative error means nothing. Inputs are O(1).
 */
function assertNear(label: string, got: Float32Array, want: ArrayLike<number>): void {
  try {
    assertClose(label, got, want);
  } catch (err) {
    const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0);
    if (!(worst <= 1e-6)) throw err;
  }
}

/** out + bias on every row (float64). */
function withBias(out: Float64Array, bias: Float32Array | null): Float64Array {
  if (!bias) return out;
  return out.map((v, i) => v + bias[i % bias.length]);
}

/** Random dims and dropout for one case; the dropout step lives in a u32 tensor as in training. */
function setup(gpu: Gpu, rand: () => number, graph: Graph, track: ReturnType<typeof tracker>, opts: Options) {
  const H = opts.heads ?? randInt(rand, 1, 9),
    C = opts.channels ?? randInt(rand, 1, 17);
  const dims = { heads: H, channels: C, slope: 0.05 + 0.4 * rand() };
  const p = opts.p ?? 0;
  const drop = p > 0 ? { p, seed: randInt(rand, 0, 2 ** 31), step: randInt(rand, 0, 10_000) } : undefined;
  const dropout = drop && { p: drop.p, seed: drop.seed, step: track(gpu.tensor('u32', [1], [drop.step])) };
  const bias = (opts.bias ?? rand() < 0.5) ? randomArray(rand, H * C) : null;
  const accumulate = opts.accumulate ?? rand() < 0.5;
  return { H, C, HC: H * C, dims, drop, dropout, bias, accumulate, g: track(uploadGraph(gpu, graph)) };
}

/**
 * gatv2Attend on G = [pad | xl | gap | xr | pad] (or one block for shared weights) against the float64 chain
 * gatv2Score -> segmentSoftmax -> aggregate (+ bias), then gatv2AttendBackward into another random layout against
 * aggregateBackward -> segmentSoftmaxBackward -> gatv2ScoreBackward; outputs poisoned, twice for determinism.
 */
async function checkGatv2(
  gpu: Gpu,
  rand: () => number,
  graph: Graph,
  label: string,
  opts: Options = {},
): Promise<void> {
  const track = tracker();
  const N = graph.numNodes,
    E = graph.numEdges;
  const { H, C, HC, dims, drop, dropout, bias, accumulate, g } = setup(gpu, rand, graph, track, opts);
  const shared = opts.shared ?? false;
  const xl = randomArray(rand, N * HC),
    xr = shared ? xl : randomArray(rand, N * HC),
    att = randomArray(rand, HC),
    dagg = randomArray(rand, N * HC);
  const lay = randomLayout(rand, HC, shared ? 1 : 2);
  const G = track(
    gpu.tensor(
      'f32',
      [N, lay.stride],
      placeColumns(
        N,
        lay.stride,
        shared
          ? [[lay.offsets[0], xl]]
          : [
              [lay.offsets[0], xl],
              [lay.offsets[1], xr],
            ],
      ),
    ),
  );
  const xlv = nodeMatrix(G, lay.stride, lay.offsets[0]),
    xrv = nodeMatrix(G, lay.stride, lay.offsets[shared ? 0 : 1]);
  const tAtt = track(gpu.tensor('f32', [HC], att)),
    tDagg = track(gpu.tensor('f32', [N, HC], dagg));
  const tBias = bias ? track(gpu.tensor('f32', [HC], bias)) : undefined;
  const edge = opts.edge ? randomArray(rand, E * HC) : undefined;
  const tEdge = edge && track(gpu.tensor('f32', [E, HC], edge));

  const forward = async () => {
    const r = fused.gatv2Attend(gpu, g, xlv, xrv, tAtt, dims, {
      dropout,
      bias: tBias,
      alpha: track(poisoned(gpu, 'f32', [E, H])),
      out: track(poisoned(gpu, 'f32', [N, HC])),
      edge: tEdge,
    });
    return { alpha: await readF32(r.alpha), out: await readF32(r.out) };
  };
  const got = await forward();
  const alpha64 = smRef.segmentSoftmax(graph, ref.gatv2Score(graph, xl, xr, att, dims, edge), H);
  assertClose(`${label} alpha`, got.alpha, alpha64);
  assertClose(`${label} out`, got.out, withBias(aggRef.aggregate(graph, alpha64, xl, H, C, drop), bias));
  const determinism = opts.determinism ?? true;
  if (determinism) {
    const again = await forward();
    assertBitIdentical(`${label} alpha determinism`, got.alpha, again.alpha);
    assertBitIdentical(`${label} out determinism`, got.out, again.out);
  }

  // Backward from the kernel's own alpha, as a layer would run it.
  const tAlpha = track(gpu.tensor('f32', [E, H], got.alpha));
  const ab = aggRef.aggregateBackward(graph, got.alpha, xl, dagg, H, C, drop);
  const de = smRef.segmentSoftmaxBackward(graph, got.alpha, ab.dalpha, H);
  const sb = ref.gatv2ScoreBackward(graph, xl, xr, att, de, dims, edge);
  const gl = randomLayout(rand, HC, shared ? 1 : 2);
  const dxl0 = accumulate ? randomArray(rand, N * HC) : null;
  const backward = async () => {
    const dG = track(
      gpu.tensor('f32', [N, gl.stride], placeColumns(N, gl.stride, dxl0 ? [[gl.offsets[0], dxl0]] : [])),
    );
    const dxr = shared ? nodeMatrix(track(poisoned(gpu, 'f32', [N, HC]))) : nodeMatrix(dG, gl.stride, gl.offsets[1]);
    const datt = track(poisoned(gpu, 'f32', [HC]));
    const dedge = tEdge && track(poisoned(gpu, 'f32', [E, HC]));
    fused.gatv2AttendBackward(gpu, g, xlv, xrv, tAtt, tAlpha, tDagg, dims, {
      dropout,
      dxl: nodeMatrix(dG, gl.stride, gl.offsets[0]),
      dxr,
      datt,
      accumulateDxl: accumulate,
      edge: tEdge,
      dedge,
    });
    return {
      dG: await readF32(dG),
      dxr: shared ? await readF32(dxr.t) : null,
      datt: await readF32(datt),
      dedge: dedge ? await readF32(dedge) : null,
    };
  };
  const gb = await backward();
  if (gb.dedge) assertNear(`${label} dedge`, gb.dedge, sb.dedge);
  const wantDxl = addArrays(ab.dx, sb.dxl);
  assertNear(
    `${label} dxl`,
    takeColumns(gb.dG, N, gl.stride, gl.offsets[0], HC),
    dxl0 ? addArrays(wantDxl, dxl0) : wantDxl,
  );
  assertNear(`${label} dxr`, gb.dxr ?? takeColumns(gb.dG, N, gl.stride, gl.offsets[1], HC), sb.dxr);
  assertNear(`${label} datt`, gb.datt, sb.datt);
  assertUntouched(
    `${label} dG`,
    gb.dG,
    N,
    gl.stride,
    shared
      ? [[gl.offsets[0], HC]]
      : [
          [gl.offsets[0], HC],
          [gl.offsets[1], HC],
        ],
  );
  if (determinism) {
    const again = await backward();
    assertBitIdentical(`${label} dG determinism`, gb.dG, again.dG);
    if (gb.dxr) assertBitIdentical(`${label} dxr determinism`, gb.dxr, again.dxr!);
    assertBitIdentical(`${label} datt determinism`, gb.datt, again.datt);
    if (gb.dedge) assertBitIdentical(`${label} dedge determinism`, gb.dedge, again.dedge!);
  }
  track.disposeAll();
}

/**
 * gatAttend on a strided x against gatScore -> segmentSoftmax -> aggregate (+ bias) in float64, and
 * gatAttendBackward against aggregateBackward -> segmentSoftmaxBackward -> gatScoreBackward.
 */
async function checkGat(gpu: Gpu, rand: () => number, graph: Graph, label: string, opts: Options = {}): Promise<void> {
  const track = tracker();
  const N = graph.numNodes,
    E = graph.numEdges;
  const { H, C, HC, dims, drop, dropout, bias, accumulate, g } = setup(gpu, rand, graph, track, opts);
  const x = randomArray(rand, N * HC),
    as = randomArray(rand, N * H, -2, 2),
    ad = randomArray(rand, N * H, -2, 2),
    dagg = randomArray(rand, N * HC);
  const lay = randomLayout(rand, HC, 1);
  const X = track(gpu.tensor('f32', [N, lay.stride], placeColumns(N, lay.stride, [[lay.offsets[0], x]])));
  const xv = nodeMatrix(X, lay.stride, lay.offsets[0]);
  const tAs = track(gpu.tensor('f32', [N, H], as)),
    tAd = track(gpu.tensor('f32', [N, H], ad)),
    tDagg = track(gpu.tensor('f32', [N, HC], dagg));
  const tBias = bias ? track(gpu.tensor('f32', [HC], bias)) : undefined;
  const edge = opts.edge ? randomArray(rand, E * H, -2, 2) : undefined;
  const tEdge = edge && track(gpu.tensor('f32', [E, H], edge));

  const forward = async () => {
    const r = fused.gatAttend(gpu, g, tAs, tAd, xv, dims, {
      dropout,
      bias: tBias,
      alpha: track(poisoned(gpu, 'f32', [E, H])),
      out: track(poisoned(gpu, 'f32', [N, HC])),
      edge: tEdge,
    });
    return { alpha: await readF32(r.alpha), out: await readF32(r.out) };
  };
  const got = await forward();
  const alpha64 = smRef.segmentSoftmax(graph, ref.gatScore(graph, as, ad, H, dims.slope, edge), H);
  assertClose(`${label} gat alpha`, got.alpha, alpha64);
  assertClose(`${label} gat out`, got.out, withBias(aggRef.aggregate(graph, alpha64, x, H, C, drop), bias));
  const determinism = opts.determinism ?? true;
  if (determinism) {
    const again = await forward();
    assertBitIdentical(`${label} gat alpha determinism`, got.alpha, again.alpha);
    assertBitIdentical(`${label} gat out determinism`, got.out, again.out);
  }

  const tAlpha = track(gpu.tensor('f32', [E, H], got.alpha));
  const ab = aggRef.aggregateBackward(graph, got.alpha, x, dagg, H, C, drop);
  const de = smRef.segmentSoftmaxBackward(graph, got.alpha, ab.dalpha, H);
  const sb = ref.gatScoreBackward(graph, as, ad, de, H, dims.slope, edge);
  const gl = randomLayout(rand, HC, 1);
  const dx0 = accumulate ? randomArray(rand, N * HC) : null;
  const backward = async () => {
    const dX = track(gpu.tensor('f32', [N, gl.stride], placeColumns(N, gl.stride, dx0 ? [[gl.offsets[0], dx0]] : [])));
    const dedge = tEdge && track(poisoned(gpu, 'f32', [E, H]));
    const r = fused.gatAttendBackward(gpu, g, tAs, tAd, xv, tAlpha, tDagg, dims, {
      dropout,
      dx: nodeMatrix(dX, gl.stride, gl.offsets[0]),
      accumulateDx: accumulate,
      das: track(poisoned(gpu, 'f32', [N, H])),
      dad: track(poisoned(gpu, 'f32', [N, H])),
      edge: tEdge,
      dedge,
    });
    return {
      dX: await readF32(dX),
      das: await readF32(r.das),
      dad: await readF32(r.dad),
      dedge: dedge ? await readF32(dedge) : null,
    };
  };
  const gb = await backward();
  if (gb.dedge) assertNear(`${label} gat dedge`, gb.dedge, sb.dedge);
  assertClose(
    `${label} gat dx`,
    takeColumns(gb.dX, N, gl.stride, gl.offsets[0], HC),
    dx0 ? addArrays(ab.dx, dx0) : ab.dx,
  );
  assertNear(`${label} gat das`, gb.das, sb.das);
  assertNear(`${label} gat dad`, gb.dad, sb.dad);
  assertUntouched(`${label} gat dX`, gb.dX, N, gl.stride, [[gl.offsets[0], HC]]);
  if (determinism) {
    const again = await backward();
    assertBitIdentical(`${label} gat dX determinism`, gb.dX, again.dX);
    assertBitIdentical(`${label} gat das determinism`, gb.das, again.das);
    assertBitIdentical(`${label} gat dad determinism`, gb.dad, again.dad);
    if (gb.dedge) assertBitIdentical(`${label} gat dedge determinism`, gb.dedge, again.dedge!);
  }
  track.disposeAll();
}

/**
 * 1,100,000 nodes, mostly isolated; with H = 8, C = 1 every kernel takes 2 heads per thread and launches 4.4M threads
 * (68,750 workgroups of 64).
 */
function foldGraph(rand: () => number): Graph {
  const N = 1_100_000,
    E = 20_000;
  return buildGraph(
    [Array.from({ length: E }, () => randInt(rand, 0, N)), Array.from({ length: E }, () => randInt(rand, 0, N))],
    N,
  );
}

export const cases: KernelCase[] = [
  {
    name:
      'GATv2 fused attention matches the float64 score -> softmax -> aggregate chain and its backward (strided ' +
      'views, bias and accumulate at random)',
    async run(gpu) {
      await repeat(CASES, 41, async (rand) => checkGatv2(gpu, rand, randomGraph(rand), 'random'));
    },
  },
  {
    name: 'GATv2 fused attention with dropout on alpha, with and without bias, accumulating and not',
    async run(gpu) {
      await repeat(8, 42, async (rand, i) =>
        checkGatv2(gpu, rand, randomGraph(rand), 'dropout', {
          p: 0.1 + 0.8 * rand(),
          bias: i % 2 === 0,
          accumulate: i % 4 < 2,
        }),
      );
    },
  },
  {
    name: 'GATv2 fused attention with shared weights (xl and xr one view, dxr in its own buffer)',
    async run(gpu) {
      await repeat(6, 43, async (rand, i) =>
        checkGatv2(gpu, rand, randomGraph(rand), 'shared', { shared: true, p: i % 2 ? 0.3 : 0 }),
      );
    },
  },
  {
    name:
      'GAT fused attention matches the float64 score -> softmax -> aggregate chain and its backward (dropout, ' +
      'bias, accumulate)',
    async run(gpu) {
      await repeat(CASES, 44, async (rand, i) =>
        checkGat(gpu, rand, randomGraph(rand), 'random', { p: i % 2 ? 0.1 + 0.8 * rand() : 0 }),
      );
    },
  },
  {
    name:
      'head widths around the 8-channel block: single-pass pipelines (C <= 8) and WIDE ones (C > 8), with and ' +
      'without dropout',
    async run(gpu) {
      await repeat(8, 47, async (rand, i) => {
        const channels = [1, 4, 7, 8, 9, 12, 16, 17][i];
        const p = i % 2 ? 0.4 : 0;
        await checkGatv2(gpu, rand, randomGraph(rand), `C=${channels}`, { channels, p });
        await checkGat(gpu, rand, randomGraph(rand), `C=${channels}`, { channels, p: 0.4 - p });
      });
    },
  },
  {
    name:
      'heads per thread: odd H (one head per thread), even H (two), C <= 8 and WIDE, with and without dropout ' +
      'and bias',
    async run(gpu) {
      // [H, C]: H = 1, 3, 5, 7 take one head per thread; H = 2, 4, 6, 8 with C <= 8 take two; C > 8 (WIDE) takes one
      // whatever H.
      const dims = [
        [1, 8],
        [2, 8],
        [3, 5],
        [4, 1],
        [6, 7],
        [8, 8],
        [8, 3],
        [7, 8],
        [2, 12],
        [6, 9],
      ];
      await repeat(dims.length, 48, async (rand, i) => {
        const [heads, channels] = dims[i];
        const p = i % 2 ? 0.5 : 0,
          bias = i % 4 < 2;
        await checkGatv2(gpu, rand, randomGraph(rand), `H=${heads} C=${channels}`, { heads, channels, p, bias });
        await checkGat(gpu, rand, randomGraph(rand), `H=${heads} C=${channels}`, {
          heads,
          channels,
          p: 0.5 - p,
          bias: !bias,
        });
      });
    },
  },
  {
    name:
      'with an edge term: every variant (dropout, C <= 8 and WIDE, H odd and even, shared weights, bias, ' +
      'accumulate) against float64, dedge included',
    async run(gpu) {
      // [H, C]: one and two heads per thread, C around the 8-channel block.
      const dims = [
        [1, 1],
        [2, 8],
        [3, 5],
        [8, 3],
        [1, 9],
        [2, 12],
        [3, 16],
        [5, 17],
      ];
      await repeat(dims.length, 50, async (rand, i) => {
        const [heads, channels] = dims[i];
        const p = i % 2 ? 0.4 : 0,
          bias = i % 4 < 2,
          accumulate = i % 3 === 0;
        await checkGatv2(gpu, rand, randomGraph(rand), `edge H=${heads} C=${channels}`, {
          heads,
          channels,
          p,
          bias,
          accumulate,
          edge: true,
          shared: i % 5 === 4,
        });
        await checkGat(gpu, rand, randomGraph(rand), `edge H=${heads} C=${channels}`, {
          heads,
          channels,
          p: 0.4 - p,
          bias: !bias,
          accumulate: !accumulate,
          edge: true,
        });
      });
    },
  },
  {
    name:
      'GATv2 backward with dropout, called again with another step on a same-sized graph (the source kernel ' +
      'takes the dropout site from the scratch, which the pool hands back)',
    async run(gpu) {
      await repeat(4, 49, async (rand, i) => {
        const graph = randomGraph(rand),
          channels = i < 2 ? 8 : 12;
        await checkGatv2(gpu, rand, graph, `step A C=${channels}`, { heads: 4, channels, p: 0.5, determinism: false });
        await checkGatv2(gpu, rand, graph, `step B C=${channels}`, { heads: 4, channels, p: 0.5, determinism: false });
      });
    },
  },
  {
    name: 'fused attention matches the unfused GPU kernels (same dropout masks)',
    async run(gpu) {
      await repeat(4, 45, async (rand) => {
        const track = tracker();
        const graph = randomGraph(rand),
          N = graph.numNodes;
        const H = randInt(rand, 1, 5),
          C = randInt(rand, 1, 10),
          HC = H * C,
          dims = { heads: H, channels: C, slope: 0.2 };
        const g = track(uploadGraph(gpu, graph));
        const G = track(gpu.tensor('f32', [N, 2 * HC], randomArray(rand, N * 2 * HC)));
        const xl = nodeMatrix(G, 2 * HC, 0),
          xr = nodeMatrix(G, 2 * HC, HC);
        const att = track(gpu.tensor('f32', [HC], randomArray(rand, HC))),
          dagg = track(gpu.tensor('f32', [N, HC], randomArray(rand, N * HC)));
        const dropout = {
          p: 0.4,
          seed: randInt(rand, 0, 1000),
          step: track(gpu.tensor('u32', [1], [randInt(rand, 0, 1000)])),
        };
        // Unfused, as GATv2Conv runs it today.
        const alpha = track(segmentSoftmax(gpu, g, track(gatv2Score(gpu, g, xl, xr, att, dims)), H));
        const out = track(aggregate(gpu, g, alpha, xl, dims, { dropout }));
        const dG = track(gpu.full('f32', [N, 2 * HC], 0)),
          datt = track(gpu.empty('f32', [HC]));
        const { dalpha } = aggregateBackward(gpu, g, alpha, xl, dagg, dims, { dx: nodeMatrix(dG, 2 * HC, 0), dropout });
        const de = track(segmentSoftmaxBackward(gpu, g, alpha, track(dalpha), H));
        gatv2ScoreBackward(gpu, g, xl, xr, att, de, dims, {
          dxl: nodeMatrix(dG, 2 * HC, 0),
          dxr: nodeMatrix(dG, 2 * HC, HC),
          datt,
          accumulateDxl: true,
        });
        // Fused.
        const f = fused.gatv2Attend(gpu, g, xl, xr, att, dims, { dropout });
        track(f.alpha), track(f.out);
        const fG = track(poisoned(gpu, 'f32', [N, 2 * HC])),
          fatt = track(poisoned(gpu, 'f32', [HC]));
        fused.gatv2AttendBackward(gpu, g, xl, xr, att, f.alpha, dagg, dims, {
          dropout,
          dxl: nodeMatrix(fG, 2 * HC, 0),
          dxr: nodeMatrix(fG, 2 * HC, HC),
          datt: fatt,
        });
        assertClose('alpha', await readF32(f.alpha), await readF32(alpha), 1e-6);
        assertClose('out', await readF32(f.out), await readF32(out), 1e-6);
        assertClose('dG', await readF32(fG), await readF32(dG));
        assertClose('datt', await readF32(fatt), await readF32(datt));
        track.disposeAll();
      });
    },
  },
  {
    name:
      'with an edge term, fused attention matches the separate kernels (same dropout masks), each pass within ' +
      'its storage-buffer limit',
    async run(gpu) {
      // Every dispatch's storage bindings: at most 10 for the fused kernels (canFuseAttention), 8 for the separate ones
      // (WebGPU's default, which the devices that cannot fuse have).
      const counts: [string, number][] = [];
      const dispatch = gpu.dispatch.bind(gpu);
      gpu.dispatch = (k, call) => (counts.push([k.name, k.iface.storage.length]), dispatch(k, call));
      try {
        await repeat(4, 51, async (rand, i) => {
          const track = tracker();
          const graph = randomGraph(rand),
            N = graph.numNodes,
            E = graph.numEdges;
          const H = randInt(rand, 1, 5),
            C = i < 2 ? randInt(rand, 1, 9) : randInt(rand, 9, 14),
            HC = H * C,
            dims = { heads: H, channels: C, slope: 0.2 };
          const g = track(uploadGraph(gpu, graph));
          const G = track(gpu.tensor('f32', [N, 2 * HC], randomArray(rand, N * 2 * HC)));
          const xl = nodeMatrix(G, 2 * HC, 0),
            xr = nodeMatrix(G, 2 * HC, HC);
          const att = track(gpu.tensor('f32', [HC], randomArray(rand, HC))),
            dagg = track(gpu.tensor('f32', [N, HC], randomArray(rand, N * HC)));
          const dropout =
            i % 2
              ? { p: 0.4, seed: randInt(rand, 0, 1000), step: track(gpu.tensor('u32', [1], [randInt(rand, 0, 1000)])) }
              : undefined;
          const edge = track(gpu.tensor('f32', [E, HC], randomArray(rand, E * HC)));
          // GATv2, separate.
          const alpha = track(
            segmentSoftmax(gpu, g, track(gatv2Score(gpu, g, xl, xr, att, dims, undefined, { edge })), H),
          );
          const out = track(aggregate(gpu, g, alpha, xl, dims, { dropout }));
          const dG = track(gpu.full('f32', [N, 2 * HC], 0)),
            datt = track(gpu.empty('f32', [HC])),
            dedge = track(gpu.empty('f32', [E, HC]));
          const { dalpha } = aggregateBackward(gpu, g, alpha, xl, dagg, dims, {
            dx: nodeMatrix(dG, 2 * HC, 0),
            dropout,
          });
          const de = track(segmentSoftmaxBackward(gpu, g, alpha, track(dalpha), H));
          gatv2ScoreBackward(gpu, g, xl, xr, att, de, dims, {
            dxl: nodeMatrix(dG, 2 * HC, 0),
            dxr: nodeMatrix(dG, 2 * HC, HC),
            datt,
            accumulateDxl: true,
            edge,
            dedge,
          });
          // GATv2, fused.
          const f = fused.gatv2Attend(gpu, g, xl, xr, att, dims, { dropout, edge });
          track(f.alpha), track(f.out);
          const fG = track(poisoned(gpu, 'f32', [N, 2 * HC])),
            fatt = track(poisoned(gpu, 'f32', [HC])),
            fedge = track(poisoned(gpu, 'f32', [E, HC]));
          fused.gatv2AttendBackward(gpu, g, xl, xr, att, f.alpha, dagg, dims, {
            dropout,
            dxl: nodeMatrix(fG, 2 * HC, 0),
            dxr: nodeMatrix(fG, 2 * HC, HC),
            datt: fatt,
            edge,
            dedge: fedge,
          });
          assertClose('gatv2 alpha', await readF32(f.alpha), await readF32(alpha), 1e-6);
          assertClose('gatv2 out', await readF32(f.out), await readF32(out), 1e-6);
          assertNear('gatv2 dG', await readF32(fG), await readF32(dG));
          assertNear('gatv2 datt', await readF32(fatt), await readF32(datt));
          assertNear('gatv2 dedge', await readF32(fedge), await readF32(dedge));

          // GAT, separate: as, ad and the edge term [E, H] given.
          const as = track(gpu.tensor('f32', [N, H], randomArray(rand, N * H))),
            ad = track(gpu.tensor('f32', [N, H], randomArray(rand, N * H)));
          const gEdge = track(gpu.tensor('f32', [E, H], randomArray(rand, E * H)));
          const gAlpha = track(
            segmentSoftmax(gpu, g, track(gatScore(gpu, g, as, ad, dims, undefined, { edge: gEdge })), H),
          );
          const gOut = track(aggregate(gpu, g, gAlpha, xl, dims, { dropout }));
          const dX = track(gpu.full('f32', [N, HC], 0)),
            gDedge = track(gpu.empty('f32', [E, H]));
          const gb = aggregateBackward(gpu, g, gAlpha, xl, dagg, dims, { dx: nodeMatrix(dX), dropout });
          const gde = track(segmentSoftmaxBackward(gpu, g, gAlpha, track(gb.dalpha), H));
          const sr = gatScoreBackward(gpu, g, as, ad, gde, dims, { edge: gEdge, dedge: gDedge });
          track(sr.das), track(sr.dad);
          // GAT, fused.
          const gf = fused.gatAttend(gpu, g, as, ad, xl, dims, { dropout, edge: gEdge });
          track(gf.alpha), track(gf.out);
          const fX = track(poisoned(gpu, 'f32', [N, HC])),
            fgEdge = track(poisoned(gpu, 'f32', [E, H]));
          const fr = fused.gatAttendBackward(gpu, g, as, ad, xl, gf.alpha, dagg, dims, {
            dropout,
            dx: nodeMatrix(fX),
            edge: gEdge,
            dedge: fgEdge,
          });
          track(fr.das), track(fr.dad);
          assertClose('gat alpha', await readF32(gf.alpha), await readF32(gAlpha), 1e-6);
          assertClose('gat out', await readF32(gf.out), await readF32(gOut), 1e-6);
          assertNear('gat dx', await readF32(fX), await readF32(dX));
          assertNear('gat das', await readF32(fr.das), await readF32(sr.das));
          assertNear('gat dad', await readF32(fr.dad), await readF32(sr.dad));
          assertNear('gat dedge', await readF32(fgEdge), await readF32(gDedge));
          track.disposeAll();
        });
      } finally {
        gpu.dispatch = dispatch;
      }
      for (const [name, count] of counts) {
        const limit = name.startsWith('edge_scores.') ? 8 : 10;
        assert(count <= limit, `${name} binds ${count} storage buffers, more than ${limit}`);
      }
      assert(
        counts.some(([name]) => name.endsWith('+edge')),
        'no edge pipeline was dispatched',
      );
    },
  },
  {
    name: 'awkward graphs: no edges, isolated nodes, duplicates and self loops, a node with 10,000 in-edges',
    async run(gpu) {
      await repeat(2, 46, async (rand, i) => {
        const none = buildGraph([[], []], 37);
        const sparse = buildGraph(
          [
            [3, 3, 3, 4, 4, 5, 6, 6],
            [0, 0, 0, 4, 4, 1, 2, 2],
          ],
          70,
        );
        const hub = hubGraph(rand, 300, 10_000);
        for (const [name, graph] of [
          ['no edges', none],
          ['isolated', sparse],
          ['hub', hub],
        ] as const) {
          await checkGatv2(gpu, rand, graph, name, { p: i ? 0.5 : 0, bias: true });
          await checkGat(gpu, rand, graph, name, { p: i ? 0 : 0.5, bias: i === 1 });
          // With an edge term: C <= 8 in the first round, WIDE in the second.
          const channels = i ? 9 : 6;
          await checkGatv2(gpu, rand, graph, `${name} edge`, { p: i ? 0 : 0.5, channels, edge: true });
          await checkGat(gpu, rand, graph, `${name} edge`, { p: i ? 0.5 : 0, channels, edge: true });
        }
      });
    },
  },
  {
    name: 'launches of more than 65,535 workgroups are folded into 2-D and cover every edge and node',
    async run(gpu) {
      const rand = Math.random;
      const graph = foldGraph(rand);
      await checkGatv2(gpu, rand, graph, 'folded', { heads: 8, channels: 1, p: 0.25, bias: true, determinism: false });
      await checkGat(gpu, rand, graph, 'folded', { heads: 8, channels: 1, p: 0.25, bias: false, determinism: false });
    },
  },
  {
    name: 'bad inputs throw errors that name the problem',
    async run(gpu) {
      const track = tracker();
      const g = track(
        uploadGraph(
          gpu,
          buildGraph(
            [
              [0, 1, 2],
              [1, 2, 0],
            ],
            3,
          ),
        ),
      );
      const H = 2,
        C = 3,
        HC = 6,
        dims = { heads: H, channels: C, slope: 0.2 };
      const G = track(gpu.full('f32', [3, 2 * HC], 0));
      const xl = nodeMatrix(G, 2 * HC, 0),
        xr = nodeMatrix(G, 2 * HC, HC);
      const att = track(gpu.full('f32', [HC], 0)),
        alpha = track(gpu.full('f32', [3, H], 0)),
        dagg = track(gpu.full('f32', [3, HC], 0));
      const dG = track(gpu.full('f32', [3, 2 * HC], 0)),
        datt = track(gpu.full('f32', [HC], 0));
      const grads = { dxl: nodeMatrix(dG, 2 * HC, 0), dxr: nodeMatrix(dG, 2 * HC, HC), datt };
      const as = track(gpu.full('f32', [3, H], 0)),
        ad = track(gpu.full('f32', [3, H], 0)),
        X = track(gpu.full('f32', [3, HC], 0)),
        x = nodeMatrix(X);
      const dX = nodeMatrix(track(gpu.full('f32', [3, HC], 0)));
      const step = track(gpu.tensor('u32', [1], [0]));
      assertThrows(
        'att size',
        () => fused.gatv2Attend(gpu, g, xl, xr, track(gpu.full('f32', [HC + 1], 0)), dims),
        /gatv2Attend: shape mismatch for att/,
      );
      assertThrows(
        'xr view',
        () => fused.gatv2Attend(gpu, g, xl, nodeMatrix(G, 2 * HC, HC + 1), att, dims),
        /gatv2Attend: xr view \(stride 12, offset 7\) cannot hold 6 columns/,
      );
      assertThrows(
        'bias size',
        () => fused.gatv2Attend(gpu, g, xl, xr, att, dims, { bias: track(gpu.full('f32', [HC - 1], 0)) }),
        /gatv2Attend: shape mismatch for bias/,
      );
      assertThrows(
        'alpha shape',
        () => fused.gatv2Attend(gpu, g, xl, xr, att, dims, { alpha: track(gpu.full('f32', [3, H + 1], 0)) }),
        /gatv2Attend: shape mismatch for alpha: expected \[3,2\]/,
      );
      assertThrows(
        'alpha aliases att',
        () => fused.gatv2Attend(gpu, g, xl, xr, att, dims, { alpha: att.reshape([3, H]) }),
        /gatv2Attend: alpha shares a GPU buffer with att/,
      );
      assertThrows(
        'dropout p',
        () => fused.gatv2Attend(gpu, g, xl, xr, att, dims, { dropout: { p: 1, seed: 0, step } }),
        /gatv2Attend: dropout p must be in \[0, 1\)/,
      );
      assertThrows(
        'slope',
        () => fused.gatv2Attend(gpu, g, xl, xr, att, { ...dims, slope: NaN }),
        /gatv2Attend: slope must be a finite number/,
      );
      assertThrows(
        'dagg shape',
        () =>
          fused.gatv2AttendBackward(gpu, g, xl, xr, att, alpha, track(gpu.full('f32', [3, HC + 1], 0)), dims, grads),
        /gatv2AttendBackward: shape mismatch for dagg: expected \[3,6\]/,
      );
      assertThrows(
        'backward alpha shape',
        () => fused.gatv2AttendBackward(gpu, g, xl, xr, att, dagg, dagg, dims, grads),
        /gatv2AttendBackward: shape mismatch for alpha/,
      );
      assertThrows(
        'datt size',
        () =>
          fused.gatv2AttendBackward(gpu, g, xl, xr, att, alpha, dagg, dims, {
            ...grads,
            datt: track(gpu.full('f32', [HC + 1], 0)),
          }),
        /gatv2AttendBackward: shape mismatch for datt/,
      );
      assertThrows(
        'dxl aliases xl',
        () => fused.gatv2AttendBackward(gpu, g, xl, xr, att, alpha, dagg, dims, { ...grads, dxl: xl }),
        /gatv2AttendBackward: dxl shares a GPU buffer with xl/,
      );
      assertThrows(
        'dxl overlaps dxr',
        () =>
          fused.gatv2AttendBackward(gpu, g, xl, xr, att, alpha, dagg, dims, {
            ...grads,
            dxr: nodeMatrix(dG, 2 * HC, 2),
          }),
        /gatv2AttendBackward: dxl and dxr views overlap/,
      );
      assertThrows(
        'gat ad shape',
        () => fused.gatAttend(gpu, g, as, track(gpu.full('f32', [3, H + 1], 0)), x, dims),
        /gatAttend: shape mismatch for ad: expected \[3,2\]/,
      );
      assertThrows(
        'gat x rows',
        () => fused.gatAttend(gpu, g, as, ad, nodeMatrix(track(gpu.full('f32', [2, HC], 0))), dims),
        /gatAttend: shape mismatch for x: expected 3 rows/,
      );
      assertThrows(
        'gat heads',
        () => fused.gatAttend(gpu, g, as, ad, x, { ...dims, heads: 0 }),
        /gatAttend: heads must be a positive integer/,
      );
      assertThrows(
        'gat backward dagg',
        () => fused.gatAttendBackward(gpu, g, as, ad, x, alpha, alpha, dims, { dx: dX }),
        /gatAttendBackward: shape mismatch for dagg/,
      );
      assertThrows(
        'gat backward das',
        () => fused.gatAttendBackward(gpu, g, as, ad, x, alpha, dagg, dims, { dx: dX, das: dagg }),
        /gatAttendBackward: shape mismatch for das/,
      );
      assertThrows(
        'gat backward dx aliases dagg',
        () => fused.gatAttendBackward(gpu, g, as, ad, x, alpha, dagg, dims, { dx: nodeMatrix(dagg) }),
        /gatAttendBackward: dx shares a GPU buffer with dagg/,
      );
      const edge = track(gpu.full('f32', [3, HC], 0)),
        dedge = track(gpu.full('f32', [3, HC], 0)),
        gatEdge = track(gpu.full('f32', [3, H], 0));
      assertThrows(
        'edge shape',
        () => fused.gatv2Attend(gpu, g, xl, xr, att, dims, { edge: gatEdge }),
        /gatv2Attend: shape mismatch for edge: expected \[3,6\]/,
      );
      assertThrows(
        'edge dtype',
        () => fused.gatv2Attend(gpu, g, xl, xr, att, dims, { edge: track(gpu.full('u32', [3, HC], 0)) }),
        /gatv2Attend: edge must be f32, got u32/,
      );
      assertThrows(
        'out aliases edge',
        () => fused.gatv2Attend(gpu, g, xl, xr, att, dims, { edge, out: edge.reshape([3, HC]) }),
        /gatv2Attend: out shares a GPU buffer with edge/,
      );
      assertThrows(
        'gat edge shape',
        () => fused.gatAttend(gpu, g, as, ad, x, dims, { edge }),
        /gatAttend: shape mismatch for edge: expected \[3,2\]/,
      );
      assertThrows(
        'dedge without edge',
        () => fused.gatv2AttendBackward(gpu, g, xl, xr, att, alpha, dagg, dims, { ...grads, dedge }),
        /gatv2AttendBackward: dedge was given without edge/,
      );
      assertThrows(
        'edge without dedge',
        () => fused.gatv2AttendBackward(gpu, g, xl, xr, att, alpha, dagg, dims, { ...grads, edge }),
        /gatv2AttendBackward: edge was given without dedge/,
      );
      assertThrows(
        'dedge shape',
        () => fused.gatv2AttendBackward(gpu, g, xl, xr, att, alpha, dagg, dims, { ...grads, edge, dedge: gatEdge }),
        /gatv2AttendBackward: shape mismatch for dedge/,
      );
      assertThrows(
        'dedge aliases edge',
        () => fused.gatv2AttendBackward(gpu, g, xl, xr, att, alpha, dagg, dims, { ...grads, edge, dedge: edge }),
        /gatv2AttendBackward: dedge shares a GPU buffer with edge/,
      );
      assertThrows(
        'dedge aliases dagg',
        () => fused.gatv2AttendBackward(gpu, g, xl, xr, att, alpha, dagg, dims, { ...grads, edge, dedge: dagg }),
        /gatv2AttendBackward: dedge shares a GPU buffer with dagg/,
      );
      assertThrows(
        'gat dedge shape',
        () => fused.gatAttendBackward(gpu, g, as, ad, x, alpha, dagg, dims, { dx: dX, edge: gatEdge, dedge }),
        /gatAttendBackward: shape mismatch for dedge/,
      );
      assertThrows(
        'gat edge without dedge',
        () => fused.gatAttendBackward(gpu, g, as, ad, x, alpha, dagg, dims, { dx: dX, edge: gatEdge }),
        /gatAttendBackward: edge was given without dedge/,
      );
      assertThrows(
        'gat backward dropout step',
        () =>
          fused.gatAttendBackward(gpu, g, as, ad, x, alpha, dagg, dims, {
            dx: dX,
            dropout: { p: 0.5, seed: 0, step: alpha },
          }),
        /gatAttendBackward: dropout step must be u32, got f32/,
      );
      track.disposeAll();
    },
  },
  {
    name:
      'generated edge and dedge arguments, good and bad: the backward runs, or refuses with an error naming the ' +
      'argument before any dispatch',
    async run(gpu) {
      const track = tracker();
      const g = track(
        uploadGraph(
          gpu,
          buildGraph(
            [
              [0, 1, 2, 2],
              [1, 2, 0, 0],
            ],
            3,
          ),
        ),
      );
      const E = 4,
        H = 2,
        C = 3,
        HC = 6,
        dims = { heads: H, channels: C, slope: 0.2 };
      const G = track(gpu.full('f32', [3, 2 * HC], 0.5)),
        X = track(gpu.full('f32', [3, HC], 0.5));
      const xl = nodeMatrix(G, 2 * HC, 0),
        xr = nodeMatrix(G, 2 * HC, HC),
        x = nodeMatrix(X);
      const att = track(gpu.full('f32', [HC], 0.1)),
        alpha = track(gpu.full('f32', [E, H], 0.5)),
        dagg = track(gpu.full('f32', [3, HC], 1));
      const as = track(gpu.full('f32', [3, H], 0)),
        ad = track(gpu.full('f32', [3, H], 0));
      const dG = track(gpu.full('f32', [3, 2 * HC], 0)),
        datt = track(gpu.full('f32', [HC], 0)),
        dX = nodeMatrix(track(gpu.full('f32', [3, HC], 0)));
      const made = new Map<string, ReturnType<Gpu['empty']>>();
      const tensor = (dtype: 'f32' | 'u32', rows: number, cols: number, tag: string) => {
        const key = `${dtype} ${rows} ${cols} ${tag}`;
        if (!made.has(key)) made.set(key, track(gpu.full(dtype, [rows, cols], 0)));
        return made.get(key)!;
      };
      const arg = fc.record({
        present: fc.boolean(),
        rows: fc.constantFrom(E, E, E, E - 1, E + 1),
        cols: fc.constantFrom('width', 'width', 'width', 'other'),
        dtype: fc.constantFrom<('f32' | 'u32')[]>('f32', 'f32', 'f32', 'u32'),
      });
      const problem = fc.record({
        gat: fc.boolean(),
        edge: arg,
        dedge: arg,
        dedgeIs: fc.constantFrom('own', 'own', 'own', 'edge', 'dagg'),
      });
      fc.assert(
        fc.property(problem, (p) => {
          const width = p.gat ? H : HC,
            other = p.gat ? HC : H;
          const pick = (a: typeof p.edge, tag: string) =>
            a.present ? tensor(a.dtype, a.rows, a.cols === 'width' ? width : other, tag) : undefined;
          const edge = pick(p.edge, 'edge');
          let dedge = pick(p.dedge, 'dedge');
          if (dedge && p.dedgeIs === 'edge' && edge) dedge = edge;
          if (dedge && p.dedgeIs === 'dagg') dedge = p.gat ? alpha : dagg;
          const op = p.gat ? 'gatAttendBackward' : 'gatv2AttendBackward';
          const shapeOk = (a: typeof p.edge, t: typeof edge) =>
            t === alpha || t === dagg || (a.dtype === 'f32' && a.rows === E && a.cols === 'width');
          const dedgeShapeOk =
            dedge === edge
              ? shapeOk(p.edge, edge)
              : dedge === alpha
                ? p.gat
                : dedge === dagg
                  ? false
                  : shapeOk(p.dedge, dedge);
          // The expected refusal, in the order the checks run; null where the arguments are good.
          let want: RegExp | null = null;
          if (!edge && dedge) want = new RegExp(`^${op}: dedge was given without edge`);
          else if (edge && !dedge) want = new RegExp(`^${op}: edge was given without dedge`);
          else if (edge && !shapeOk(p.edge, edge))
            want =
              p.edge.dtype !== 'f32'
                ? new RegExp(`^${op}: edge must be f32, got u32`)
                : new RegExp(`^${op}: shape mismatch for edge`);
          else if (edge && !dedgeShapeOk)
            want =
              dedge !== dagg && p.dedge.dtype !== 'f32'
                ? new RegExp(`^${op}: dedge must be f32, got u32`)
                : new RegExp(`^${op}: shape mismatch for dedge`);
          else if (edge && (dedge === edge || dedge === alpha))
            want = new RegExp(`^${op}: dedge shares a GPU buffer with (edge|alpha)`);
          const before = gpu.dispatchCount;
          try {
            if (p.gat) {
              const r = fused.gatAttendBackward(gpu, g, as, ad, x, alpha, dagg, dims, { dx: dX, edge, dedge });
              track(r.das), track(r.dad);
            } else
              fused.gatv2AttendBackward(gpu, g, xl, xr, att, alpha, dagg, dims, {
                dxl: nodeMatrix(dG, 2 * HC, 0),
                dxr: nodeMatrix(dG, 2 * HC, HC),
                datt,
                edge,
                dedge,
              });
          } catch (err) {
            const msg = (err as Error).message;
            if (!want?.test(msg))
              throw new Error(`${JSON.stringify(p)}: threw "${msg}", expected ${want ?? 'no error'}`);
            if (gpu.dispatchCount !== before)
              throw new Error(`${JSON.stringify(p)}: refused after ${gpu.dispatchCount - before} dispatches`);
            return true;
          }
          if (want) throw new Error(`${JSON.stringify(p)}: ran, expected ${want}`);
          return gpu.dispatchCount > before;
        }),
        { numRuns: 150, seed: 52 },
      );
      gpu.flush();
      track.disposeAll();
    },
  },
];
