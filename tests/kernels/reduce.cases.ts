import { buildGraph, uploadGraph, type Graph } from '../../src/graph.ts';
import { columnSum, COLUMN_BLOCK_ROWS, COLUMN_SINGLE_PASS_ROWS, scatterAdd } from '../../src/kernels/reduce.ts';
import * as ref from '../reference/reduce.ts';
import { checkVjp } from '../reference/fd.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import {
  assert,
  assertBitIdentical,
  assertClose,
  assertEqual,
  assertThrows,
  poisoned,
  randInt,
  randomArray,
  randomEdges,
  repeat,
  type KernelCase,
} from './harness.ts';

const CASES = 20;

/**
 * A random graph whose last nodes are isolated (no edges at all), with extra duplicate edges and self loops.
 * Returns the CSR graph (edges in destination order).
 */
function randomGraph(rand: () => number, n: number, e: number): Graph {
  const connected = Math.max(1, Math.floor(n * 0.8));
  const [s, d] = randomEdges(rand, connected, e);
  for (let k = 0; k < e / 10; k++) {
    const j = randInt(rand, 0, s.length);
    s.push(s[j]), d.push(d[j]); // duplicate
    const i = randInt(rand, 0, connected);
    s.push(i), d.push(i); // self loop
  }
  return buildGraph([s, d], n);
}

/**
 * Runs scatterAdd on `g` (both ways unless `ways` says) and checks every element against the float64 reference;
 * then (unless `once`) runs it again and checks the two results are bit-identical.
 */
async function checkScatter(
  gpu: Gpu,
  g: Graph,
  f: number,
  vals: Float32Array,
  once = false,
  ways: readonly ('dst' | 'src')[] = ['dst', 'src'],
): Promise<void> {
  const gt = uploadGraph(gpu, g);
  const tv = gpu.tensor('f32', [g.numEdges, f], vals);
  for (const by of ways) {
    const key = by === 'dst' ? g.dst : g.src;
    const first = scatterAdd(gpu, gt, tv, by, poisoned(gpu, 'f32', [g.numNodes, f]));
    const got = (await first.read()) as Float32Array;
    first.dispose();
    assertClose(`scatterAdd by ${by}`, got, ref.scatterAdd(vals, key, g.numNodes, f));
    if (once) continue;
    const second = scatterAdd(gpu, gt, tv, by, poisoned(gpu, 'f32', [g.numNodes, f]));
    assertBitIdentical(`scatterAdd by ${by} determinism`, got, (await second.read()) as Float32Array);
    second.dispose();
  }
  tv.dispose();
  gt.dispose();
}

export const cases: KernelCase[] = [
  {
    name: 'scatterAdd by dst and by src matches float64 on random graphs (isolated nodes, duplicates, self loops)',
    async run(gpu) {
      await repeat(CASES, 11, async (rand, i) => {
        // Even cases: F a multiple of 4 (the vec4 kernels); odd cases: any F (mostly the f32 kernels).
        const n = randInt(rand, 1, 700),
          e = randInt(rand, 0, 3000),
          f = i % 2 === 0 ? 4 * randInt(rand, 1, 17) : randInt(rand, 1, 40);
        const g = randomGraph(rand, n, e);
        const isolated = Array.from({ length: n }, (_, i) => i).filter(
          (i) => g.rowPtr[i] === g.rowPtr[i + 1] && g.colPtr[i] === g.colPtr[i + 1],
        );
        assert(n < 5 || isolated.length > 0, 'the random graph should have isolated nodes');
        await checkScatter(gpu, g, f, randomArray(rand, g.numEdges * f));
      });
    },
  },
  {
    name: 'scatterAdd: isolated nodes get exactly 0, a graph without edges gives all zeros',
    async run(gpu) {
      const g = buildGraph(
        [
          [0, 0, 2],
          [2, 2, 0],
        ],
        5,
      ); // nodes 1, 3, 4 isolated
      const f = 3;
      const vals = randomArray(Math.random, g.numEdges * f);
      const gt = uploadGraph(gpu, g);
      for (const by of ['dst', 'src'] as const) {
        const got = await scatterAdd(
          gpu,
          gt,
          gpu.tensor('f32', [g.numEdges, f], vals),
          by,
          poisoned(gpu, 'f32', [5, f]),
        ).read();
        for (const i of [1, 3, 4])
          for (let j = 0; j < f; j++)
            assert(Object.is(got[i * f + j], 0), `node ${i} by ${by}: ${got[i * f + j]}, expected 0`);
      }
      const empty = uploadGraph(gpu, buildGraph([[], []], 7));
      for (const by of ['dst', 'src'] as const) {
        const got = await scatterAdd(gpu, empty, gpu.empty('f32', [0, 4]), by, poisoned(gpu, 'f32', [7, 4])).read();
        assertEqual(`no edges by ${by}`, got, new Float32Array(28));
      }
    },
  },
  {
    name: 'scatterAdd: one node with 10,000 in-edges and one with 10,000 out-edges',
    async run(gpu) {
      const rand = Math.random;
      const n = 300,
        hubIn = 17,
        hubOut = 123;
      const [s, d] = randomEdges(rand, n, 2000);
      for (let k = 0; k < 10_000; k++) s.push(randInt(rand, 0, n)), d.push(hubIn);
      for (let k = 0; k < 10_000; k++) s.push(hubOut), d.push(randInt(rand, 0, n));
      const g = buildGraph([s, d], n);
      assert(
        g.rowPtr[hubIn + 1] - g.rowPtr[hubIn] >= 10_000 && g.colPtr[hubOut + 1] - g.colPtr[hubOut] >= 10_000,
        'hub degrees',
      );
      // Values with a positive mean, so that the hub's sum of 10,000 terms is not dominated by cancellation.
      for (const f of [5, 8]) await checkScatter(gpu, g, f, randomArray(rand, g.numEdges * f, -0.5, 1));
    },
  },
  {
    name:
      'scatterAdd: launches of more than 65,535 workgroups are folded and cover every element (f32 and vec4 ' +
      'columns)',
    async run(gpu) {
      const rand = Math.random;
      const n = 1_100_000; // F = 5: 5.5M threads (86,000 workgroups of 64); F = 16: 4.4M vec4 threads (68,750)
      const g = randomGraph(rand, n, 100_000);
      // One direction each keeps the run short (about 0.5 s per launch on SwiftShader); both share the index math.
      await checkScatter(gpu, g, 5, randomArray(rand, g.numEdges * 5), true, ['dst']);
      await checkScatter(gpu, g, 16, randomArray(rand, g.numEdges * 16), true, ['src']);
    },
  },
  {
    name: 'columnSum matches float64 on random shapes (one pass and two stages), with and without accumulate',
    async run(gpu) {
      await repeat(CASES, 12, async (rand, i) => {
        const rows = i % 4 === 0 ? randInt(rand, 1, COLUMN_SINGLE_PASS_ROWS + 1) : randInt(rand, 1, 5000);
        const f = i % 2 === 0 ? 4 * randInt(rand, 1, 18) : randInt(rand, 1, 70); // even cases: vec4 kernels
        // Nonzero mean: the relative bound then measures summation error, not cancellation in the data.
        const x = randomArray(rand, rows * f, -0.5, 1);
        const tx = gpu.tensor('f32', [rows, f], x);
        const first = columnSum(gpu, tx, { out: poisoned(gpu, 'f32', [f]) });
        const got = (await first.read()) as Float32Array;
        assertClose('columnSum', got, ref.columnSum(x, rows, f));
        const again = (await columnSum(gpu, tx, { out: poisoned(gpu, 'f32', [f]) }).read()) as Float32Array;
        assertBitIdentical('columnSum determinism', got, again);
        const init = randomArray(rand, f);
        const acc = columnSum(gpu, tx, { out: gpu.tensor('f32', [f], init), accumulate: true });
        assertClose('columnSum accumulate', await acc.read(), ref.columnSum(x, rows, f, init));
        const fresh = columnSum(gpu, tx);
        assertBitIdentical('columnSum into a new tensor', (await fresh.read()) as Float32Array, got);
        [tx, first, acc, fresh].forEach((t) => t.dispose());
      });
    },
  },
  {
    name: 'columnSum over many blocks: 200,000 x 3, 200,000 x 1, and rows not a multiple of the block',
    async run(gpu) {
      const rand = Math.random;
      for (const [rows, f] of [
        [200_000, 3],
        [200_000, 1],
        [100_000, 8],
        [COLUMN_BLOCK_ROWS * 977 + 5, 7],
        [COLUMN_SINGLE_PASS_ROWS + 1, 2],
        [COLUMN_SINGLE_PASS_ROWS + 1, 4],
      ]) {
        const x = randomArray(rand, rows * f, -0.5, 1);
        const tx = gpu.tensor('f32', [rows, f], x);
        const got = (await columnSum(gpu, tx, { out: poisoned(gpu, 'f32', [f]) }).read()) as Float32Array;
        assertClose(`columnSum [${rows}, ${f}]`, got, ref.columnSum(x, rows, f));
        assertBitIdentical(
          `columnSum [${rows}, ${f}] determinism`,
          got,
          (await columnSum(gpu, tx, { out: poisoned(gpu, 'f32', [f]) }).read()) as Float32Array,
        );
        tx.dispose();
      }
    },
  },
  {
    name: 'reduce: bad input throws an error that names the problem',
    async run(gpu) {
      const g = uploadGraph(
        gpu,
        buildGraph(
          [
            [0, 1, 2],
            [1, 2, 0],
          ],
          3,
        ),
      );
      assertThrows(
        'vals rows',
        () => scatterAdd(gpu, g, gpu.empty('f32', [4, 2]), 'dst'),
        /scatterAdd: shape mismatch for vals: expected \[3,\*\], got \[4,2\]/,
      );
      assertThrows('vals 1-D', () => scatterAdd(gpu, g, gpu.empty('f32', [3]), 'src'), /shape mismatch for vals/);
      assertThrows(
        'vals dtype',
        () => scatterAdd(gpu, g, gpu.empty('u32', [3, 2]), 'dst'),
        /scatterAdd: vals must be f32, got u32/,
      );
      assertThrows(
        'out shape',
        () => scatterAdd(gpu, g, gpu.empty('f32', [3, 2]), 'dst', gpu.empty('f32', [3, 3])),
        /shape mismatch for out: expected \[3,2\]/,
      );
      assertThrows(
        'by',
        () => scatterAdd(gpu, g, gpu.empty('f32', [3, 2]), 'both' as 'dst'),
        /'by' must be 'dst' or 'src'/,
      );
      assertThrows('x 1-D', () => columnSum(gpu, gpu.empty('f32', [5])), /columnSum: shape mismatch for x/);
      assertThrows('x dtype', () => columnSum(gpu, gpu.empty('i32', [5, 2])), /columnSum: x must be f32, got i32/);
      assertThrows(
        'out size',
        () => columnSum(gpu, gpu.empty('f32', [5, 2]), { out: gpu.empty('f32', [3]) }),
        /columnSum: shape mismatch for out: expected 2 elements/,
      );
      assertThrows(
        'accumulate without out',
        () => columnSum(gpu, gpu.empty('f32', [5, 2]), { accumulate: true }),
        /accumulate needs an out tensor/,
      );
    },
  },
  {
    name: 'reference backward of scatterAdd and columnSum match finite differences',
    async run() {
      const rand = Math.random;
      const g = randomGraph(rand, 12, 30),
        f = 3;
      for (const key of [g.dst, g.src]) {
        const vals = Float64Array.from(randomArray(rand, g.numEdges * f)),
          dout = randomArray(rand, g.numNodes * f);
        checkVjp(
          'scatterAdd',
          (v) => ref.scatterAdd(v, key, g.numNodes, f),
          vals,
          dout,
          ref.scatterAddBackward(dout, key, f),
        );
      }
      const x = Float64Array.from(randomArray(rand, 20 * 4)),
        dout = randomArray(rand, 4);
      checkVjp('columnSum', (v) => ref.columnSum(v, 20, 4), x, dout, ref.columnSumBackward(dout, 20, 4));
    },
  },
];
