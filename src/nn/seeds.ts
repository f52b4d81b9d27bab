// Host-side twin of the WGSL hash in shaders/common.wgsl, for deriving per-site dropout seeds.

/** lowbias32 (Wellons): a bijection on u32. */
export function hash32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}
