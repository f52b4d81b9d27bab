import type { Gpu } from '../../src/gpu/gpu.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
import { buildGraph, uploadGraph, type Graph } from '../../src/graph.ts';
import * as att from '../../src/kernels/edge-scores.ts';
import { nodeMatrix } from '../../src/kernels/check.ts';
import * as ref from '../reference/edge-scores.ts';
import { checkVjp } from '../reference/fd.ts';
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

// ---- helpers shared with softmax.cases.ts and aggregate.cases.ts ----

/**
 * A random multigraph: 1..160 nodes, up to 5 edges per node, duplicate edges and self loops added on purpose, and
 * about a fifth of the nodes left without incoming edges (others end up without outgoing ones).
 */
export function randomGraph(rand: () => number, maxNodes = 160): Graph {
  const n = randInt(rand, 1, maxNodes + 1);
  const reachable = Array.from({ length: n }, (_, i) => i).filter(() => rand() > 0.2);
  const src: number[] = [];
  const dst: number[] = [];
  if (reachable.length > 0) {
    for (let k = randInt(rand, 0, 5 * n + 1); k > 0; k--)
      src.push(randInt(rand, 0, n)), dst.push(reachable[randInt(rand, 0, reachable.length)]);
    for (let k = randInt(rand, 0, 4); k > 0 && src.length > 0; k--) {
      const copy = randInt(rand, 0, src.length);
      for (let r = randInt(rand, 1, 4); r > 0; r--) src.push(src[copy]), dst.push(dst[copy]);
    }
    for (let k = randInt(rand, 0, 4); k > 0; k--) {
      const i = reachable[randInt(rand, 0, reachable.length)];
      src.push(i), dst.push(i);
    }
  }
  return buildGraph([src, dst], n);
}

/** A graph whose node 0 has `degree` incoming edges from random sources, plus a few random edges. */
export function hubGraph(rand: () => number, n: number, degree: number): Graph {
  const src: number[] = [];
  const dst: number[] = [];
  for (let k = 0; k < degree; k++) src.push(randInt(rand, 0, n)), dst.push(0);
  for (let k = 0; k < n; k++) src.push(randInt(rand, 0, n)), dst.push(randInt(rand, 1, n));
  return buildGraph([src, dst], n);
}

/** Row layout [pad | block 0 | gap | block 1 | ... | pad] for `blocks` blocks of `width` columns, random pads. */
export function randomLayout(rand: () => number, width: number, blocks: number): { stride: number; offsets: number[] } {
  let at = randInt(rand, 0, 3);
  const offsets: number[] = [];
  for (let b = 0; b < blocks; b++) offsets.push(at), (at += width + randInt(rand, 0, 3));
  return { stride: at, offsets };
}

/** A [rows, stride] host matrix filled with `fill`, with `blocks` ([offset, contiguous [rows, width] data]) placed. */
export function placeColumns(rows: number, stride: number, blocks: [number, Float32Array][], fill = NaN): Float32Array {
  const m = new Float32Array(rows * stride).fill(fill);
  for (const [offset, data] of blocks) {
    const width = data.length / rows;
    for (let r = 0; r < rows; r++) m.set(data.subarray(r * width, (r + 1) * width), r * stride + offset);
  }
  return m;
}

/** Columns offset .. offset + width of a [rows, stride] host matrix, as contiguous [rows, width]. */
export function takeColumns(
  m: ArrayLike<number>,
  rows: number,
  stride: number,
  offset: number,
  width: number,
): Float32Array {
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) for (let j = 0; j < width; j++) out[r * width + j] = m[r * stride + offset + j];
  return out;
}

/** Checks that every element of a [rows, stride] matrix outside the written column blocks is still NaN. */
export function assertUntouched(
  label: string,
  m: ArrayLike<number>,
  rows: number,
  stride: number,
  written: [number, number][],
): void {
  for (let j = 0; j < stride; j++) {
    if (written.some(([offset, width]) => j >= offset && j < offset + width)) continue;
    for (let r = 0; r < rows; r++) {
      if (!Number.isNaN(m[r * stride + j]))
        throw new Error(
          `${label}: column ${j} of row ${r} outside the output view was overwritten with ${m[r * stride + j]}`,
        );
    }
  }
}

export const addArrays = (a: ArrayLike<number>, b: ArrayLike<number>) => Float64Array.from(a, (v, i) => v + b[i]);

/** Collects tensors (and uploaded graphs) made in one case and disposes them together. */
export function tracker() {
  const items: { dispose(): void }[] = [];
  const track = <T extends { dispose(): void }>(t: T): T => (items.push(t), t);
  track.disposeAll = () => items.splice(0).forEach((t) => t.dispose());
  return track;
}

async function readF32(t: Tensor): Promise<Float32Array> {
  return (await t.read()) as Float32Array;
}

// ---- GATv2 ----

interface Gatv2Problem {
  graph: Graph;
  H: number;
  C: number;
  slope: number;
  xl: Float32Array;
  xr: Float32Array;
  att: Float32Array;
  de: Float32Array;
  /** The edge term [E, H*C] (CSR order), or none. */
  edge: Float32Array | null;
}

function gatv2Problem(rand: () => number, graph: Graph, withEdge = false): Gatv2Problem {
  const H = randInt(rand, 1, 9),
    C = randInt(rand, 1, 17),
    N = graph.numNodes;
  return {
    graph,
    H,
    C,
    slope: 0.05 + 0.4 * rand(),
    xl: randomArray(rand, N * H * C),
    xr: randomArray(rand, N * H * C),
    att: randomArray(rand, H * C),
    de: randomArray(rand, graph.numEdges * H),
    edge: withEdge ? randomArray(rand, graph.numEdges * H * C) : null,
  };
}

/** Runs gatv2Score and gatv2ScoreBackward on G = [pad | xl | gap | xr | pad] and checks them against float64. */
async function checkGatv2(gpu: Gpu, rand: () => number, p: Gatv2Problem, label: string): Promise<void> {
  const track = tracker();
  const { graph, H, C, slope } = p,
    N = graph.numNodes,
    E = graph.numEdges,
    HC = H * C;
  const dims = { heads: H, channels: C, slope };
  const g = track(uploadGraph(gpu, graph));
  const lay = randomLayout(rand, HC, 2);
  const G = track(
    gpu.tensor(
      'f32',
      [N, lay.stride],
      placeColumns(N, lay.stride, [
        [lay.offsets[0], p.xl],
        [lay.offsets[1], p.xr],
      ]),
    ),
  );
  const xl = nodeMatrix(G, lay.stride, lay.offsets[0]),
    xr = nodeMatrix(G, lay.stride, lay.offsets[1]);
  const T = track(gpu.tensor('f32', [HC], p.att)),
    de = track(gpu.tensor('f32', [E, H], p.de));
  const edge = p.edge ? track(gpu.tensor('f32', [E, HC], p.edge)) : undefined;

  const forward = () => readF32(att.gatv2Score(gpu, g, xl, xr, T, dims, track(poisoned(gpu, 'f32', [E, H])), { edge }));
  const e = await forward();
  assertClose(`${label} gatv2 e`, e, ref.gatv2Score(graph, p.xl, p.xr, p.att, dims, p.edge ?? undefined));
  assertBitIdentical(`${label} gatv2 e determinism`, e, await forward());

  // Gradients land in dG = [pad | dxl | gap | dxr | pad] (another random layout), NaN everywhere else.
  const want = ref.gatv2ScoreBackward(graph, p.xl, p.xr, p.att, p.de, dims, p.edge ?? undefined);
  const gl = randomLayout(rand, HC, 2);
  const accumulate = rand() < 0.5;
  const dxl0 = accumulate ? randomArray(rand, N * HC) : null;
  const backward = async () => {
    const dG = track(
      gpu.tensor('f32', [N, gl.stride], placeColumns(N, gl.stride, dxl0 ? [[gl.offsets[0], dxl0]] : [])),
    );
    const datt = track(poisoned(gpu, 'f32', [HC]));
    const dedge = edge ? track(poisoned(gpu, 'f32', [E, HC])) : undefined;
    att.gatv2ScoreBackward(gpu, g, xl, xr, T, de, dims, {
      dxl: nodeMatrix(dG, gl.stride, gl.offsets[0]),
      dxr: nodeMatrix(dG, gl.stride, gl.offsets[1]),
      datt,
      accumulateDxl: accumulate,
      edge,
      dedge,
    });
    return { dG: await readF32(dG), datt: await readF32(datt), dedge: dedge ? await readF32(dedge) : null };
  };
  const got = await backward();
  if (got.dedge) assertClose(`${label} gatv2 dedge`, got.dedge, want.dedge);
  assertClose(
    `${label} gatv2 dxl`,
    takeColumns(got.dG, N, gl.stride, gl.offsets[0], HC),
    dxl0 ? addArrays(want.dxl, dxl0) : want.dxl,
  );
  assertClose(`${label} gatv2 dxr`, takeColumns(got.dG, N, gl.stride, gl.offsets[1], HC), want.dxr);
  assertClose(`${label} gatv2 datt`, got.datt, want.datt);
  assertUntouched(`${label} gatv2 dG`, got.dG, N, gl.stride, [
    [gl.offsets[0], HC],
    [gl.offsets[1], HC],
  ]);
  const again = await backward();
  assertBitIdentical(`${label} gatv2 backward determinism`, got.dG, again.dG);
  assertBitIdentical(`${label} gatv2 datt determinism`, got.datt, again.datt);
  if (got.dedge) assertBitIdentical(`${label} gatv2 dedge determinism`, got.dedge, again.dedge!);
  track.disposeAll();
}

// ---- GAT ----

/** headDot on a strided x, its backward into a strided dx, gatScore and its backward, all against float64. */
async function checkGat(
  gpu: Gpu,
  rand: () => number,
  graph: Graph,
  H: number,
  C: number,
  label: string,
  withEdge = false,
): Promise<void> {
  const track = tracker();
  const N = graph.numNodes,
    E = graph.numEdges,
    HC = H * C,
    slope = 0.05 + 0.4 * rand();
  const g = track(uploadGraph(gpu, graph));
  const x = randomArray(rand, N * HC),
    a = randomArray(rand, HC),
    da = randomArray(rand, N * H),
    de = randomArray(rand, E * H);
  const lay = randomLayout(rand, HC, 1);
  const X = track(gpu.tensor('f32', [N, lay.stride], placeColumns(N, lay.stride, [[lay.offsets[0], x]])));
  const xv = nodeMatrix(X, lay.stride, lay.offsets[0]);
  const T = track(gpu.tensor('f32', [HC], a)),
    dA = track(gpu.tensor('f32', [N, H], da)),
    dE = track(gpu.tensor('f32', [E, H], de));

  const dot = await readF32(att.headDot(gpu, xv, T, N, { heads: H, channels: C }, track(poisoned(gpu, 'f32', [N, H]))));
  assertClose(`${label} headDot`, dot, ref.headDot(x, a, N, H, C));

  const gl = randomLayout(rand, HC, 1);
  const accumulate = rand() < 0.5;
  const dx0 = accumulate ? randomArray(rand, N * HC) : null;
  const headBackward = async () => {
    const dX = track(gpu.tensor('f32', [N, gl.stride], placeColumns(N, gl.stride, dx0 ? [[gl.offsets[0], dx0]] : [])));
    const datt = track(poisoned(gpu, 'f32', [HC]));
    att.headDotBackward(
      gpu,
      xv,
      T,
      dA,
      N,
      { heads: H, channels: C },
      { dx: nodeMatrix(dX, gl.stride, gl.offsets[0]), datt, accumulateDx: accumulate },
    );
    return { dX: await readF32(dX), datt: await readF32(datt) };
  };
  const hb = await headBackward();
  const hw = ref.headDotBackward(x, a, da, N, H, C);
  assertClose(
    `${label} headDot dx`,
    takeColumns(hb.dX, N, gl.stride, gl.offsets[0], HC),
    dx0 ? addArrays(hw.dx, dx0) : hw.dx,
  );
  assertClose(`${label} headDot datt`, hb.datt, hw.datt);
  assertUntouched(`${label} headDot dX`, hb.dX, N, gl.stride, [[gl.offsets[0], HC]]);
  assertBitIdentical(`${label} headDot datt determinism`, hb.datt, (await headBackward()).datt);

  // GAT scores from per-node values as, ad [N, H].
  // GAT scores from per-node values as, ad [N, H] and, with an edge term, per-edge values [E, H].
  const as = randomArray(rand, N * H),
    ad = randomArray(rand, N * H),
    edge = withEdge ? randomArray(rand, E * H) : null;
  const tAs = track(gpu.tensor('f32', [N, H], as)),
    tAd = track(gpu.tensor('f32', [N, H], ad));
  const tEdge = edge ? track(gpu.tensor('f32', [E, H], edge)) : undefined;
  const e = await readF32(
    att.gatScore(gpu, g, tAs, tAd, { heads: H, slope }, track(poisoned(gpu, 'f32', [E, H])), { edge: tEdge }),
  );
  assertClose(`${label} gatScore`, e, ref.gatScore(graph, as, ad, H, slope, edge ?? undefined));
  const scoreBackward = async () => {
    const dedge = tEdge ? track(poisoned(gpu, 'f32', [E, H])) : undefined;
    const r = att.gatScoreBackward(
      gpu,
      g,
      tAs,
      tAd,
      dE,
      { heads: H, slope },
      { das: track(poisoned(gpu, 'f32', [N, H])), dad: track(poisoned(gpu, 'f32', [N, H])), edge: tEdge, dedge },
    );
    return { das: await readF32(r.das), dad: await readF32(r.dad), dedge: dedge ? await readF32(dedge) : null };
  };
  const sb = await scoreBackward();
  const sw = ref.gatScoreBackward(graph, as, ad, de, H, slope, edge ?? undefined);
  assertClose(`${label} gatScore das`, sb.das, sw.das);
  assertClose(`${label} gatScore dad`, sb.dad, sw.dad);
  if (sb.dedge) assertClose(`${label} gatScore dedge`, sb.dedge, sw.dedge);
  const sb2 = await scoreBackward();
  assertBitIdentical(`${label} gatScore das determinism`, sb.das, sb2.das);
  assertBitIdentical(`${label} gatScore dad determinism`, sb.dad, sb2.dad);
  if (sb.dedge) assertBitIdentical(`${label} gatScore dedge determinism`, sb.dedge, sb2.dedge!);
  // Without das / dad, the outputs come from the pool.
  const fresh = att.gatScoreBackward(
    gpu,
    g,
    tAs,
    tAd,
    dE,
    { heads: H, slope },
    tEdge ? { edge: tEdge, dedge: track(gpu.empty('f32', [E, H])) } : {},
  );
  assertClose(`${label} gatScore das (pool output)`, await readF32(track(fresh.das)), sw.das);
  track(fresh.dad);
  track.disposeAll();
}

/**
 * 540,000 nodes with H = 8, C = 1: every entry point but the column sums launches one thread per (node, head) or per
 * (node, head, chunk of 4 channels), 540,000 * 8 / 64 = 67,500 workgroups. 20,000 random edges keep the run short on
 * SwiftShader; most nodes are isolated.
 */
function foldProblem(gpu: Gpu) {
  const rand = Math.random;
  const N = 540_000,
    H = 8,
    C = 1,
    E = 20_000;
  const graph = buildGraph(
    [Array.from({ length: E }, () => randInt(rand, 0, N)), Array.from({ length: E }, () => randInt(rand, 0, N))],
    N,
  );
  const track = tracker();
  const g = track(uploadGraph(gpu, graph));
  const xl = randomArray(rand, N * H),
    xr = randomArray(rand, N * H),
    a = randomArray(rand, H),
    de = randomArray(rand, E * H);
  const tXl = track(gpu.tensor('f32', [N, H], xl)),
    tXr = track(gpu.tensor('f32', [N, H], xr));
  const T = track(gpu.tensor('f32', [H], a)),
    dE = track(gpu.tensor('f32', [E, H], de));
  return { graph, g, N, H, C, E, xl, xr, a, de, tXl, tXr, T, dE, track };
}

export const cases: KernelCase[] = [
  {
    name: 'GATv2 score forward and backward match float64 on random graphs (strided xl/xr, dxl/dxr views)',
    async run(gpu) {
      await repeat(CASES, 11, async (rand) => checkGatv2(gpu, rand, gatv2Problem(rand, randomGraph(rand)), 'random'));
    },
  },
  {
    name: 'GAT head dot and score forward and backward match float64 on random graphs',
    async run(gpu) {
      await repeat(CASES, 12, async (rand) =>
        checkGat(gpu, rand, randomGraph(rand), randInt(rand, 1, 9), randInt(rand, 1, 17), 'random'),
      );
    },
  },
  {
    name: 'with an edge term: GATv2 and GAT scores and their backward (dedge too) match float64 on random graphs',
    async run(gpu) {
      await repeat(12, 15, async (rand) => {
        await checkGatv2(gpu, rand, gatv2Problem(rand, randomGraph(rand), true), 'edge');
        await checkGat(gpu, rand, randomGraph(rand), randInt(rand, 1, 9), randInt(rand, 1, 17), 'edge', true);
      });
    },
  },
  {
    name: 'reference backwards (GATv2 score, head dot, GAT score) match finite differences',
    async run() {
      await repeat(5, 13, async (rand) => {
        const graph = randomGraph(rand, 8);
        const p = gatv2Problem(rand, graph);
        const H = Math.min(p.H, 3),
          C = Math.min(p.C, 3),
          N = graph.numNodes,
          dims = { heads: H, channels: C, slope: p.slope };
        const xl = randomArray(rand, N * H * C),
          xr = randomArray(rand, N * H * C),
          a = randomArray(rand, H * C),
          de = randomArray(rand, graph.numEdges * H);
        const want = ref.gatv2ScoreBackward(graph, xl, xr, a, de, dims);
        checkVjp('gatv2 dxl', (v) => ref.gatv2Score(graph, v, xr, a, dims), xl, de, want.dxl);
        checkVjp('gatv2 dxr', (v) => ref.gatv2Score(graph, xl, v, a, dims), xr, de, want.dxr);
        checkVjp('gatv2 datt', (v) => ref.gatv2Score(graph, xl, xr, v, dims), a, de, want.datt);

        const da = randomArray(rand, N * H);
        const hd = ref.headDotBackward(xl, a, da, N, H, C);
        checkVjp('headDot dx', (v) => ref.headDot(v, a, N, H, C), xl, da, hd.dx);
        checkVjp('headDot datt', (v) => ref.headDot(xl, v, N, H, C), a, da, hd.datt);

        const as = randomArray(rand, N * H),
          ad = randomArray(rand, N * H);
        const gs = ref.gatScoreBackward(graph, as, ad, de, H, p.slope);
        checkVjp('gat das', (v) => ref.gatScore(graph, v, ad, H, p.slope), as, de, gs.das);
        checkVjp('gat dad', (v) => ref.gatScore(graph, as, v, H, p.slope), ad, de, gs.dad);

        // With edge terms: every gradient again, and d edge.
        const E = graph.numEdges,
          edge = randomArray(rand, E * H * C),
          gatEdge = randomArray(rand, E * H);
        const we = ref.gatv2ScoreBackward(graph, xl, xr, a, de, dims, edge);
        checkVjp('gatv2 dxl (edge)', (v) => ref.gatv2Score(graph, v, xr, a, dims, edge), xl, de, we.dxl);
        checkVjp('gatv2 dxr (edge)', (v) => ref.gatv2Score(graph, xl, v, a, dims, edge), xr, de, we.dxr);
        checkVjp('gatv2 datt (edge)', (v) => ref.gatv2Score(graph, xl, xr, v, dims, edge), a, de, we.datt);
        checkVjp('gatv2 dedge', (v) => ref.gatv2Score(graph, xl, xr, a, dims, v), edge, de, we.dedge);
        const ge = ref.gatScoreBackward(graph, as, ad, de, H, p.slope, gatEdge);
        checkVjp('gat das (edge)', (v) => ref.gatScore(graph, v, ad, H, p.slope, gatEdge), as, de, ge.das);
        checkVjp('gat dad (edge)', (v) => ref.gatScore(graph, as, v, H, p.slope, gatEdge), ad, de, ge.dad);
        checkVjp('gat dedge', (v) => ref.gatScore(graph, as, ad, H, p.slope, v), gatEdge, de, ge.dedge);
      });
    },
  },
  {
    name: 'awkward graphs: no edges, isolated nodes, duplicates and self loops only, a node with 10,000 in-edges',
    async run(gpu) {
      await repeat(2, 14, async (rand) => {
        const none = buildGraph([[], []], 37);
        // Nodes 5.. have no incoming edges, nodes 0..2 none outgoing; the rest are repeated edges and self loops.
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
          for (const withEdge of [false, true]) {
            const p = gatv2Problem(rand, graph, withEdge);
            await checkGatv2(gpu, rand, p, `${name}${withEdge ? ' edge' : ''}`);
            await checkGat(gpu, rand, graph, p.H, p.C, `${name}${withEdge ? ' edge' : ''}`, withEdge);
          }
        }
      });
    },
  },
  {
    name: 'GATv2 score: launches of more than 65,535 workgroups are folded into 2-D and cover every node',
    async run(gpu) {
      const { graph, g, N, H, C, E, xl, xr, a, de, tXl, tXr, T, dE, track } = foldProblem(gpu);
      const dims = { heads: H, channels: C, slope: 0.2 };
      const e = await readF32(
        att.gatv2Score(gpu, g, nodeMatrix(tXl), nodeMatrix(tXr), T, dims, track(poisoned(gpu, 'f32', [E, H]))),
      );
      assertClose('gatv2 e', e, ref.gatv2Score(graph, xl, xr, a, dims));
      const dxl = track(poisoned(gpu, 'f32', [N, H])),
        dxr = track(poisoned(gpu, 'f32', [N, H])),
        datt = track(poisoned(gpu, 'f32', [H]));
      att.gatv2ScoreBackward(gpu, g, nodeMatrix(tXl), nodeMatrix(tXr), T, dE, dims, {
        dxl: nodeMatrix(dxl),
        dxr: nodeMatrix(dxr),
        datt,
      });
      const want = ref.gatv2ScoreBackward(graph, xl, xr, a, de, dims);
      assertClose('gatv2 dxl', await readF32(dxl), want.dxl);
      assertClose('gatv2 dxr', await readF32(dxr), want.dxr);
      assertClose('gatv2 datt', await readF32(datt), want.datt);
      track.disposeAll();
    },
  },
  {
    name: 'GAT head dot and score: launches of more than 65,535 workgroups are folded into 2-D and cover every node',
    async run(gpu) {
      const { graph, g, N, H, C, E, xl, xr, a, de, tXl, tXr, T, dE, track } = foldProblem(gpu);
      const dims = { heads: H, channels: C, slope: 0.2 };
      const dot = await readF32(att.headDot(gpu, nodeMatrix(tXl), T, N, dims, track(poisoned(gpu, 'f32', [N, H]))));
      assertClose('headDot', dot, ref.headDot(xl, a, N, H, C));
      const dx = track(poisoned(gpu, 'f32', [N, H])),
        datt = track(poisoned(gpu, 'f32', [H]));
      att.headDotBackward(gpu, nodeMatrix(tXl), T, tXr, N, dims, { dx: nodeMatrix(dx), datt });
      const hw = ref.headDotBackward(xl, a, xr, N, H, C);
      assertClose('headDot dx', await readF32(dx), hw.dx);
      assertClose('headDot datt', await readF32(datt), hw.datt);

      const ge = await readF32(att.gatScore(gpu, g, tXl, tXr, dims, track(poisoned(gpu, 'f32', [E, H]))));
      assertClose('gatScore', ge, ref.gatScore(graph, xl, xr, H, dims.slope));
      const r = att.gatScoreBackward(gpu, g, tXl, tXr, dE, dims, {
        das: track(poisoned(gpu, 'f32', [N, H])),
        dad: track(poisoned(gpu, 'f32', [N, H])),
      });
      const gw = ref.gatScoreBackward(graph, xl, xr, de, H, dims.slope);
      assertClose('gatScore das', await readF32(r.das), gw.das);
      assertClose('gatScore dad', await readF32(r.dad), gw.dad);
      track.disposeAll();
    },
  },
  {
    name: 'bad inputs throw errors that name the problem',
    async run(gpu) {
      const track = tracker();
      const graph = buildGraph(
        [
          [0, 1, 2],
          [1, 2, 0],
        ],
        3,
      );
      const g = track(uploadGraph(gpu, graph));
      const H = 2,
        C = 3,
        HC = 6,
        dims = { heads: H, channels: C, slope: 0.2 };
      const G = track(gpu.full('f32', [3, 2 * HC], 0));
      const xl = nodeMatrix(G, 2 * HC, 0),
        xr = nodeMatrix(G, 2 * HC, HC);
      const a = track(gpu.full('f32', [HC], 0)),
        de = track(gpu.full('f32', [3, H], 0));
      const dG = track(gpu.full('f32', [3, 2 * HC], 0)),
        datt = track(gpu.full('f32', [HC], 0));
      const grads = { dxl: nodeMatrix(dG, 2 * HC, 0), dxr: nodeMatrix(dG, 2 * HC, HC), datt };
      const u32Att = track(gpu.full('u32', [HC], 0));
      assertThrows(
        'att dtype',
        () => att.gatv2Score(gpu, g, xl, xr, u32Att, dims),
        /gatv2Score: att must be f32, got u32/,
      );
      assertThrows(
        'att size',
        () => att.gatv2Score(gpu, g, xl, xr, track(gpu.full('f32', [HC + 1], 0)), dims),
        /gatv2Score: shape mismatch for att/,
      );
      assertThrows(
        'view too narrow',
        () => att.gatv2Score(gpu, g, xl, nodeMatrix(G, 2 * HC, HC + 1), a, dims),
        /xr view \(stride 12, offset 7\) cannot hold 6 columns/,
      );
      assertThrows(
        'xl rows',
        () => att.gatv2Score(gpu, g, nodeMatrix(track(gpu.full('f32', [4, 2 * HC], 0)), 2 * HC, 0), xr, a, dims),
        /shape mismatch for xl: expected 3 rows/,
      );
      assertThrows(
        'out shape',
        () => att.gatv2Score(gpu, g, xl, xr, a, dims, track(gpu.full('f32', [3, H + 1], 0))),
        /shape mismatch for out: expected \[3,2\]/,
      );
      assertThrows(
        'heads',
        () => att.gatv2Score(gpu, g, xl, xr, a, { ...dims, heads: 0 }),
        /heads must be a positive integer/,
      );
      assertThrows(
        'slope',
        () => att.gatv2Score(gpu, g, xl, xr, a, { ...dims, slope: NaN }),
        /slope must be a finite number/,
      );
      assertThrows(
        'de shape',
        () => att.gatv2ScoreBackward(gpu, g, xl, xr, a, track(gpu.full('f32', [3, H + 1], 0)), dims, grads),
        /gatv2ScoreBackward: shape mismatch for de/,
      );
      assertThrows(
        'datt size',
        () =>
          att.gatv2ScoreBackward(gpu, g, xl, xr, a, de, dims, { ...grads, datt: track(gpu.full('f32', [HC + 1], 0)) }),
        /shape mismatch for datt/,
      );
      assertThrows(
        'dxl aliases xl',
        () => att.gatv2ScoreBackward(gpu, g, xl, xr, a, de, dims, { ...grads, dxl: xl }),
        /dxl shares a GPU buffer with xl/,
      );
      assertThrows('headDot rows', () => att.headDot(gpu, xl, a, 4, dims), /headDot: shape mismatch for x/);
      assertThrows(
        'headDot da',
        () => att.headDotBackward(gpu, xl, a, de.reshape([H, 3]), 3, dims, { dx: grads.dxl, datt }),
        /headDotBackward: shape mismatch for da/,
      );
      assertThrows(
        'gatScore ad',
        () => att.gatScore(gpu, g, de, track(gpu.full('f32', [3, H + 1], 0)), dims),
        /gatScore: shape mismatch for ad/,
      );
      assertThrows(
        'gatScore as dtype',
        () => att.gatScore(gpu, g, track(gpu.full('i32', [3, H], 0)), de, dims),
        /gatScore: as must be f32, got i32/,
      );
      assertThrows(
        'gatScoreBackward de',
        () => att.gatScoreBackward(gpu, g, de, de, a, dims),
        /gatScoreBackward: shape mismatch for de/,
      );
      const edge = track(gpu.full('f32', [3, HC], 0)),
        dedge = track(gpu.full('f32', [3, HC], 0));
      assertThrows(
        'edge shape',
        () => att.gatv2Score(gpu, g, xl, xr, a, dims, undefined, { edge: de }),
        /gatv2Score: shape mismatch for edge: expected \[3,6\]/,
      );
      assertThrows(
        'out aliases edge',
        () => att.gatv2Score(gpu, g, xl, xr, a, dims, edge.view(0, [3, H]), { edge }),
        /gatv2Score: out shares a GPU buffer with edge/,
      );
      assertThrows(
        'dedge without edge',
        () => att.gatv2ScoreBackward(gpu, g, xl, xr, a, de, dims, { ...grads, dedge }),
        /gatv2ScoreBackward: dedge was given without edge/,
      );
      assertThrows(
        'edge without dedge',
        () => att.gatv2ScoreBackward(gpu, g, xl, xr, a, de, dims, { ...grads, edge }),
        /gatv2ScoreBackward: edge was given without dedge/,
      );
      assertThrows(
        'gatScore edge shape',
        () => att.gatScore(gpu, g, de, de, dims, undefined, { edge }),
        /gatScore: shape mismatch for edge: expected \[3,2\]/,
      );
      assertThrows(
        'gatScoreBackward dedge shape',
        () => att.gatScoreBackward(gpu, g, de, de, de, dims, { edge: de.view(0, [3, H]), dedge }),
        /gatScoreBackward: shape mismatch for dedge/,
      );
      assertThrows(
        'gatScoreBackward dedge aliases de',
        () => att.gatScoreBackward(gpu, g, de, de, de, dims, { edge: track(gpu.full('f32', [3, H], 0)), dedge: de }),
        /gatScoreBackward: dedge shares a GPU buffer with/,
      );
      track.disposeAll();
    },
  },
];
