// The suites that check the kernels' GPU shapes (gpu.kernelShape 'gpu'), run on a device created with
// `kernels: 'gpu'` in Node (tests/node/kernels-gpu-shape.test.ts) and in Chromium (tests/browser/kernels.test.ts).
// The CPU driver runs the GPU shapes (workgroup barriers, 256-thread tiles) many times slower than its own, so
// these are the existing suites less their long random sweeps, plus cases aimed at the GPU shapes' own boundaries:
// 64 x 64 matmul tiles and 16-deep K stages, lanes per row, 32-column blocks and 1,024-row passes of the sums.
// Not a *.cases.ts file: the default-device runners do not pick it up.
import type { Gpu } from '../../src/gpu/gpu.ts';
import { backwardCases } from './gpu-shapes-backward.ts';
import { graphFromEdges } from './gpu-shapes-graph.ts';
import { matmul } from '../../src/kernels/matmul.ts';
import { columnSum, scatterAdd } from '../../src/kernels/reduce.ts';
import { dropout as refDropout } from '../reference/elementwise.ts';
import * as refMatmul from '../reference/matmul.ts';
import * as refReduce from '../reference/reduce.ts';
import { gatv2Attend } from '../../src/kernels/fused-attention.ts';
import { nodeMatrix } from '../../src/kernels/check.ts';
import * as refAggregate from '../reference/aggregate.ts';
import * as refAttention from '../reference/edge-scores.ts';
import * as refSoftmax from '../reference/softmax.ts';
import { cases as attendCases } from './fused-attention.cases.ts';
import { cases as matmulCases } from './matmul.cases.ts';
import { cases as reduceCases } from './reduce.cases.ts';
import { cases as spmmCases } from './spmm.cases.ts';
import {
  assert,
  assertBitIdentical,
  assertClose,
  poisoned,
  randInt,
  randomArray,
  repeat,
  type KernelCase,
} from './harness.ts';

/**
 * Cases of the existing suites left out here: random sweeps that take minutes through the GPU shapes on a CPU driver.
 */
const LONG = [
  /^A B, A\^T B, A B\^T, A\^T B\^T \(\+ bias\) match float64 on random ragged shapes/,
  /^every thread block/,
  /^split-K \(a tiny C with K up to 20,000\)/,
  /^same inputs twice give bit-identical outputs \(plain and split-K\)/,
  // 1.1 million nodes: as many workgroups of the fused attention's GPU shape, each with 8 heads' reductions.
  /^launches of more than 65,535 workgroups are folded into 2-D and cover every edge and node/,
];
const lean = (cases: KernelCase[]) => cases.filter((c) => !LONG.some((re) => re.test(c.name)));

const FORMS = [
  { transA: false, transB: false },
  { transA: true, transB: false },
  { transA: false, transB: true },
  { transA: true, transB: true },
];

async function checkMatmul(
  gpu: Gpu,
  rand: () => number,
  m: number,
  k: number,
  n: number,
  o: { transA: boolean; transB: boolean; accumulate: boolean; bias: boolean; drop?: boolean },
) {
  const a = randomArray(rand, m * k),
    b = randomArray(rand, k * n),
    c0 = randomArray(rand, m * n);
  const ta = gpu.tensor('f32', o.transA ? [k, m] : [m, k], a),
    tb = gpu.tensor('f32', o.transB ? [n, k] : [k, n], b);
  const out = o.accumulate ? gpu.tensor('f32', [m, n], c0) : poisoned(gpu, 'f32', [m, n]);
  const biasValues = o.bias ? randomArray(rand, n) : null;
  const bias = biasValues ? gpu.tensor('f32', [n], biasValues) : undefined;
  const p = Math.fround(0.1 + 0.8 * rand()),
    seed = randInt(rand, 0, 2 ** 31),
    stepV = randInt(rand, 0, 1000);
  const step = o.drop ? gpu.tensor('u32', [1], [stepV]) : undefined;
  const dropoutA = step && { p, seed, step };
  const got = await matmul(gpu, ta, tb, {
    transA: o.transA,
    transB: o.transB,
    accumulate: o.accumulate,
    bias,
    dropoutA,
    out,
  }).read();
  const want = refMatmul.matmul(
    o.drop ? refDropout(a, p, seed, stepV) : a,
    b,
    { m, n, k, transA: o.transA, transB: o.transB },
    o.accumulate ? c0 : undefined,
  );
  if (biasValues) for (let i = 0; i < want.length; i++) want[i] += biasValues[i % n];
  const flags =
    `${o.transA ? 'A^T' : 'A'} ` +
    `${o.transB ? 'B^T' : 'B'}${o.accumulate ? ' + C' : ''}${o.bias ? ' + bias' : ''}${o.drop ? ' dropout(A)' : ''}`;
  assertClose(`${flags} [${m}, ${k}] x [${k}, ${n}]`, got, want);
  [ta, tb, out, bias, step].forEach((t) => t?.dispose());
}

const targeted: KernelCase[] = [
  {
    name:
      'tiled matmul: every form, accumulate, bias and dropout on A, at sizes on and off the 64 x 64 tile and ' +
      'the 16-deep K stage',
    async run(gpu) {
      const sizes = [
        [1, 1, 1],
        [64, 16, 64],
        [65, 17, 63],
        [130, 33, 70],
        [3, 47, 129],
      ];
      await repeat(sizes.length, 41, async (rand, i) => {
        const [m, k, n] = sizes[i];
        for (const form of FORMS) {
          await checkMatmul(gpu, rand, m, k, n, {
            ...form,
            accumulate: rand() < 0.5,
            bias: rand() < 0.5,
            drop: rand() < 0.4,
          });
        }
      });
    },
  },
  {
    name:
      'tiled matmul: split-K (small C, long K) matches float64 in every form, with dropout on A, accumulate and ' +
      'bias; twice bit-identical',
    async run(gpu) {
      await repeat(4, 42, async (rand, i) => {
        const m = randInt(rand, 1, 70),
          k = randInt(rand, 300, 1500),
          n = randInt(rand, 1, 20);
        const before = gpu.dispatchCount;
        await checkMatmul(gpu, rand, m, k, n, {
          ...FORMS[i],
          accumulate: i % 2 === 1,
          bias: i % 3 === 0,
          drop: i === 2,
        });
        assert(
          gpu.dispatchCount - before === 2,
          `expected a split-K launch (2 dispatches) for [${m}, ${k}] x [${k}, ${n}]`,
        );
        const ta = gpu.tensor('f32', [m, k], randomArray(rand, m * k)),
          tb = gpu.tensor('f32', [k, n], randomArray(rand, k * n));
        const once = (await matmul(gpu, ta, tb, { out: poisoned(gpu, 'f32', [m, n]) }).read()) as Float32Array;
        const twice = (await matmul(gpu, ta, tb, { out: poisoned(gpu, 'f32', [m, n]) }).read()) as Float32Array;
        assertBitIdentical(`split-K [${m}, ${k}] x [${k}, ${n}] twice`, once, twice);
        [ta, tb].forEach((t) => t.dispose());
      });
    },
  },
  {
    name:
      'column sums by blocks: 32-column blocks and 1,024-row passes (one, two and three passes), f32 and vec4 ' +
      'columns, accumulate',
    async run(gpu) {
      const shapes = [
        [1, 1],
        [1024, 33],
        [1025, 64],
        [5000, 7],
        [1_100_000, 4],
      ];
      await repeat(shapes.length, 43, async (rand, i) => {
        const [rows, f] = shapes[i];
        const x = randomArray(rand, rows * f),
          init = randomArray(rand, f);
        const tx = gpu.tensor('f32', [rows, f], x);
        for (const accumulate of [false, true]) {
          const out = accumulate ? gpu.tensor('f32', [f], init) : poisoned(gpu, 'f32', [f]);
          const got = await columnSum(gpu, tx, { out, accumulate }).read();
          assertClose(
            `columnSum [${rows}, ${f}]${accumulate ? ' accumulate' : ''}`,
            got,
            refReduce.columnSum(x, rows, f, accumulate ? init : undefined),
          );
          out.dispose();
        }
        tx.dispose();
      });
    },
  },
  {
    name: 'scatter sums with lanes per node: F from 1 to 300 (one lane to several columns a lane), by dst and by src',
    async run(gpu) {
      await repeat(4, 44, async (rand, i) => {
        const f = [1, 12, 70, 300][i];
        const n = randInt(rand, 1, 200),
          e = randInt(rand, 0, 600);
        const { g, gt } = graphFromEdges(gpu, rand, n, e);
        const vals = randomArray(rand, g.numEdges * f);
        const tv = gpu.tensor('f32', [g.numEdges, f], vals);
        for (const by of ['dst', 'src'] as const) {
          const got = await scatterAdd(gpu, gt, tv, by, poisoned(gpu, 'f32', [n, f])).read();
          assertClose(
            `scatterAdd by ${by} F = ${f}`,
            got,
            refReduce.scatterAdd(vals, by === 'dst' ? g.dst : g.src, n, f),
          );
        }
        tv.dispose();
        gt.dispose();
      });
    },
  },
];

targeted.push({
  name:
    'fused attention forward, a workgroup per destination: 70,000 nodes (more than 65,535 workgroups), dropout ' +
    'and bias',
  async run(gpu) {
    const rand = (await import('./harness.ts')).rng(45);
    const n = 70_000,
      heads = 2,
      channels = 3,
      HC = heads * channels,
      slope = 0.2;
    const { g, gt } = graphFromEdges(gpu, rand, n, 3000);
    const xl = randomArray(rand, n * HC),
      xr = randomArray(rand, n * HC),
      att = randomArray(rand, HC),
      bias = randomArray(rand, HC);
    const drop = { p: 0.3, seed: 77, step: 5 };
    const t = {
      xl: gpu.tensor('f32', [n, HC], xl),
      xr: gpu.tensor('f32', [n, HC], xr),
      att: gpu.tensor('f32', [HC], att),
      bias: gpu.tensor('f32', [HC], bias),
      step: gpu.tensor('u32', [1], [drop.step]),
    };
    const alpha = poisoned(gpu, 'f32', [g.numEdges, heads]),
      out = poisoned(gpu, 'f32', [n, HC]);
    gatv2Attend(
      gpu,
      gt,
      nodeMatrix(t.xl),
      nodeMatrix(t.xr),
      t.att,
      { heads, channels, slope },
      { dropout: { p: drop.p, seed: drop.seed, step: t.step }, bias: t.bias, alpha, out },
    );
    const e = refAttention.gatv2Score(g, xl, xr, att, { heads, channels, slope });
    const wantAlpha = refSoftmax.segmentSoftmax(g, e, heads);
    const wantOut = refAggregate.aggregate(g, wantAlpha, xl, heads, channels, drop);
    for (let i = 0; i < wantOut.length; i++) wantOut[i] += bias[i % HC];
    assertClose('alpha', await alpha.read(), wantAlpha);
    assertClose('out', await out.read(), wantOut);
    [alpha, out, ...Object.values(t)].forEach((x) => x.dispose());
    gt.dispose();
  },
});

/** The suites to run on a GPU-shaped device, by family. */
export const gpuShapeSuites: [string, KernelCase[]][] = [
  ['spmm', spmmCases],
  ['matmul', lean(matmulCases)],
  ['reduce', reduceCases],
  ['attend', lean(attendCases)],
  ['gpu shapes', targeted],
  ['attend backward', backwardCases],
];
