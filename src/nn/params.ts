// All of a model's parameters live in one flat GPU buffer (and their gradients in a second of the same layout),
// so the optimizer updates everything in one dispatch. Each parameter starts on a 256-byte boundary so that
// it can be bound on its own as a view.
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { numel } from '../gpu/tensor.ts';

export interface ParamSpec {
  name: string;
  /** Internal layout (weights are stored [in, out], the transpose of PyTorch's [out, in]). */
  shape: number[];
  init: (rand: () => number) => Float32Array;
}

export interface ParamSlot {
  name: string;
  shape: number[];
  /** Element offset in the flat buffer. */
  offset: number;
  size: number;
}

const ALIGN = 64; // floats: 256 bytes, the usual minStorageBufferOffsetAlignment

export class ParameterStore {
  readonly slots: ParamSlot[] = [];
  readonly total: number;
  readonly values: Tensor;
  readonly grads: Tensor;
  private byName = new Map<string, ParamSlot>();

  constructor(
    readonly gpu: Gpu,
    specs: ParamSpec[],
    rand: () => number,
  ) {
    let offset = 0;
    for (const s of specs) {
      if (this.byName.has(s.name)) throw new Error(`Duplicate parameter name ${s.name}`);
      const slot = { name: s.name, shape: s.shape, offset, size: numel(s.shape) };
      this.slots.push(slot);
      this.byName.set(s.name, slot);
      offset += Math.ceil(slot.size / ALIGN) * ALIGN;
    }
    this.total = Math.max(offset, ALIGN);
    const host = new Float32Array(this.total);
    for (const [i, s] of specs.entries()) host.set(s.init(rand), this.slots[i].offset);
    this.values = gpu.tensor('f32', [this.total], host);
    // Padding between parameters is never written: zero it so that the optimizer leaves it at zero.
    this.grads = gpu.full('f32', [this.total], 0);
  }

  slot(name: string): ParamSlot {
    const s = this.byName.get(name);
    if (!s) throw new Error(`No parameter named ${name}`);
    return s;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  value(name: string): Tensor {
    const s = this.slot(name);
    return this.values.view(s.offset, s.shape);
  }

  grad(name: string): Tensor {
    const s = this.slot(name);
    return this.grads.view(s.offset, s.shape);
  }

  /** Reads every parameter (or gradient) back as name -> Float32Array in the internal layout. */
  async readAll(which: 'values' | 'grads' = 'values'): Promise<Map<string, Float32Array>> {
    const flat = (await (which === 'values' ? this.values : this.grads).read()) as Float32Array;
    return new Map(this.slots.map((s) => [s.name, flat.slice(s.offset, s.offset + s.size)]));
  }

  write(name: string, data: Float32Array): void {
    const s = this.slot(name);
    if (data.length !== s.size)
      throw new Error(`Parameter ${name}: expected ${s.size} values [${s.shape}], got ${data.length}`);
    this.value(name).write(data);
  }

  dispose(): void {
    this.values.dispose();
    this.grads.dispose();
  }
}
