import type { Gpu } from '../../src/gpu/gpu.ts';
import { buildGraph, uploadGraph, type Graph } from '../../src/graph.ts';
import * as sm from '../../src/kernels/softmax.ts';
import * as ref from '../reference/softmax.ts';
import { checkVjp } from '../reference/fd.ts';
import { hubGraph, randomGraph, tracker } from './edge-scores.cases.ts';
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

/** Every element finite and within `atol` of the reference. */
function assertAbsClose(label: string, got: ArrayLike<number>, want: ArrayLike<number>, atol: number): void {
  assertClose(label, got, want, Infinity); // lengths and finiteness
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= atol))
      throw new Error(`${label}: element ${i} is ${got[i]}, expected ${want[i]} (+- ${atol})`);
  }
}

/** Runs both kernels on `graph` with scores in [lo, hi) and checks them against float64, and their determinism. */
async function checkSoftmax(
  gpu: Gpu,
  rand: () => number,
  graph: Graph,
  heads: number,
  label: string,
  lo = -3,
  hi = 3,
  dsAbsTol?: number,
): Promise<void> {
  const track = tracker();
  const E = graph.numEdges;
  const g = track(uploadGraph(gpu, graph));
  const e = randomArray(rand, E * heads, lo, hi),
    dalpha = randomArray(rand, E * heads);
  const tE = track(gpu.tensor('f32', [E, heads], e)),
    tD = track(gpu.tensor('f32', [E, heads], dalpha));

  const forward = async () =>
    (await sm.segmentSoftmax(gpu, g, tE, heads, track(poisoned(gpu, 'f32', [E, heads]))).read()) as Float32Array;
  const alpha = await forward();
  const want = ref.segmentSoftmax(graph, e, heads);
  assertClose(`${label} alpha`, alpha, want);
  assertBitIdentical(`${label} alpha determinism`, alpha, await forward());

  // The backward takes the GPU's alpha (as the layer does); the reference gets the same f32 values.
  const tA = track(gpu.tensor('f32', [E, heads], alpha));
  const backward = async () =>
    (await sm
      .segmentSoftmaxBackward(gpu, g, tA, tD, heads, track(poisoned(gpu, 'f32', [E, heads])))
      .read()) as Float32Array;
  const ds = await backward();
  const wantDs = ref.segmentSoftmaxBackward(graph, alpha, dalpha, heads);
  if (dsAbsTol === undefined) assertClose(`${label} ds`, ds, wantDs);
  else assertAbsClose(`${label} ds`, ds, wantDs, dsAbsTol);
  assertBitIdentical(`${label} ds determinism`, ds, await backward());
  track.disposeAll();
}

export const cases: KernelCase[] = [
  {
    name: 'segment softmax forward and backward match float64 on random graphs',
    async run(gpu) {
      await repeat(CASES, 21, async (rand) =>
        checkSoftmax(gpu, rand, randomGraph(rand), randInt(rand, 1, 9), 'random'),
      );
    },
  },
  {
    name: 'reference backward matches finite differences of the reference softmax',
    async run() {
      await repeat(5, 22, async (rand) => {
        const graph = randomGraph(rand, 10),
          heads = randInt(rand, 1, 4);
        const e = Float64Array.from(randomArray(rand, graph.numEdges * heads, -2, 2)),
          dalpha = randomArray(rand, graph.numEdges * heads);
        const alpha = ref.segmentSoftmax(graph, e, heads);
        checkVjp(
          'softmax',
          (v) => ref.segmentSoftmax(graph, v, heads),
          e,
          dalpha,
          ref.segmentSoftmaxBackward(graph, alpha, dalpha, heads),
        );
      });
    },
  },
  {
    name: 'composition: the GPU backward of the GPU softmax matches finite differences of the reference softmax',
    async run(gpu) {
      await repeat(5, 23, async (rand) => {
        const track = tracker();
        const graph = randomGraph(rand, 30),
          heads = randInt(rand, 1, 5),
          E = graph.numEdges;
        const g = track(uploadGraph(gpu, graph));
        const e = randomArray(rand, E * heads, -2, 2),
          dalpha = randomArray(rand, E * heads);
        const alpha = sm.segmentSoftmax(
          gpu,
          g,
          track(gpu.tensor('f32', [E, heads], e)),
          heads,
          track(poisoned(gpu, 'f32', [E, heads])),
        );
        const ds = await sm
          .segmentSoftmaxBackward(
            gpu,
            g,
            alpha,
            track(gpu.tensor('f32', [E, heads], dalpha)),
            heads,
            track(poisoned(gpu, 'f32', [E, heads])),
          )
          .read();
        // f32 results against float64 differences: relative to the largest |ds|, 1e-5 holds with room to spare.
        checkVjp('softmax composition', (v) => ref.segmentSoftmax(graph, v, heads), e, dalpha, ds, { tol: 1e-5 });
        track.disposeAll();
      });
    },
  },
  {
    name: 'large and very negative scores (80, -80, spread 200) neither overflow nor underflow to NaN',
    async run(gpu) {
      await repeat(4, 24, async (rand) => {
        const graph = randomGraph(rand),
          heads = randInt(rand, 1, 9);
        await checkSoftmax(gpu, rand, graph, heads, 'near 80', 79, 81);
        await checkSoftmax(gpu, rand, graph, heads, 'near -80', -81, -79);
        // With scores 200 apart one edge takes alpha = 1 in most segments, and ds = alpha * (dalpha - dot) is then a
        // difference of two nearly equal f32 values: its error is a few ulp of |dalpha| <= 1, absolute, while ds
        // itself is ~1e-7. So this case checks an absolute bound (segments have < 40 edges: 40 ulp < 5e-6).
        await checkSoftmax(gpu, rand, graph, heads, 'spread 200', -100, 100, 5e-6);
      });
      // One segment: 100 edges all at exactly 88 (exp(88) alone would be near f32's limit); alpha = 1/100 each.
      const track = tracker();
      const graph = buildGraph([Array.from({ length: 100 }, (_, k) => k % 7), Array(100).fill(3)], 7);
      const g = track(uploadGraph(gpu, graph));
      const alpha = (await sm
        .segmentSoftmax(gpu, g, track(gpu.full('f32', [100, 1], 88)), 1, track(poisoned(gpu, 'f32', [100, 1])))
        .read()) as Float32Array;
      assertClose('equal scores of 88', alpha, new Float64Array(100).fill(0.01));
      track.disposeAll();
    },
  },
  {
    name: 'awkward graphs: no edges, isolated nodes, duplicates and self loops, a node with 10,000 in-edges',
    async run(gpu) {
      await repeat(2, 25, async (rand) => {
        await checkSoftmax(gpu, rand, buildGraph([[], []], 37), randInt(rand, 1, 9), 'no edges');
        await checkSoftmax(
          gpu,
          rand,
          buildGraph(
            [
              [3, 3, 3, 4, 4, 5, 6, 6],
              [0, 0, 0, 4, 4, 1, 2, 2],
            ],
            70,
          ),
          randInt(rand, 1, 9),
          'isolated',
        );
        await checkSoftmax(gpu, rand, hubGraph(rand, 300, 10_000), randInt(rand, 1, 9), 'hub');
      });
    },
  },
  {
    name: 'a launch of more than 65,535 workgroups is folded into 2-D and covers every segment',
    async run(gpu) {
      // 530,000 nodes x 8 heads = 66,250 workgroups of 64; 20,000 random edges keep it short on SwiftShader.
      const rand = Math.random,
        N = 530_000,
        heads = 8,
        E = 20_000;
      const graph = buildGraph(
        [Array.from({ length: E }, () => randInt(rand, 0, N)), Array.from({ length: E }, () => randInt(rand, 0, N))],
        N,
      );
      await checkSoftmax(gpu, rand, graph, heads, 'folded');
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
      const e = track(gpu.full('f32', [3, 2], 0));
      assertThrows(
        'e shape',
        () => sm.segmentSoftmax(gpu, g, track(gpu.full('f32', [3, 3], 0)), 2),
        /segmentSoftmax: shape mismatch for e: expected \[3,2\]/,
      );
      assertThrows(
        'e dtype',
        () => sm.segmentSoftmax(gpu, g, track(gpu.full('u32', [3, 2], 0)), 2),
        /segmentSoftmax: e must be f32, got u32/,
      );
      assertThrows('heads', () => sm.segmentSoftmax(gpu, g, e, 0), /heads must be a positive integer/);
      assertThrows(
        'out shape',
        () => sm.segmentSoftmax(gpu, g, e, 2, track(gpu.full('f32', [2, 3], 0))),
        /shape mismatch for out/,
      );
      assertThrows('out aliases e', () => sm.segmentSoftmax(gpu, g, e, 2, e), /out shares a GPU buffer with e/);
      assertThrows(
        'dalpha shape',
        () => sm.segmentSoftmaxBackward(gpu, g, e, track(gpu.full('f32', [4, 2], 0)), 2),
        /segmentSoftmaxBackward: shape mismatch for dalpha/,
      );
      const other = track(uploadGraph(gpu, buildGraph([[0], [1]], 2)));
      assertThrows(
        'graph',
        () => sm.segmentSoftmax(gpu, { ...other, numEdges: 3 }, e, 2),
        /graph tensors do not match 2 nodes and 3 edges/,
      );
      track.disposeAll();
    },
  },
];
