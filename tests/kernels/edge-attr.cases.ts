import type { Gpu } from '../../src/gpu/gpu.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
import { buildGraph, uploadGraph } from '../../src/graph.ts';
import { csrEdgeAttr, csrEdgeAttrBackward, type FillValue } from '../../src/kernels/edge-attr.ts';
import * as ref from '../reference/edge-attr.ts';
import { checkVjp } from '../reference/fd.ts';
import {
  assertClose,
  assertThrows,
  poisoned,
  randInt,
  randomArray,
  randomEdges,
  repeat,
  type KernelCase,
} from './harness.ts';

const FILLS: FillValue[] = ['mean', 'add', 'max', 'min', 0.75];

async function read(t: Tensor): Promise<Float32Array> {
  const a = (await t.read()) as Float32Array;
  t.dispose();
  return a;
}

/**
 * Forward and backward of every fill on one edge list, with and without added self loops, against the float64
 * reference; outputs poisoned first, every element checked.
 */
async function checkGraph(
  gpu: Gpu,
  src: number[],
  dst: number[],
  n: number,
  D: number,
  attr: Float32Array,
  dout?: Float32Array,
) {
  const edges = { src, dst, numNodes: n };
  for (const addSelfLoops of [true, false]) {
    const host = buildGraph([src, dst], n, { addSelfLoops });
    const g = uploadGraph(gpu, host);
    const a = gpu.tensor('f32', [src.length, D], attr);
    const grad = dout ?? randomArray(Math.random, host.numEdges * D);
    const dt = gpu.tensor('f32', [host.numEdges, D], grad.subarray(0, host.numEdges * D));
    try {
      for (const fill of FILLS) {
        const label = `fill ${fill}, self loops ${addSelfLoops}, D ${D}`;
        const out = csrEdgeAttr(gpu, g, a, fill, poisoned(gpu, 'f32', [host.numEdges, D]));
        assertClose(`${label}: forward`, await read(out), ref.csrEdgeAttr(edges, host, attr, D, fill));
        const dEdgeAttr = poisoned(gpu, 'f32', [src.length, D]);
        csrEdgeAttrBackward(gpu, g, dt, fill, { edgeAttr: a, dEdgeAttr });
        const want = ref.csrEdgeAttrBackward(edges, host, attr, grad.subarray(0, host.numEdges * D), D, fill);
        assertClose(`${label}: backward`, await read(dEdgeAttr), want);
      }
    } finally {
      a.dispose();
      dt.dispose();
      g.dispose();
    }
  }
}

export const cases: KernelCase[] = [
  {
    name:
      'csrEdgeAttr and its backward match float64 for every fill (self loops removed and added, isolated nodes, ' +
      'duplicates, any width)',
    async run(gpu) {
      await repeat(10, 71, async (rand) => {
        const n = randInt(rand, 1, 40);
        const [src, dst] = randomEdges(rand, n, randInt(rand, 0, 4 * n));
        const D = [1, 3, 4, 7, 65][randInt(rand, 0, 5)]!;
        await checkGraph(gpu, src, dst, n, D, randomArray(rand, src.length * D));
      });
    },
  },
  {
    name: 'csrEdgeAttr max / min with ties (one-hot attributes): the first extreme in edge order takes the gradient',
    async run(gpu) {
      await repeat(4, 72, async (rand) => {
        const n = randInt(rand, 2, 12);
        const [src, dst] = randomEdges(rand, n, 6 * n);
        const D = 4;
        const attr = new Float32Array(src.length * D);
        for (let k = 0; k < src.length; k++) attr[k * D + randInt(rand, 0, D)] = 1;
        await checkGraph(gpu, src, dst, n, D, attr);
      });
    },
  },
  {
    name: 'csrEdgeAttr: a node with 10,000 incoming edges beside nodes without any',
    async run(gpu) {
      const rand = Math.random;
      const n = 50,
        hub = 7,
        D = 3;
      const src: number[] = [],
        dst: number[] = [];
      for (let k = 0; k < 10000; k++) src.push((k * 13) % n), dst.push(hub);
      for (let k = 0; k < 20; k++) src.push(hub), dst.push(k % 10);
      await checkGraph(gpu, src, dst, n, D, randomArray(rand, src.length * D));
    },
  },
  {
    name: 'csrEdgeAttr over more than 65,535 workgroups',
    async run(gpu) {
      const n = 70000,
        D = 64; // n * D threads: 70,000 workgroups of 64
      const src = [1, 2, 3, 3],
        dst = [0, 0, 69999, 3];
      const host = buildGraph([src, dst], n, { addSelfLoops: true });
      const g = uploadGraph(gpu, host);
      const attr = randomArray(Math.random, src.length * D);
      const a = gpu.tensor('f32', [src.length, D], attr);
      const out = csrEdgeAttr(gpu, g, a, 'mean', poisoned(gpu, 'f32', [host.numEdges, D]));
      assertClose('forward', await read(out), ref.csrEdgeAttr({ src, dst, numNodes: n }, host, attr, D, 'mean'));
      a.dispose();
      g.dispose();
    },
  },
  {
    name: 'reference csrEdgeAttr backward matches finite differences for every fill',
    async run() {
      const rand = Math.random;
      const src = [0, 1, 2, 2, 3, 1, 0],
        dst = [1, 1, 1, 0, 0, 3, 0];
      const n = 5,
        D = 3;
      const edges = { src, dst, numNodes: n };
      const host = buildGraph([src, dst], n, { addSelfLoops: true });
      const attr = randomArray(rand, src.length * D);
      const dout = randomArray(rand, host.numEdges * D);
      for (const fill of FILLS) {
        checkVjp(
          `fill ${fill}`,
          (v) => ref.csrEdgeAttr(edges, host, v, D, fill),
          attr,
          dout,
          ref.csrEdgeAttrBackward(edges, host, attr, dout, D, fill),
        );
      }
    },
  },
  {
    name: 'csrEdgeAttr refuses edge attributes of the wrong shape and unknown fills, naming them',
    async run(gpu) {
      const g = uploadGraph(
        gpu,
        buildGraph(
          [
            [0, 1],
            [1, 0],
          ],
          2,
          { addSelfLoops: true },
        ),
      );
      const a = gpu.tensor('f32', [3, 2], new Float32Array(6));
      const ok = gpu.tensor('f32', [2, 2], new Float32Array(4));
      try {
        assertThrows(
          'rows',
          () => csrEdgeAttr(gpu, g, a, 'mean'),
          /csrEdgeAttr: shape mismatch for edgeAttr: expected \[2,\*\], got \[3,2\]/,
        );
        for (const bad of ['sum', 'mul', NaN, Infinity, null]) {
          assertThrows(
            `fill ${String(bad)}`,
            () => csrEdgeAttr(gpu, g, ok, bad as FillValue),
            /csrEdgeAttr: fill must be 'mean', 'add', 'max', 'min' or a finite number/,
          );
        }
        const dout = gpu.tensor('f32', [4, 2], new Float32Array(8));
        assertThrows(
          'max without edgeAttr',
          () => csrEdgeAttrBackward(gpu, g, dout, 'max'),
          /needs the forward's edgeAttr/,
        );
        dout.dispose();
      } finally {
        a.dispose();
        ok.dispose();
        g.dispose();
      }
    },
  },
];
