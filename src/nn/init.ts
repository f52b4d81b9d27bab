// Parameter initialisation as PyTorch Geometric does it, from a seeded generator.

/** Seeded uniform generator in [0, 1) (SplitMix32-style; quality is ample for initialisation). */
export function seededRandom(seed: number): () => number {
  let s = (seed >>> 0) ^ 0x9e3779b9;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  };
}

export function uniform(rand: () => number, n: number, bound: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * rand() - 1) * bound;
  return a;
}

/** PyG's glorot: U(-a, a), a = sqrt(6 / (size(-2) + size(-1))) of the PyTorch-shaped tensor. */
export function glorot(rand: () => number, n: number, fanA: number, fanB: number): Float32Array {
  return uniform(rand, n, Math.sqrt(6 / (fanA + fanB)));
}

/** PyG Linear's default bias: U(-1/sqrt(in), 1/sqrt(in)). */
export function linearBias(rand: () => number, n: number, inChannels: number): Float32Array {
  return uniform(rand, n, 1 / Math.sqrt(inChannels));
}

export const zeros = (n: number) => new Float32Array(n);
