// Float64 CPU replicas of the helpers in shaders/common.wgsl.

/** lowbias32, as in common.wgsl (u32 arithmetic through Math.imul and >>> 0). */
export function hash32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

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
