// Named scratch tensors that a layer keeps from step to step: the same buffers every step, so the dispatcher's
// bind groups are reused and a training loop allocates nothing after its first step.
import type { Gpu } from '../gpu/gpu.ts';
import type { DType, Tensor } from '../gpu/tensor.ts';

export class Workspace {
  private tensors = new Map<string, Tensor>();

  constructor(private readonly gpu: Gpu) {}

  /** The tensor called `name`, (re)allocated when its shape or type changes. Contents are undefined. */
  get(name: string, shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const t = this.tensors.get(name);
    if (t && t.dtype === dtype && t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i])) return t;
    t?.dispose();
    const fresh = this.gpu.empty(dtype, shape);
    this.tensors.set(name, fresh);
    return fresh;
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}
