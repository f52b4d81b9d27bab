import type { Tensor } from '../../src/gpu/tensor.ts';
import {
  attentionPoolBackward,
  globalPool,
  globalPoolBackward,
  poolSoftmax,
  weightedPool,
  type PoolMode,
} from '../../src/kernels/pooling.ts';
import { checkVjp } from '../reference/fd.ts';
import * as ref from '../reference/pooling.ts';
import {
  assert,
  assertBitIdentical,
  assertClose,
  assertEqual,
  assertThrows,
  poisoned,
  randInt,
  randomArray,
  repeat,
  segmentsOf,
  type KernelCase,
} from './harness.ts';

const CASES = 12;
const MODES: PoolMode[] = ['add', 'mean', 'max'];

/** Graph sizes with empty graphs and one-node graphs among them. */
function randomSizes(rand: () => number, graphs: number, most = 30): number[] {
  return Array.from({ length: graphs }, (_, g) => (g % 7 === 3 ? 0 : g % 5 === 1 ? 1 : randInt(rand, 0, most)));
}

async function read(t: Tensor): Promise<Float32Array> {
  const a = (await t.read()) as Float32Array;
  t.dispose();
  return a;
}

export const cases: KernelCase[] = [
  {
    name: 'globalPool add, mean, max and their backward match float64 (empty graphs, one-node graphs, any width)',
    async run(gpu) {
      await repeat(CASES, 61, async (rand) => {
        const sizes = randomSizes(rand, randInt(rand, 1, 40));
        const f = randInt(rand, 1, 37);
        const { seg, ptr, dispose } = segmentsOf(gpu, sizes);
        const xs = randomArray(rand, seg.numNodes * f);
        const dout = randomArray(rand, seg.numGraphs * f);
        const x = gpu.tensor('f32', [seg.numNodes, f], xs);
        const dt = gpu.tensor('f32', [seg.numGraphs, f], dout);
        for (const mode of MODES) {
          const want = ref.globalPool(xs, ptr, f, mode);
          const { out, argmax } = globalPool(gpu, x, seg, mode, {
            out: poisoned(gpu, 'f32', [seg.numGraphs, f]),
            argmax: mode === 'max' ? poisoned(gpu, 'u32', [seg.numGraphs, f]) : undefined,
          });
          assertClose(`${mode} forward`, await read(out), want.out);
          if (argmax) {
            const got = (await argmax.read()) as Uint32Array;
            assertEqual(
              'max argmax',
              Int32Array.from(got, (v) => (v === 0xffffffff ? -1 : v)),
              want.argmax,
            );
          }
          const dx = globalPoolBackward(gpu, dt, seg, mode, { argmax, dx: poisoned(gpu, 'f32', [seg.numNodes, f]) });
          assertClose(`${mode} backward`, await read(dx), ref.globalPoolBackward(dout, ptr, f, mode, want.argmax));
          argmax?.dispose();
        }
        x.dispose();
        dt.dispose();
        dispose();
      });
    },
  },
  {
    name: 'reference globalPool and attention-pool backward match finite differences',
    async run() {
      const rand = Math.random;
      const ptr = [0, 3, 3, 4, 9];
      const f = 3;
      const x = randomArray(rand, 9 * f);
      const dout = randomArray(rand, 4 * f);
      for (const mode of MODES) {
        const { argmax } = ref.globalPool(x, ptr, f, mode);
        checkVjp(
          `${mode} pool`,
          (v) => ref.globalPool(v, ptr, f, mode).out,
          x,
          dout,
          ref.globalPoolBackward(dout, ptr, f, mode, argmax),
        );
      }
      for (const gw of [1, f]) {
        const gate = randomArray(rand, 9 * gw);
        const { beta } = ref.attentionPool(x, gate, ptr, f, gw);
        const { dx, dgate } = ref.attentionPoolBackward(x, beta, dout, ptr, f, gw);
        checkVjp(`attention pool dx (G = ${gw})`, (v) => ref.attentionPool(v, gate, ptr, f, gw).out, x, dout, dx);
        checkVjp(`attention pool dgate (G = ${gw})`, (v) => ref.attentionPool(x, v, ptr, f, gw).out, gate, dout, dgate);
      }
    },
  },
  {
    name:
      'attention pooling (poolSoftmax, weightedPool, attentionPoolBackward) matches float64 for one gate and a ' +
      'gate per feature',
    async run(gpu) {
      await repeat(CASES, 62, async (rand, i) => {
        const sizes = randomSizes(rand, randInt(rand, 1, 30));
        const f = randInt(rand, 1, 33);
        const gw = i % 2 === 0 ? 1 : f;
        const { seg, ptr, dispose } = segmentsOf(gpu, sizes);
        const n = seg.numNodes;
        const xs = randomArray(rand, n * f);
        const gates = randomArray(rand, n * gw, -4, 4);
        const dout = randomArray(rand, seg.numGraphs * f);
        const want = ref.attentionPool(xs, gates, ptr, f, gw);
        const x = gpu.tensor('f32', [n, f], xs);
        const gate = gpu.tensor('f32', [n, gw], gates);
        const beta = poolSoftmax(gpu, gate, seg, poisoned(gpu, 'f32', [n, gw]));
        const betaHost = (await beta.read()) as Float32Array;
        assertClose('beta', betaHost, want.beta);
        for (let g = 0; g < seg.numGraphs; g++) {
          for (let j = 0; j < gw && sizes[g] > 0; j++) {
            let s = 0;
            for (let v = ptr[g]; v < ptr[g + 1]; v++) s += betaHost[v * gw + j];
            assert(Math.abs(s - 1) < 1e-5, `graph ${g} column ${j}: beta sums to ${s}`);
          }
        }
        assertClose(
          'pooled',
          await read(weightedPool(gpu, x, beta, seg, poisoned(gpu, 'f32', [seg.numGraphs, f]))),
          want.out,
        );
        const dt = gpu.tensor('f32', [seg.numGraphs, f], dout);
        const grads = attentionPoolBackward(gpu, x, beta, dt, seg, {
          dx: poisoned(gpu, 'f32', [n, f]),
          dgate: poisoned(gpu, 'f32', [n, gw]),
        });
        const wantGrads = ref.attentionPoolBackward(xs, betaHost, dout, ptr, f, gw);
        assertClose('dx', await read(grads.dx), wantGrads.dx);
        assertClose('dgate', await read(grads.dgate), wantGrads.dgate);
        [x, gate, beta, dt].forEach((t) => t.dispose());
        dispose();
      });
    },
  },
  {
    name: 'a graph of 10,000 nodes among small ones; backward over more than 65,535 workgroups; bit-identical reruns',
    async run(gpu) {
      const sizes = [1, 10_000, 0, 2, ...Array.from({ length: 300 }, (_, g) => 1 + (g % 9)), 56_000];
      const f = 64;
      const { seg, ptr, dispose } = segmentsOf(gpu, sizes);
      const rand = Math.random;
      const xs = randomArray(rand, seg.numNodes * f);
      const x = gpu.tensor('f32', [seg.numNodes, f], xs);
      const gate = gpu.tensor('f32', [seg.numNodes, 1], randomArray(rand, seg.numNodes, -3, 3));
      assert((seg.numNodes * f) / 64 > 65_535, 'the backward launch should exceed 65,535 workgroups');
      for (const mode of MODES) {
        const first = globalPool(gpu, x, seg, mode);
        const got = (await first.out.read()) as Float32Array;
        assertClose(`${mode} forward`, got, ref.globalPool(xs, ptr, f, mode).out);
        const second = globalPool(gpu, x, seg, mode);
        assertBitIdentical(`${mode} rerun`, got, await read(second.out));
        const dout = gpu.tensor('f32', [seg.numGraphs, f], randomArray(rand, seg.numGraphs * f));
        const dx = globalPoolBackward(gpu, dout, seg, mode, {
          argmax: first.argmax,
          dx: poisoned(gpu, 'f32', [seg.numNodes, f]),
        });
        const want = ref.globalPoolBackward(
          (await dout.read()) as Float32Array,
          ptr,
          f,
          mode,
          ref.globalPool(xs, ptr, f, mode).argmax,
        );
        assertClose(`${mode} backward`, await read(dx), want);
        [first.out, first.argmax, second.argmax, dout].forEach((t) => t?.dispose());
      }
      const beta = poolSoftmax(gpu, gate, seg);
      const a = await read(weightedPool(gpu, x, beta, seg));
      assertClose('attention pool', a, ref.attentionPool(xs, (await gate.read()) as Float32Array, ptr, f, 1).out, 1e-4);
      assertBitIdentical('attention pool rerun', a, await read(weightedPool(gpu, x, beta, seg)));
      [x, gate, beta].forEach((t) => t.dispose());
      dispose();
    },
  },
  {
    name: 'globalPool max: ties go to the first node; an empty graph gives 0 and no node',
    async run(gpu) {
      const { seg, dispose } = segmentsOf(gpu, [3, 0, 2]);
      const x = gpu.tensor('f32', [5, 2], [1, 5, 7, 5, 7, -1, -2, -3, -2, -3]);
      const { out, argmax } = globalPool(gpu, x, seg, 'max');
      assertEqual('max values', await read(out), [7, 5, 0, 0, -2, -3]);
      assertEqual('max nodes', (await argmax!.read()) as Uint32Array, [1, 0, 0xffffffff, 0xffffffff, 3, 3]);
      [x, argmax!].forEach((t) => t.dispose());
      dispose();
    },
  },
  {
    name: 'pooling: bad input throws an error that names the problem',
    async run(gpu) {
      const { seg, dispose } = segmentsOf(gpu, [2, 1]);
      const x = gpu.empty('f32', [3, 4]);
      assertThrows(
        'mode',
        () => globalPool(gpu, x, seg, 'sum' as PoolMode),
        /globalPool: mode must be 'add', 'mean' or 'max'/,
      );
      assertThrows(
        'rows',
        () => globalPool(gpu, gpu.empty('f32', [4, 4]), seg, 'add'),
        /globalPool: shape mismatch for x: expected \[3,\*\]/,
      );
      assertThrows('dtype', () => globalPool(gpu, gpu.empty('u32', [3, 4]), seg, 'add'), /globalPool: x must be f32/);
      assertThrows(
        'ptr',
        () => globalPool(gpu, x, { ...seg, numGraphs: 3 }, 'add'),
        /globalPool: shape mismatch for ptr/,
      );
      assertThrows(
        'argmax',
        () => globalPoolBackward(gpu, gpu.empty('f32', [2, 4]), seg, 'max'),
        /needs the forward's argmax/,
      );
      assertThrows(
        'gate width',
        () => weightedPool(gpu, x, gpu.empty('f32', [3, 2]), seg),
        /beta must have 1 or 4 columns/,
      );
      assertThrows(
        'alias',
        () => globalPool(gpu, x, seg, 'add', { out: x.view(0, [2, 4]) }),
        /must not share a GPU buffer/,
      );
      x.dispose();
      dispose();
    },
  },
];
