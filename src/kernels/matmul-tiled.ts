// The GPU shape of matmul (shaders/matmul-tiled.wgsl): 64 x 64 tiles of C per workgroup of 256 threads, staged
// through workgroup memory 16 values of K at a time, 4 x 4 elements a thread; split-K for a small C with a long K.
// matmul() checks its arguments and routes here when gpu.kernelShape is 'gpu'.
import code from '../../shaders/matmul-tiled.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { groups, kernel, type Kernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { activeDropout, dropoutUniforms } from './check.ts';
import { kernelCache } from './kernel-cache.ts';
import type { MatmulOptions } from './matmul.ts';

const WG = 256;
export const TILE = 64;
const DEPTH = 16;
/** Split K when a product has fewer tiles than this (a GPU holds a few hundred workgroups at once)... */
const SPLIT_BELOW_TILES = 128;
/** ... into about this many workgroups in all, ... */
const SPLIT_TARGET_GROUPS = 256;
/** ... each split getting at least this much of K. */
const MIN_SPLIT_K = 128;

const cached = kernelCache();

/** What both matmul shapes compile in (matmul.wgsl and matmul-tiled.wgsl name the overrides alike). */
export interface MatmulFlags {
  transA: boolean;
  transB: boolean;
  accumulate: boolean;
  bias: boolean;
  dropoutA: boolean;
}

/** The flags as a cache key, 0s and 1s. */
export const flagsKey = (f: MatmulFlags) => `${+f.transA}${+f.transB}${+f.accumulate}${+f.bias}${+f.dropoutA}`;

/** The flags as WGSL overrides. */
export function flagOverrides(f: MatmulFlags): Record<string, boolean> {
  return { TRANS_A: f.transA, TRANS_B: f.transB, ACCUMULATE: f.accumulate, BIAS: f.bias, A_DROPOUT: f.dropoutA };
}

function tiledKernel(f: MatmulFlags): Kernel {
  return cached(`tiled|${flagsKey(f)}`, () =>
    kernel({
      name: f.dropoutA ? 'matmul.tiled+dropout' : 'matmul.tiled',
      code,
      entryPoint: 'matmul_tiled',
      workgroupSize: WG,
      overrides: flagOverrides(f),
    }),
  );
}

function reduceKernel(accumulate: boolean, bias: boolean): Kernel {
  return cached(`reduce|${+accumulate}${+bias}`, () =>
    kernel({
      name: 'matmul.tiled_reduce_splits',
      code,
      entryPoint: 'tiled_reduce_splits',
      workgroupSize: WG,
      overrides: { ACCUMULATE: accumulate, BIAS: bias },
    }),
  );
}

/** A one-word u32 tensor per device, bound in place of the step counter when there is no dropout. */
const unusedStep = new WeakMap<Gpu, Tensor>();
function stepStandIn(gpu: Gpu): Tensor {
  let t = unusedStep.get(gpu);
  if (!t) unusedStep.set(gpu, (t = gpu.tensor('u32', [1], [0])));
  return t;
}

/** How many K splits, and the K range of each (a multiple of the stage depth). */
export function tiledSplits(tiles: number, k: number): { splits: number; kChunk: number } {
  const want =
    tiles >= SPLIT_BELOW_TILES ? 1 : Math.min(Math.floor(SPLIT_TARGET_GROUPS / tiles), Math.floor(k / MIN_SPLIT_K));
  if (want < 2) return { splits: 1, kChunk: Math.max(DEPTH, Math.ceil(k / DEPTH) * DEPTH) };
  const kChunk = Math.ceil(k / want / DEPTH) * DEPTH;
  return { splits: Math.ceil(k / kChunk), kChunk };
}

/** C[M, N] = op(A) op(B) (+ bias) (+ C), arguments already checked by matmul(); M and N are not 0. */
export function matmulTiled(
  gpu: Gpu,
  a: Tensor,
  b: Tensor,
  out: Tensor,
  dims: { m: number; n: number; k: number },
  opts: MatmulOptions,
): Tensor {
  const { m, n, k } = dims;
  const drop = activeDropout(opts.dropoutA);
  const f: MatmulFlags = {
    transA: !!opts.transA,
    transB: !!opts.transB,
    accumulate: !!opts.accumulate,
    bias: !!opts.bias,
    dropoutA: !!drop,
  };
  const tilesN = Math.ceil(n / TILE);
  const tiles = Math.ceil(m / TILE) * tilesN;
  const { splits, kChunk } = tiledSplits(tiles, k);
  const uniforms = {
    m,
    n,
    k,
    tiles_n: tilesN,
    tiles,
    k_chunk: kChunk,
    splits,
    ...dropoutUniforms(drop),
  };
  // Stand-ins for unread bindings: B for the bias, a one-word u32 tensor for the step.
  const extra = { bias: opts.bias ?? b, step: drop?.step ?? stepStandIn(gpu) };
  const flops = 2 * m * n * k;
  if (splits === 1) {
    gpu.dispatch(tiledKernel(f), {
      bindings: { a_in: a, b_in: b, c: out, ...extra },
      uniforms,
      workgroups: tiles,
      cost: { bytes: 4 * (m * k + k * n + m * n * (f.accumulate ? 2 : 1)), flops },
    });
    return out;
  }
  const partials = gpu.empty('f32', [splits, m, n]);
  gpu.dispatch(tiledKernel(f), {
    bindings: { a_in: a, b_in: b, c: partials, ...extra },
    uniforms,
    workgroups: tiles * splits,
    cost: { bytes: 4 * (m * k + k * n + m * n * splits), flops },
  });
  gpu.dispatch(reduceKernel(f.accumulate, f.bias), {
    bindings: { a_in: partials, c: out, bias: opts.bias ?? partials },
    uniforms,
    workgroups: groups(m * n, WG),
    cost: { bytes: 4 * m * n * (splits + (f.accumulate ? 2 : 1)), flops: m * n * splits },
  });
  partials.dispose(); // back to the pool: a later dispatch that reuses it runs after these two
  return out;
}
