// The dispatcher: owns the device, compiles each kernel once, caches bind groups and uniform buffers, records
// dispatches into one command encoder until `flush()`, and (when profiling) times each dispatch.
import {
  acquireDevice,
  gpuWait,
  kernelShapeFor,
  type AdapterSummary,
  type DeviceOptions,
  type KernelShape,
} from './device.ts';
import { packUniforms, type Kernel, type UniformValues } from './kernel.ts';
import { Profiler, type KernelCost } from './profiler.ts';
import { arrayFor, BufferPool, numel, Tensor, type DType, type TypedArray } from './tensor.ts';

export interface DispatchCall {
  /**
   * A tensor for every storage buffer the entry point uses, by its WGSL name (the first declaration at its binding
   * index). A missing or unknown name, or a tensor whose dtype is not the binding's element type, is an error; an
   * entry whose value is undefined counts as not given.
   */
  bindings?: Readonly<Record<string, Tensor | undefined>>;
  /** The uniform block's fields by name; required when the kernel has a uniform block. */
  uniforms?: UniformValues;
  /** Workgroups to launch; folded into a 2-D grid above the per-dimension limit. */
  workgroups: number;
  /** Bytes moved and floating-point operations, for the profiler's GB/s and GFLOP/s. */
  cost?: KernelCost;
}

export class Gpu {
  readonly pool: BufferPool;
  readonly profiler: Profiler;
  readonly offsetAlignment: number;
  readonly maxBindingSize: number;
  readonly maxGroupsPerDim: number;
  /**
   * The shape of the heavy kernels this Gpu runs ('cpu': made for CPU drivers, 'gpu': cooperative workgroup
   * shapes), chosen once from the adapter or forced by `Gpu.create({ kernels })`. Kernel functions route on it.
   */
  readonly kernelShape: KernelShape;
  /** Dispatches recorded since the Gpu was made (for tests and the profiler). */
  dispatchCount = 0;
  submitCount = 0;

  private pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>();
  private bindGroups = new Map<string, GPUBindGroup>();
  private uniformBuffers = new Map<string, GPUBuffer>();
  private bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  private unreadTensors = new Map<DType, Tensor>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private failure: string | null = null;

  private constructor(
    readonly device: GPUDevice,
    readonly adapterInfo: AdapterSummary,
    readonly features: ReadonlySet<string>,
    private readonly keepAlive: unknown,
    kernelShape: KernelShape,
  ) {
    this.kernelShape = kernelShape;
    const lim = device.limits;
    this.offsetAlignment = lim.minStorageBufferOffsetAlignment;
    this.maxBindingSize = lim.maxStorageBufferBindingSize;
    this.maxGroupsPerDim = lim.maxComputeWorkgroupsPerDimension;
    this.pool = new BufferPool(device, lim.maxBufferSize);
    this.profiler = new Profiler(device, features.has('timestamp-query'));
    // A lost device (a driver reset, the browser reclaiming it, device.destroy()) fails every later call with the
    // reason it gave; nothing more is queued on it.
    device.lost.then((info) => {
      this.failure ??=
        `The GPU device was lost (reason: ${info.reason}): ${info.message || 'no message given'}. ` +
        'Its buffers and any unfinished work are gone; create a new Gpu to continue.';
    });
    device.addEventListener('uncapturederror', (ev) => {
      this.failure ??= `GPU error: ${(ev as GPUUncapturedErrorEvent).error.message}`;
    });
  }

  static async create(opts: DeviceOptions = {}): Promise<Gpu> {
    const choice = opts.kernels ?? 'auto';
    if (choice !== 'auto' && choice !== 'cpu' && choice !== 'gpu') {
      throw new Error(`Gpu.create: kernels must be 'gpu', 'cpu' or 'auto', got '${String(choice)}'`);
    }
    const got = await acquireDevice(opts);
    return new Gpu(got.device, got.adapterInfo, got.features, got.keepAlive, kernelShapeFor(got.adapterInfo, choice));
  }

  /** Whether the device has subgroup operations (the feature is requested whenever the adapter offers it). */
  get hasSubgroups(): boolean {
    return this.features.has('subgroups');
  }

  get hasTimestamps(): boolean {
    return this.features.has('timestamp-query');
  }

  // ---- tensors ----

  /** A new tensor with undefined contents. */
  empty(dtype: DType, shape: readonly number[]): Tensor {
    const bytes = Math.max(numel(shape) * 4, 4);
    return new Tensor(this, this.pool.acquire(bytes), dtype, shape);
  }

  /** A new tensor holding `data`. */
  tensor(dtype: DType, shape: readonly number[], data: TypedArray | readonly number[]): Tensor {
    return this.empty(dtype, shape).write(data);
  }

  /** A new tensor with every element set to `value` (bit pattern of the dtype). */
  full(dtype: DType, shape: readonly number[], value: number): Tensor {
    const t = this.empty(dtype, shape);
    const host = arrayFor(dtype, new ArrayBuffer(t.byteLength));
    host.fill(value);
    return t.write(host);
  }

  /**
   * A small tensor of `dtype` (4 elements: enough for a vec4 view) to bind where an entry point declares a buffer
   * that this variant never reads (the dropout step of a pipeline without dropout, a bias without bias): WGSL counts
   * a use under an `override` flag as a use, so the binding needs a buffer of the right type. Owned by the Gpu;
   * disposing it does nothing.
   */
  unread(dtype: DType): Tensor {
    let t = this.unreadTensors.get(dtype);
    if (!t) {
      const buffer = this.device.createBuffer({ label: `unread ${dtype}`, size: 16, usage: GPUBufferUsage.STORAGE });
      t = new Tensor(this, buffer, dtype, [4]).reshape([4]);
      this.unreadTensors.set(dtype, t);
    }
    return t;
  }

  writeBuffer(buffer: GPUBuffer, byteOffset: number, data: TypedArray): void {
    this.check();
    // A queued write lands before the next submit; flush first so it cannot overtake recorded dispatches.
    if (this.pending > 0) this.flush();
    this.device.queue.writeBuffer(buffer, byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  async readBuffer(buffer: GPUBuffer, byteOffset: number, byteLength: number, dtype: DType): Promise<TypedArray> {
    this.check();
    const size = Math.max(4, byteLength);
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.endPass();
    this.encoderNow().copyBufferToBuffer(buffer, byteOffset, staging, 0, size);
    this.flush(true);
    try {
      await gpuWait(staging.mapAsync(GPUMapMode.READ));
    } catch (err) {
      // A lost device rejects the map with an AbortError and no message: report the loss and its reason instead.
      await this.lostOrTimeout(1000);
      this.check();
      throw err;
    }
    const copy = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    this.check();
    return arrayFor(dtype, copy, 0, byteLength / 4);
  }

  // ---- dispatch ----

  dispatch(k: Kernel, call: DispatchCall): void {
    this.check();
    if (call.workgroups === 0) return;
    const { pipeline, layout } = this.pipelineFor(k);
    const bindGroup = this.bindGroupFor(k, layout, call);
    const [x, y] = this.grid(call.workgroups, k.name);
    const pass = this.profiler.active ? this.profiledPass(k, call.cost) : this.passNow();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y);
    if (this.profiler.active) this.endPass();
    this.pending++;
    this.dispatchCount++;
  }

  /**
   * Records a copy of `count` elements of `src` from element `srcOffset` (default: all of it) into `dst` starting
   * at element `dstOffset`, in order with the dispatches.
   */
  copy(src: Tensor, dst: Tensor, dstOffset = 0, srcOffset = 0, count = src.size - srcOffset): void {
    this.check();
    src.assertAlive();
    dst.assertAlive();
    for (const [name, v] of [
      ['dstOffset', dstOffset],
      ['srcOffset', srcOffset],
      ['count', count],
    ] as const) {
      if (!Number.isInteger(v) || v < 0) throw new Error(`copy: ${name} must be a non-negative integer, got ${v}`);
    }
    if (srcOffset + count > src.size)
      throw new Error(`copy: ${count} values from ${srcOffset} are outside a tensor of ${src.size}`);
    if (dstOffset + count > dst.size)
      throw new Error(`copy: ${count} values do not fit at ${dstOffset} in a tensor of ${dst.size}`);
    if (count === 0) return;
    this.endPass();
    this.encoderNow().copyBufferToBuffer(
      src.buffer,
      src.byteOffset + srcOffset * 4,
      dst.buffer,
      dst.byteOffset + dstOffset * 4,
      count * 4,
    );
    this.pending++;
  }

  /** Submits everything recorded so far in one command buffer (recorded work is dropped once the device is lost). */
  flush(force = false): void {
    if (this.failure) {
      this.pass = null;
      this.encoder = null;
      this.pending = 0;
      this.check();
    }
    if (!this.encoder || (!force && this.pending === 0)) return;
    this.endPass();
    this.profiler.beforeSubmit(this.encoder);
    this.device.queue.submit([this.encoder.finish()]);
    this.profiler.afterSubmit();
    this.encoder = null;
    this.pending = 0;
    this.submitCount++;
  }

  /** Flushes and waits until the GPU has finished all submitted work. */
  async sync(): Promise<void> {
    this.flush();
    await this.done();
    this.check();
  }

  /** Resolves when the GPU has finished the work submitted so far; rejects if the device is lost. */
  async done(): Promise<void> {
    this.check();
    try {
      await gpuWait(this.device.queue.onSubmittedWorkDone());
    } catch (err) {
      await this.lostOrTimeout(1000);
      this.check();
      throw err;
    }
    this.check();
  }

  /** Throws the first device error or loss seen so far. */
  check(): void {
    if (this.failure) throw new Error(this.failure);
  }

  /** Waits for the device's lost promise, at most `ms` milliseconds (it may settle just after a failed call). */
  private async lostOrTimeout(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.device.lost, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
    await Promise.resolve(); // let the lost handler above run first
  }

  destroy(): void {
    if (!this.failure) this.flush();
    this.pool.destroy();
    for (const b of this.uniformBuffers.values()) b.destroy();
    for (const t of this.unreadTensors.values()) t.buffer.destroy();
    this.profiler.destroy();
    this.failure ??= 'This Gpu was destroyed (Gpu.destroy()); create a new Gpu to continue.';
    this.device.destroy();
    void this.keepAlive;
  }

  /** Splits a workgroup count into (x, y) with x * y >= n and both within the per-dimension limit. */
  grid(n: number, name = 'kernel'): [number, number] {
    const max = this.maxGroupsPerDim;
    if (n <= max) return [n, 1];
    const y = Math.ceil(n / max);
    if (y > max) throw new Error(`${name}: ${n} workgroups are beyond this device's limits (${max} x ${max})`);
    return [Math.ceil(n / y), y];
  }

  // ---- caches ----

  private pipelineFor(k: Kernel) {
    const key = k.pipelineKey;
    let entry = this.pipelines.get(key);
    if (!entry) {
      const { storage, uniform } = k.iface;
      const entries: GPUBindGroupLayoutEntry[] = storage.map((b) => ({
        binding: b.binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: b.access === 'read' ? 'read-only-storage' : 'storage' },
      }));
      if (uniform)
        entries.push({ binding: uniform.binding, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } });
      entries.sort((a, b) => a.binding - b.binding);
      const layout = this.device.createBindGroupLayout({ label: k.name, entries });
      const module = this.device.createShaderModule({ label: k.name, code: k.code });
      const pipeline = this.device.createComputePipeline({
        label: k.name,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: k.entryPoint, constants: k.overrides },
      });
      entry = { pipeline, layout };
      this.pipelines.set(key, entry);
    }
    return entry;
  }

  private bindGroupFor(k: Kernel, layout: GPUBindGroupLayout, call: DispatchCall): GPUBindGroup {
    const { storage, uniform } = k.iface;
    const tensors = this.storageTensors(k, call);
    const resources: { binding: number; resource: GPUBufferBinding }[] = [];
    storage.forEach((b, i) => {
      const t = tensors[i];
      t.assertAlive();
      const size = Math.max(4, t.byteLength);
      if (size > this.maxBindingSize) {
        throw new Error(
          `${k.name}: ${b.name}: a tensor of ${size} bytes is beyond this device's limits (max storage binding ` +
            `${this.maxBindingSize} bytes)`,
        );
      }
      resources.push({ binding: b.binding, resource: { buffer: t.buffer, offset: t.byteOffset, size } });
    });
    if (uniform) {
      if (!call.uniforms)
        throw new Error(`${k.name}: uniforms missing (fields: ${uniform.fields.map((f) => f.name).join(', ')})`);
      resources.push({
        binding: uniform.binding,
        resource: { buffer: this.uniformBuffer(packUniforms(k, call.uniforms)) },
      });
    } else if (call.uniforms) {
      throw new Error(`${k.name}: the kernel has no uniform block, but uniforms were given`);
    }
    resources.sort((a, b) => a.binding - b.binding);
    const key =
      k.pipelineKey +
      '|' +
      resources.map(({ resource: r }) => `${this.idOf(r.buffer)}:${r.offset ?? 0}:${r.size ?? 0}`).join(',');
    let group = this.bindGroups.get(key);
    if (!group) {
      group = this.device.createBindGroup({
        label: k.name,
        layout,
        entries: resources,
      });
      this.bindGroups.set(key, group);
    }
    return group;
  }

  /** The call's tensors in the order of the kernel's storage bindings, checked against the WGSL by name and dtype. */
  private storageTensors(k: Kernel, call: DispatchCall): Tensor[] {
    const { storage } = k.iface;
    const given = call.bindings ?? {};
    for (const [name, t] of Object.entries(given)) {
      if (t !== undefined && !storage.some((b) => b.name === name)) {
        throw new Error(
          `${k.name}: the entry point binds no buffer named '${name}' (it binds ` +
            `${storage.map((b) => b.name).join(', ') || 'none'})`,
        );
      }
    }
    return storage.map((b) => {
      const t = given[b.name];
      if (!t)
        throw new Error(
          `${k.name}: no tensor for binding '${b.name}' (${b.access === 'read' ? 'read-only' : 'read-write'} ` +
            `${b.dtype})`,
        );
      if (t.dtype !== b.dtype)
        throw new Error(`${k.name}: binding '${b.name}' holds ${b.dtype}, got a ${t.dtype} tensor`);
      return t;
    });
  }

  /** Uniform blocks are cached by content: a training loop's blocks are made once and reused every step. */
  private uniformBuffer(words: Uint32Array): GPUBuffer {
    const key = words.join(',');
    let buf = this.uniformBuffers.get(key);
    if (!buf) {
      const size = Math.max(16, Math.ceil(words.length / 4) * 16);
      buf = this.device.createBuffer({ size, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
      new Uint32Array(buf.getMappedRange()).set(words);
      buf.unmap();
      this.uniformBuffers.set(key, buf);
    }
    return buf;
  }

  private idOf(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) this.bufferIds.set(b, (id = this.nextBufferId++));
    return id;
  }

  // ---- encoding ----

  private encoderNow(): GPUCommandEncoder {
    return (this.encoder ??= this.device.createCommandEncoder());
  }

  private passNow(): GPUComputePassEncoder {
    return (this.pass ??= this.encoderNow().beginComputePass());
  }

  private profiledPass(k: Kernel, cost?: KernelCost): GPUComputePassEncoder {
    this.endPass();
    if (this.profiler.full) this.flush(true);
    const timestampWrites = this.profiler.next(k.name, cost);
    this.pass = this.encoderNow().beginComputePass({ timestampWrites });
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }
}
