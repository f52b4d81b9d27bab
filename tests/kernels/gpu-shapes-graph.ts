// A random graph (duplicates and self loops allowed) on the host and on the GPU, for the GPU-shape cases.
import type { Gpu } from '../../src/gpu/gpu.ts';
import { buildGraph, uploadGraph, type Graph, type GraphTensors } from '../../src/graph.ts';
import { randomEdges } from './harness.ts';

export function graphFromEdges(gpu: Gpu, rand: () => number, n: number, e: number): { g: Graph; gt: GraphTensors } {
  const g = buildGraph(randomEdges(rand, n, e), n);
  return { g, gt: uploadGraph(gpu, g) };
}
