// What the optimizer steps (adam.ts, sgd.ts) share: each runs over one flat buffer of every parameter of a model, in
// two entry points, one of four elements per thread and one for the last n % 4 elements.
import type { DispatchCall, Gpu } from '../gpu/gpu.ts';
import { groups, type Kernel, kernel, type UniformValues } from '../gpu/kernel.ts';

export interface FlatStepKernels {
  /** Four elements per thread, 128 threads per workgroup. */
  step4: Kernel;
  /** The last n % 4 elements: one workgroup of 4 threads. */
  tail: Kernel;
}

/** The two pipelines of an optimizer step, named `name`, from the entry points `step4` and `tail` of `code`. */
export function flatStepKernels(
  name: string,
  code: string,
  entryPoints: { step4: string; tail: string },
  overrides?: Record<string, boolean>,
): FlatStepKernels {
  return {
    step4: kernel({ name, code, entryPoint: entryPoints.step4, workgroupSize: 128, overrides }),
    tail: kernel({ name, code, entryPoint: entryPoints.tail, workgroupSize: 4, overrides }),
  };
}

/**
 * One step over n elements: the four-per-thread dispatch, then the one for the last n % 4 elements (no workgroups
 * when the caller pads its flat buffers to a multiple of 4). `perVec4`: the cost of four elements.
 */
export function dispatchFlatStep(
  gpu: Gpu,
  k: FlatStepKernels,
  n: number,
  bindings: DispatchCall['bindings'],
  uniforms: UniformValues,
  perVec4: { bytes: number; flops: number },
): void {
  const vec4s = Math.floor(n / 4);
  gpu.dispatch(k.step4, {
    bindings,
    uniforms,
    workgroups: groups(vec4s, k.step4.workgroupSize),
    cost: { bytes: vec4s * perVec4.bytes, flops: vec4s * perVec4.flops },
  });
  gpu.dispatch(k.tail, {
    bindings,
    uniforms,
    workgroups: n % 4 === 0 ? 0 : 1,
    cost: { bytes: ((n % 4) * perVec4.bytes) / 4, flops: ((n % 4) * perVec4.flops) / 4 },
  });
}
