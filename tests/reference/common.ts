// Float64 CPU replicas of the helpers in shaders/common.wgsl.
import { hash32 } from '../../src/nn/seeds.ts';

export { hash32 };

export function uniform01(seed: number, step: number, i: number): number {
  const h = hash32((i ^ hash32((seed ^ hash32(step)) >>> 0)) >>> 0);
  return (h >>> 8) / 16777216;
}

/** 0 with probability p, else 1 / (1 - p). */
export function dropoutScale(seed: number, step: number, i: number, p: number): number {
  if (p <= 0) return 1;
  return uniform01(seed, step, i) >= p ? 1 / (1 - p) : 0;
}

export const leakyRelu = (x: number, slope: number) => (x > 0 ? x : x * slope);
export const leakyReluGrad = (x: number, slope: number) => (x > 0 ? 1 : slope);
