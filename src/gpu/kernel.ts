// A kernel is one WGSL entry point. Its interface (which buffers it binds, read-only or read-write, their element
// types, and the fields of its uniform block) is read from the WGSL itself, so TypeScript fills bindings and
// uniforms by name and a name or type that does not match the shader is an error naming both. Sizes travel as
// uniforms, so one compiled pipeline serves every graph; variants (workgroup size, flags) are WGSL `override`
// constants.
//
// The WGSL is parsed with wgsl_reflect (a maintained WGSL parser and reflection library); what this file adds is
// the mapping to this library's tensors: element types to dtypes, one name per binding index, and the checks.
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import common from '../../shaders/common.wgsl';
import type { DType } from './tensor.ts';

/** A storage buffer an entry point uses, as the WGSL declares it. */
export interface StorageBinding {
  binding: number;
  /** The name of the first declaration at this binding index (later ones are typed views of the same buffer). */
  name: string;
  access: 'read' | 'read_write';
  /** The tensor dtype its element type holds (f32 for f32, vec2f, vec4f; u32 for u32, vec*u; i32 for i32, vec*i). */
  dtype: DType;
}

export interface UniformField {
  name: string;
  /** Byte offset in the block. */
  offset: number;
  type: 'u32' | 'i32' | 'f32';
}

/** What an entry point binds, read from its WGSL. */
export interface KernelInterface {
  storage: readonly StorageBinding[];
  uniform: { binding: number; name: string; bytes: number; fields: readonly UniformField[] } | null;
}

export interface Kernel {
  /** Family and entry, e.g. 'spmm.forward'; the name shown by the profiler. */
  readonly name: string;
  readonly code: string;
  readonly entryPoint: string;
  /** Threads per workgroup (the `WG` override). */
  readonly workgroupSize: number;
  readonly overrides: Readonly<Record<string, number>>;
  /** Bindings and uniform fields, reflected from the WGSL on first use. */
  readonly iface: KernelInterface;
  /**
   * Names the compiled pipeline: entry point, WGSL module and overrides (kernels of one name and entry point may
   * differ in their preludes, e.g. the element type).
   */
  readonly pipelineKey: string;
}

export interface KernelSpec {
  name: string;
  /** The family's WGSL file; shaders/common.wgsl, then the `preludes`, are prepended to it. */
  code: string;
  /** WGSL helper files the kernel's code uses (e.g. shaders/chunk-io.wgsl), prepended in order. */
  preludes?: readonly string[];
  entryPoint: string;
  workgroupSize?: number;
  overrides?: Record<string, number | boolean>;
}

// A number per distinct WGSL module (the code with its preludes).
const moduleIds = new Map<string, number>();

export function kernel(spec: KernelSpec): Kernel {
  const overrides: Record<string, number> = {};
  for (const [k, v] of Object.entries(spec.overrides ?? {})) overrides[k] = typeof v === 'boolean' ? Number(v) : v;
  const workgroupSize = spec.workgroupSize ?? 64;
  // `enable` directives must open the module: they go before the preludes.
  const enables = spec.code.match(/^enable [\w, ]+;/gm) ?? [];
  const body = spec.code.replace(/^enable [\w, ]+;/gm, '');
  const code = [...enables, common, ...(spec.preludes ?? []), body].join('\n');
  let iface: KernelInterface | null = null;
  let moduleId = moduleIds.get(code);
  if (moduleId === undefined) moduleIds.set(code, (moduleId = moduleIds.size));
  const allOverrides = { WG: workgroupSize, ...overrides };
  return {
    name: spec.name,
    code,
    entryPoint: spec.entryPoint,
    workgroupSize,
    overrides: allOverrides,
    pipelineKey: `${spec.name}|${spec.entryPoint}|${moduleId}|${JSON.stringify(allOverrides)}`,
    get iface() {
      iface ??= reflectEntry(spec.name, code, spec.entryPoint);
      return iface;
    },
  };
}

// One parse per WGSL source: a family's entry points share it.
const parsed = new Map<string, WgslReflect>();

function reflectEntry(name: string, code: string, entryPoint: string): KernelInterface {
  let r = parsed.get(code);
  if (!r) parsed.set(code, (r = new WgslReflect(code)));
  const entry = r.entry.compute.find((e) => e.name === entryPoint);
  if (!entry) throw new Error(`${name}: the WGSL has no compute entry point '${entryPoint}'`);
  // Several declarations may share a binding index (f32 and vec4f views of one buffer): the first names it.
  const firstName = new Map<number, string>();
  for (const v of [...r.storage, ...r.uniforms]) if (!firstName.has(v.binding)) firstName.set(v.binding, v.name);
  for (const v of [...r.storage, ...r.uniforms]) {
    // wgsl_reflect counts a swizzle such as `v.x` as a use of a module variable named `x`.
    if (/^([xyzw]{1,4}|[rgba]{1,4})$/.test(v.name)) {
      throw new Error(`${name}: binding '${v.name}' is named like a vector swizzle; give it a longer name`);
    }
  }
  const used = new Set(entry.resources.map((v) => v.name));
  const storage: StorageBinding[] = [];
  let uniform: KernelInterface['uniform'] = null;
  for (const v of r.storage) {
    if (!used.has(v.name)) continue;
    if (v.group !== 0) throw new Error(`${name}: binding ${v.name} is in group ${v.group}; kernels use group 0 only`);
    const access = v.access === 'read_write' ? 'read_write' : 'read';
    const dtype = elementDtype(name, v.name, v.type.getTypeName());
    const canonical = firstName.get(v.binding)!;
    const same = storage.find((s) => s.binding === v.binding);
    if (same) {
      if (same.access !== access || same.dtype !== dtype) {
        throw new Error(`${name}: ${v.name} and ${same.name} share binding ${v.binding} with different access or type`);
      }
      continue;
    }
    storage.push({ binding: v.binding, name: canonical, access, dtype });
  }
  for (const v of r.uniforms) {
    if (!used.has(v.name)) continue;
    if (uniform) throw new Error(`${name}: more than one uniform block (${uniform.name}, ${v.name})`);
    const members = v.members;
    if (!members) throw new Error(`${name}: uniform ${v.name} must be a struct of u32, i32 and f32 fields`);
    const fields = members.map((m) => {
      const type = m.type.getTypeName();
      if (type !== 'u32' && type !== 'i32' && type !== 'f32') {
        throw new Error(`${name}: uniform field ${v.name}.${m.name} is ${type}; only u32, i32 and f32 are supported`);
      }
      return { name: m.name, offset: m.offset, type: type as UniformField['type'] };
    });
    uniform = { binding: v.binding, name: v.name, bytes: v.size, fields };
  }
  storage.sort((a, b) => a.binding - b.binding);
  return { storage, uniform };
}

function elementDtype(kernelName: string, varName: string, type: string): DType {
  const m = /^array<(\w+)/.exec(type);
  const element = m?.[1] ?? '';
  if (element === 'f32' || /^vec[234]f$/.test(element)) return 'f32';
  if (element === 'u32' || /^vec[234]u$/.test(element)) return 'u32';
  if (element === 'i32' || /^vec[234]i$/.test(element)) return 'i32';
  throw new Error(
    `${kernelName}: storage binding ${varName} has type ${type}; kernels bind arrays of f32, u32, i32 or their vectors`,
  );
}

/** Uniform values by field name: numbers for u32, i32 and f32 fields, booleans for 0/1 flags held in u32. */
export type UniformValues = Readonly<Record<string, number | boolean>>;

/**
 * The uniform block as u32 words, every field of the WGSL struct filled from `values` by name. A missing field,
 * an unknown name, or a value that the field's type cannot hold is an error naming the kernel and the field.
 */
export function packUniforms(k: Kernel, values: UniformValues): Uint32Array {
  const u = k.iface.uniform;
  if (!u) throw new Error(`${k.name}: the kernel has no uniform block, but uniforms were given`);
  const words = new Uint32Array(Math.ceil(u.bytes / 4));
  const f32 = new Float32Array(words.buffer);
  const i32 = new Int32Array(words.buffer);
  for (const key of Object.keys(values)) {
    if (!u.fields.some((f) => f.name === key)) {
      throw new Error(
        `${k.name}: uniform ${u.name} has no field '${key}' (fields: ${u.fields.map((f) => f.name).join(', ')})`,
      );
    }
  }
  for (const f of u.fields) {
    const raw = values[f.name];
    if (raw === undefined) throw new Error(`${k.name}: uniform field ${u.name}.${f.name} (${f.type}) is not given`);
    const v = typeof raw === 'boolean' ? Number(raw) : raw;
    const at = f.offset / 4;
    if (f.type === 'f32') {
      // Any number, NaN and infinities included (a fill with NaN poisons outputs in the tests).
      if (typeof v !== 'number') throw new Error(`${k.name}: uniform field ${u.name}.${f.name} (f32) got ${raw}`);
      f32[at] = v;
    } else if (f.type === 'u32') {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw new Error(
          `${k.name}: uniform field ${u.name}.${f.name} (u32) must be an integer in [0, 2^32), got ${raw}`,
        );
      }
      words[at] = v;
    } else {
      if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
        throw new Error(
          `${k.name}: uniform field ${u.name}.${f.name} (i32) must be an integer in [-2^31, 2^31), got ${raw}`,
        );
      }
      i32[at] = v;
    }
  }
  return words;
}

/**
 * Preludes for WGSL written once over an element type `Elem`: 1 declares f32 elements, 4 vec4f groups of four
 * consecutive f32 (the same code compiled for each, e.g. shaders/reduce.wgsl).
 */
export const ELEMENT_TYPE = { 1: 'alias Elem = f32;', 4: 'alias Elem = vec4f;' } as const;

/** Number of workgroups needed for `threads` threads. */
export function groups(threads: number, workgroupSize: number): number {
  return Math.ceil(threads / workgroupSize);
}
