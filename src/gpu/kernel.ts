// A kernel is one WGSL entry point with a fixed binding layout. Sizes travel as uniforms, so one compiled
// pipeline serves every graph; variants (workgroup size, flags) are WGSL `override` constants.
import common from '../../shaders/common.wgsl';

/**
 * Binding kinds in binding-index order: read-only storage, read-write storage, the uniform block, or '-' for a
 * binding of the WGSL file that this entry point does not use.
 */
export type BindingKind = 'r' | 'w' | 'u' | '-';

export interface Kernel {
  /** Family and entry, e.g. 'spmm.forward'; the name shown by the profiler. */
  readonly name: string;
  readonly code: string;
  readonly entryPoint: string;
  readonly bindings: readonly BindingKind[];
  /** Threads per workgroup (the `WG` override). */
  readonly workgroupSize: number;
  readonly overrides: Readonly<Record<string, number>>;
}

export interface KernelSpec {
  name: string;
  /** The family's WGSL file; the shared prelude (shaders/common.wgsl) is prepended. */
  code: string;
  entryPoint: string;
  bindings: readonly BindingKind[];
  workgroupSize?: number;
  overrides?: Record<string, number | boolean>;
}

export function kernel(spec: KernelSpec): Kernel {
  const overrides: Record<string, number> = {};
  for (const [k, v] of Object.entries(spec.overrides ?? {})) overrides[k] = typeof v === 'boolean' ? Number(v) : v;
  const workgroupSize = spec.workgroupSize ?? 64;
  return {
    name: spec.name,
    code: common + '\n' + spec.code,
    entryPoint: spec.entryPoint,
    bindings: spec.bindings,
    workgroupSize,
    overrides: { WG: workgroupSize, ...overrides },
  };
}

/** Packs an f32 as the u32 word the uniform block holds (uniforms are passed as u32 words). */
export function f32(x: number): number {
  F32[0] = x;
  return U32[0];
}
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** Number of workgroups needed for `threads` threads. */
export function groups(threads: number, workgroupSize: number): number {
  return Math.ceil(threads / workgroupSize);
}
