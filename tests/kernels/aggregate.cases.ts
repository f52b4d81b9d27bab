import type { Gpu } from '../../src/gpu/gpu.ts';
import { buildGraph, uploadGraph, type Graph } from '../../src/graph.ts';
import * as agg from '../../src/kernels/aggregate.ts';
import { nodeMatrix } from '../../src/kernels/check.ts';
import * as ref from '../reference/aggregate.ts';
import { checkVjp } from '../reference/fd.ts';
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
  assertBitIdentical,
  assertClose,
  assertThrows,
  poisoned,
  randInt,
  randomArray,
  repeat,
  type KernelCase,
} from './harness.ts';

const CASES = 20;

interface Options {
  /** Dropout probability on alpha (0: none). */
  p?: number;
  /** Run each kernel a second time and compare bits (default true). */
  determinism?: boolean;
  heads?: number;
  channels?: number;
}

/**
 * aggregate on x = [pad | x | pad] (random layout) and aggregateBackward into dx of another random layout, NaN
 * outside dx's columns, accumulating half of the time; all against float64, twice for determinism.
 */
async function checkAggregate(
  gpu: Gpu,
  rand: () => number,
  graph: Graph,
  label: string,
  opts: Options = {},
): Promise<void> {
  const track = tracker();
  const N = graph.numNodes,
    E = graph.numEdges;
  const H = opts.heads ?? randInt(rand, 1, 9),
    C = opts.channels ?? randInt(rand, 1, 17),
    HC = H * C,
    dims = { heads: H, channels: C };
  const g = track(uploadGraph(gpu, graph));
  const alpha = randomArray(rand, E * H, 0, 1),
    x = randomArray(rand, N * HC),
    dout = randomArray(rand, N * HC);
  const p = opts.p ?? 0;
  const drop = p > 0 ? { p, seed: randInt(rand, 0, 2 ** 31), step: randInt(rand, 0, 10_000) } : undefined;
  const dropout = drop && { p: drop.p, seed: drop.seed, step: track(gpu.tensor('u32', [1], [drop.step])) };

  const lay = randomLayout(rand, HC, 1);
  const X = track(gpu.tensor('f32', [N, lay.stride], placeColumns(N, lay.stride, [[lay.offsets[0], x]])));
  const xv = nodeMatrix(X, lay.stride, lay.offsets[0]);
  const tAlpha = track(gpu.tensor('f32', [E, H], alpha)),
    tDout = track(gpu.tensor('f32', [N, HC], dout));

  const forward = async () =>
    (await agg
      .aggregate(gpu, g, tAlpha, xv, dims, { dropout, out: track(poisoned(gpu, 'f32', [N, HC])) })
      .read()) as Float32Array;
  const out = await forward();
  assertClose(`${label} out`, out, ref.aggregate(graph, alpha, x, H, C, drop));
  const determinism = opts.determinism ?? true;
  if (determinism) assertBitIdentical(`${label} out determinism`, out, await forward());

  const gl = randomLayout(rand, HC, 1);
  const accumulate = rand() < 0.5;
  const dx0 = accumulate ? randomArray(rand, N * HC) : null;
  const backward = async () => {
    const dX = track(gpu.tensor('f32', [N, gl.stride], placeColumns(N, gl.stride, dx0 ? [[gl.offsets[0], dx0]] : [])));
    const r = agg.aggregateBackward(gpu, g, tAlpha, xv, tDout, dims, {
      dalpha: track(poisoned(gpu, 'f32', [E, H])),
      dx: nodeMatrix(dX, gl.stride, gl.offsets[0]),
      accumulateDx: accumulate,
      dropout,
    });
    return { dalpha: (await r.dalpha.read()) as Float32Array, dX: (await dX.read()) as Float32Array };
  };
  const got = await backward();
  const want = ref.aggregateBackward(graph, alpha, x, dout, H, C, drop);
  assertClose(`${label} dalpha`, got.dalpha, want.dalpha);
  assertClose(
    `${label} dx`,
    takeColumns(got.dX, N, gl.stride, gl.offsets[0], HC),
    dx0 ? addArrays(want.dx, dx0) : want.dx,
  );
  assertUntouched(`${label} dX`, got.dX, N, gl.stride, [[gl.offsets[0], HC]]);
  if (determinism) {
    const again = await backward();
    assertBitIdentical(`${label} dalpha determinism`, got.dalpha, again.dalpha);
    assertBitIdentical(`${label} dx determinism`, got.dX, again.dX);
  }
  track.disposeAll();
}

export const cases: KernelCase[] = [
  {
    name: 'aggregation forward and backward match float64 on random graphs (strided x and dx)',
    async run(gpu) {
      await repeat(CASES, 31, async (rand) => checkAggregate(gpu, rand, randomGraph(rand), 'random'));
    },
  },
  {
    name: 'aggregation with dropout on alpha matches the float64 hash mask, forward and backward',
    async run(gpu) {
      await repeat(CASES, 32, async (rand) =>
        checkAggregate(gpu, rand, randomGraph(rand), 'dropout', { p: 0.1 + 0.8 * rand() }),
      );
    },
  },
  {
    name: 'the dropout mask drops about p of the coefficients and changes with the step',
    async run(gpu) {
      const track = tracker();
      const rand = Math.random,
        N = 500,
        E = 4000,
        H = 4,
        p = 0.3;
      const graph = buildGraph(
        [Array.from({ length: E }, () => randInt(rand, 0, N)), Array.from({ length: E }, () => randInt(rand, 0, N))],
        N,
      );
      const g = track(uploadGraph(gpu, graph));
      // With x = 1 and dout = 1 (C = 1), dalpha[k,h] is exactly the multiplier drop(k,h).
      const x = nodeMatrix(track(gpu.full('f32', [N, H], 1))),
        dout = track(gpu.full('f32', [N, H], 1)),
        alpha = track(gpu.full('f32', [E, H], 1));
      const step = track(gpu.tensor('u32', [1], [7]));
      const mask = async () => {
        const r = agg.aggregateBackward(
          gpu,
          g,
          alpha,
          x,
          dout,
          { heads: H, channels: 1 },
          { dx: nodeMatrix(track(gpu.empty('f32', [N, H]))), dropout: { p, seed: 99, step } },
        );
        return (await track(r.dalpha).read()) as Float32Array;
      };
      const m1 = await mask();
      assertClose('mask', m1, ref.dropMask(E, H, { p, seed: 99, step: 7 }));
      const dropped = m1.filter((v) => v === 0).length / m1.length;
      if (Math.abs(dropped - p) > 5 * Math.sqrt((p * (1 - p)) / m1.length))
        throw new Error(`dropped ${dropped}, p = ${p}`);
      step.write(new Uint32Array([8]));
      const m2 = await mask();
      if (m2.every((v, i) => v === m1[i])) throw new Error('the mask did not change with the step');
      track.disposeAll();
    },
  },
  {
    name: 'reference backward matches finite differences (with and without dropout)',
    async run() {
      await repeat(6, 33, async (rand, i) => {
        const graph = randomGraph(rand, 8),
          H = randInt(rand, 1, 4),
          C = randInt(rand, 1, 4),
          N = graph.numNodes,
          E = graph.numEdges;
        const drop = i % 2 ? { p: 0.4, seed: 5, step: i } : undefined;
        const alpha = randomArray(rand, E * H, 0, 1),
          x = randomArray(rand, N * H * C),
          dout = randomArray(rand, N * H * C);
        const want = ref.aggregateBackward(graph, alpha, x, dout, H, C, drop);
        checkVjp('aggregate dalpha', (v) => ref.aggregate(graph, v, x, H, C, drop), alpha, dout, want.dalpha);
        checkVjp('aggregate dx', (v) => ref.aggregate(graph, alpha, v, H, C, drop), x, dout, want.dx);
      });
    },
  },
  {
    name: 'awkward graphs: no edges, isolated nodes, duplicates and self loops, a node with 10,000 in-edges',
    async run(gpu) {
      await repeat(2, 34, async (rand) => {
        await checkAggregate(gpu, rand, buildGraph([[], []], 37), 'no edges');
        await checkAggregate(
          gpu,
          rand,
          buildGraph(
            [
              [3, 3, 3, 4, 4, 5, 6, 6],
              [0, 0, 0, 4, 4, 1, 2, 2],
            ],
            70,
          ),
          'isolated',
          { p: 0.5 },
        );
        await checkAggregate(gpu, rand, hubGraph(rand, 300, 10_000), 'hub');
      });
    },
  },
  {
    name: 'launches of more than 65,535 workgroups are folded into 2-D and cover every edge and node',
    async run(gpu) {
      // 540,000 nodes with H = 8, C = 1: all three entry points launch one thread per (node, head) or per (node,
      // head, chunk of 4 channels), 67,500 workgroups of 64. 20,000 random edges keep it short on SwiftShader.
      const rand = Math.random,
        N = 540_000,
        E = 20_000;
      const graph = buildGraph(
        [Array.from({ length: E }, () => randInt(rand, 0, N)), Array.from({ length: E }, () => randInt(rand, 0, N))],
        N,
      );
      await checkAggregate(gpu, rand, graph, 'folded', { heads: 8, channels: 1, p: 0.25, determinism: false });
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
      const dims = { heads: 2, channels: 3 };
      const alpha = track(gpu.full('f32', [3, 2], 0)),
        X = track(gpu.full('f32', [3, 6], 0)),
        x = nodeMatrix(X),
        dout = track(gpu.full('f32', [3, 6], 0));
      const dX = track(gpu.full('f32', [3, 6], 0));
      const step = track(gpu.tensor('u32', [1], [0]));
      assertThrows(
        'alpha shape',
        () => agg.aggregate(gpu, g, track(gpu.full('f32', [3, 3], 0)), x, dims),
        /aggregate: shape mismatch for alpha: expected \[3,2\]/,
      );
      assertThrows(
        'alpha dtype',
        () => agg.aggregate(gpu, g, track(gpu.full('i32', [3, 2], 0)), x, dims),
        /aggregate: alpha must be f32, got i32/,
      );
      assertThrows(
        'x width',
        () => agg.aggregate(gpu, g, alpha, x, { heads: 2, channels: 4 }),
        /x view \(stride 6, offset 0\) cannot hold 8 columns/,
      );
      assertThrows(
        'x rows',
        () => agg.aggregate(gpu, g, alpha, nodeMatrix(track(gpu.full('f32', [2, 6], 0))), dims),
        /shape mismatch for x: expected 3 rows/,
      );
      assertThrows(
        'channels',
        () => agg.aggregate(gpu, g, alpha, x, { heads: 2, channels: 1.5 }),
        /channels must be a positive integer/,
      );
      assertThrows(
        'out shape',
        () => agg.aggregate(gpu, g, alpha, x, dims, { out: track(gpu.full('f32', [3, 5], 0)) }),
        /shape mismatch for out/,
      );
      assertThrows(
        'dropout p',
        () => agg.aggregate(gpu, g, alpha, x, dims, { dropout: { p: 1, seed: 0, step } }),
        /dropout p must be in \[0, 1\)/,
      );
      assertThrows(
        'dropout step dtype',
        () => agg.aggregate(gpu, g, alpha, x, dims, { dropout: { p: 0.5, seed: 0, step: alpha } }),
        /dropout step must be u32, got f32/,
      );
      assertThrows(
        'dout shape',
        () => agg.aggregateBackward(gpu, g, alpha, x, alpha, dims, { dx: nodeMatrix(dX) }),
        /aggregateBackward: shape mismatch for dout/,
      );
      assertThrows(
        'dx aliases dout',
        () => agg.aggregateBackward(gpu, g, alpha, x, dout, dims, { dx: nodeMatrix(dout) }),
        /dx shares a GPU buffer with dout/,
      );
      assertThrows(
        'dalpha shape',
        () => agg.aggregateBackward(gpu, g, alpha, x, dout, dims, { dx: nodeMatrix(dX), dalpha: dX }),
        /shape mismatch for dalpha/,
      );
      track.disposeAll();
    },
  },
];
