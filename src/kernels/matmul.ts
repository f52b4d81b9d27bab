// Dense matmul (shaders/matmul.wgsl): C = op(A) op(B) (+ C), op = identity or transpose: the forward of a linear
// layer (X W), its input gradient (dY W^T) and its weight gradient (X^T dY).
import code from '../../shaders/matmul.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { groups, kernel, type Kernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { activeDropout, dropoutUniforms, expectDropout, expectTensor } from './check.ts';
import type { DropoutArgs } from './elementwise.ts';
import { kernelCache } from './kernel-cache.ts';
import { flagOverrides, flagsKey, type MatmulFlags, matmulTiled } from './matmul-tiled.ts';

export interface MatmulOptions {
  /** A is stored [K, M] and used transposed. */
  transA?: boolean;
  /** B is stored [N, K] and used transposed. */
  transB?: boolean;
  /** C += op(A) op(B), C being `out` (then required). */
  accumulate?: boolean;
  /** f32 [N], added to every row of the product. */
  bias?: Tensor;
  /**
   * Dropout on A as it is read, with the mask `dropout()` (elementwise.ts) applies to A: the product of a dropped-out
   * input without storing it. The same args in the forward (x W) and the weight gradient (x^T dY) give the same mask.
   */
  dropoutA?: DropoutArgs;
  out?: Tensor;
}

/**
 * Threads per workgroup. A Cora-sized product has a few hundred blocks; 16 threads a workgroup spread them over the
 * CPU driver's cores more evenly than 64 (docs/kernels.md).
 */
const WG = 16;
/**
 * Split K when there are fewer threads than this (weight gradients: a tiny C, K = the number of nodes). With 16 x 16
 * blocks a 256 x 256 C has 256 threads, enough to keep the CPU driver busy (docs/kernels.md).
 */
const SPLIT_BELOW_THREADS = 256;
/** Split into up to this many threads in all... */
const SPLIT_TARGET_THREADS = 1024;
/** ... giving every split at least this much of K. */
const MIN_SPLIT_K = 128;

interface Variant extends MatmulFlags {
  /** Rows and columns of C per thread: 4, 8, 12 or 16 (matmulBlock). */
  blockM: number;
  blockN: number;
}

const cached = kernelCache();

function matmulKernel(v: Variant): Kernel {
  return cached(`matmul|${flagsKey(v)}|${v.blockM}x${v.blockN}`, () =>
    kernel({
      name: v.dropoutA ? 'matmul+dropout' : 'matmul',
      code,
      entryPoint: 'matmul',
      workgroupSize: WG,
      overrides: { ...flagOverrides(v), BLOCK_M: v.blockM, BLOCK_N: v.blockN },
    }),
  );
}

function reduceKernel(accumulate: boolean, bias: boolean): Kernel {
  return cached(`reduce|${+accumulate}${+bias}`, () =>
    kernel({
      name: 'matmul.reduce_splits',
      code,
      entryPoint: 'reduce_splits',
      workgroupSize: WG,
      overrides: { ACCUMULATE: accumulate, BIAS: bias },
    }),
  );
}

const BLOCKS = [16, 12, 8, 4];

/**
 * Rows and columns of C per thread (each 4, 8, 12 or 16): the pair that loads the fewest values per step of K in
 * all, ceil(M / BLOCK_M) ceil(N / BLOCK_N) (BLOCK_M + BLOCK_N) (a thread loads BLOCK_M values of op(A) and BLOCK_N
 * of op(B) per k), the larger blocks on ties. Loads dominate the cost on the CPU driver, so the bigger the block
 * the better, short of padding: 16 x 16 for large C, 16 x 12 for N = 23 (rather than 16 x 16, which pads to 32),
 * 4 x 4 for a 1 x 1 C.
 */
export function matmulBlock(m: number, n: number): [number, number] {
  let best: [number, number] = [16, 16],
    bestLoads = Infinity;
  for (const bm of BLOCKS) {
    for (const bn of BLOCKS) {
      const loads = Math.ceil(m / bm) * Math.ceil(n / bn) * (bm + bn);
      if (loads < bestLoads) [best, bestLoads] = [[bm, bn], loads];
    }
  }
  return best;
}

/** How many K splits, and the K range of each (a multiple of 4). */
function chooseSplits(threads: number, k: number): { splits: number; kChunk: number } {
  const want =
    threads >= SPLIT_BELOW_THREADS
      ? 1
      : Math.min(Math.floor(SPLIT_TARGET_THREADS / threads), Math.floor(k / MIN_SPLIT_K));
  if (want < 2) return { splits: 1, kChunk: Math.max(4, Math.ceil(k / 4) * 4) };
  const kChunk = Math.ceil(k / want / 4) * 4;
  return { splits: Math.ceil(k / kChunk), kChunk };
}

/**
 * C[M,N] = op(A) op(B) (+ bias) (+ C when accumulate). A is [M,K] ([K,M] when transA), B is [K,N] ([N,K] when
 * transB).
 */
export function matmul(gpu: Gpu, a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = !!opts.transA,
    transB = !!opts.transB,
    accumulate = !!opts.accumulate;
  expectTensor('matmul', 'A', a, 'f32', [-1, -1]);
  expectTensor('matmul', 'B', b, 'f32', [-1, -1]);
  const [m, k] = transA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const [kb, n] = transB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  if (kb !== k) {
    const opA = `op(A) = A${transA ? '^T' : ''} is [${m}, ${k}]`,
      opB = `op(B) = B${transB ? '^T' : ''} is [${kb}, ${n}]`;
    throw new Error(`matmul: shape mismatch: ${opA} but ${opB}; the inner dimensions differ`);
  }
  if (accumulate && !opts.out) throw new Error('matmul: accumulate needs the tensor to add to, as `out`');
  const out = opts.out ?? gpu.empty('f32', [m, n]);
  expectTensor('matmul', 'out', out, 'f32', [m, n]);
  if (out.buffer === a.buffer || out.buffer === b.buffer)
    throw new Error('matmul: out must not share a buffer with A or B');
  const bias = opts.bias;
  if (bias) {
    expectTensor('matmul', 'bias', bias, 'f32', [-1]);
    if (bias.size !== n)
      throw new Error(`matmul: shape mismatch: bias has ${bias.size} values, the product has ${n} columns`);
    if (out.buffer === bias.buffer) throw new Error('matmul: out must not share a buffer with bias');
  }
  const drop = activeDropout(opts.dropoutA);
  expectDropout('matmul', opts.dropoutA, 'dropoutA.step');
  if (m === 0 || n === 0) return out;
  if (gpu.kernelShape === 'gpu') return matmulTiled(gpu, a, b, out, { m, n, k }, opts);

  const [blockM, blockN] = matmulBlock(m, n);
  const v: Variant = { transA, transB, accumulate, bias: !!bias, dropoutA: !!drop, blockM, blockN };
  const blocksN = Math.ceil(n / v.blockN);
  const blocks = Math.ceil(m / v.blockM) * blocksN;
  const { splits, kChunk } = chooseSplits(blocks, k);
  const uniforms = {
    m,
    n,
    k,
    blocks_n: blocksN,
    blocks,
    k_chunk: kChunk,
    splits,
    ...dropoutUniforms(drop),
  };
  // The bias and the step are declared for every variant; without BIAS or A_DROPOUT they are not read.
  const extra = { bias: bias ?? gpu.unread('f32'), step: drop?.step ?? gpu.unread('u32') };
  const cost = { bytes: 4 * (m * k + k * n + m * n * (accumulate ? 2 : 1)), flops: 2 * m * n * k };
  if (splits === 1) {
    gpu.dispatch(matmulKernel(v), {
      bindings: { a_in: a, b_in: b, c: out, ...extra },
      uniforms,
      workgroups: groups(blocks, WG),
      cost,
    });
    return out;
  }
  const partials = gpu.empty('f32', [splits, m, n]);
  const splitCost = { bytes: 4 * (m * k + k * n + m * n * splits), flops: 2 * m * n * k };
  gpu.dispatch(matmulKernel(v), {
    bindings: { a_in: a, b_in: b, c: partials, ...extra },
    uniforms,
    workgroups: groups(blocks * splits, WG),
    cost: splitCost,
  });
  gpu.dispatch(reduceKernel(accumulate, !!bias), {
    bindings: { a_in: partials, c: out, bias: extra.bias },
    uniforms,
    workgroups: groups(m * n, WG),
    cost: { bytes: 4 * m * n * (splits + (accumulate ? 2 : 1)), flops: m * n * splits },
  });
  partials.dispose(); // back to the pool: a later dispatch that reuses it runs after these two
  return out;
}
