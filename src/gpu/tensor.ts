// A tensor is a typed, shaped range of a GPU buffer. Buffers come from a size-bucketed pool, so a training loop
// that disposes what it no longer needs allocates nothing after its first step.
import type { Gpu } from './gpu.ts';

export type DType = 'f32' | 'u32' | 'i32';
export type TypedArray = Float32Array | Uint32Array | Int32Array;

export function arrayFor(dtype: DType, data: ArrayBuffer, offset = 0, length?: number): TypedArray {
  if (dtype === 'f32') return new Float32Array(data, offset, length);
  if (dtype === 'u32') return new Uint32Array(data, offset, length);
  return new Int32Array(data, offset, length);
}

export function dtypeOf(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'f32';
  if (a instanceof Uint32Array) return 'u32';
  return 'i32';
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new Error(`Invalid tensor shape [${shape.join(', ')}]: dimensions must be non-negative integers`);
    n *= d;
  }
  return n;
}

export class Tensor {
  private disposed = false;

  constructor(
    readonly gpu: Gpu,
    readonly buffer: GPUBuffer,
    readonly dtype: DType,
    readonly shape: readonly number[],
    /** Byte offset of element 0 in `buffer` (a multiple of the device's storage offset alignment). */
    readonly byteOffset = 0,
    /** Views do not own their buffer; disposing a view does nothing. */
    private readonly owner: Tensor | null = null,
  ) {}

  get size(): number {
    return numel(this.shape);
  }

  get byteLength(): number {
    return this.size * 4;
  }

  get isDisposed(): boolean {
    return this.disposed || (this.owner?.isDisposed ?? false);
  }

  /** Copies `data` into the tensor (queued before any later dispatch). */
  write(data: TypedArray | readonly number[]): this {
    this.assertAlive();
    const arr = Array.isArray(data) ? typedFrom(this.dtype, data) : (data as TypedArray);
    if (arr.length !== this.size) {
      throw new Error(
        `Shape mismatch: writing ${arr.length} values into a tensor of shape [${this.shape}] (${this.size} values)`,
      );
    }
    if (dtypeOf(arr) !== this.dtype)
      throw new Error(`Type mismatch: writing ${dtypeOf(arr)} data into a ${this.dtype} tensor`);
    this.gpu.writeBuffer(this.buffer, this.byteOffset, arr);
    return this;
  }

  /** Reads the tensor back to the host. Submits pending work first. */
  async read(): Promise<TypedArray> {
    this.assertAlive();
    return this.gpu.readBuffer(this.buffer, this.byteOffset, this.byteLength, this.dtype);
  }

  /** A tensor over elements [offset, offset + numel(shape)) of this one; the offset must keep binding alignment. */
  view(elementOffset: number, shape: readonly number[]): Tensor {
    const byteOffset = this.byteOffset + elementOffset * 4;
    if (elementOffset < 0 || elementOffset + numel(shape) > this.size) {
      throw new Error(`View [${elementOffset}, +${numel(shape)}) is outside a tensor of ${this.size} values`);
    }
    if (byteOffset % this.gpu.offsetAlignment !== 0) {
      throw new Error(
        `View offset ${byteOffset} bytes is not a multiple of the device's ${this.gpu.offsetAlignment}-byte alignment`,
      );
    }
    return new Tensor(this.gpu, this.buffer, this.dtype, shape, byteOffset, this.owner ?? this);
  }

  /** The same data seen with another shape of equal size. */
  reshape(shape: readonly number[]): Tensor {
    if (numel(shape) !== this.size) throw new Error(`Cannot reshape [${this.shape}] into [${shape}]`);
    return new Tensor(this.gpu, this.buffer, this.dtype, shape, this.byteOffset, this.owner ?? this);
  }

  /**
   * The same bytes seen as another 32-bit dtype, as WGSL's bitcast (a view): for a buffer that one kernel writes
   * as u32 words and a later one reads as f32.
   */
  bitcast(dtype: DType): Tensor {
    return new Tensor(this.gpu, this.buffer, dtype, this.shape, this.byteOffset, this.owner ?? this);
  }

  dispose(): void {
    if (this.owner || this.disposed) return;
    this.disposed = true;
    this.gpu.pool.release(this.buffer);
  }

  assertAlive(): void {
    if (this.isDisposed) throw new Error(`Use of a disposed tensor of shape [${this.shape}]`);
  }
}

export function typedFrom(dtype: DType, data: ArrayLike<number>): TypedArray {
  if (dtype === 'f32') return Float32Array.from(data);
  if (dtype === 'u32') return Uint32Array.from(data);
  return Int32Array.from(data);
}

/**
 * Size-bucketed buffer pool. Sizes are rounded up to 2^k * (1 + j/8), so no buffer wastes more than 1/8 of itself.
 */
export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private live = new Set<GPUBuffer>();
  private trackers = new Set<Set<GPUBuffer>>();
  /** Buffers created since the pool was made: a loop that reuses its buffers keeps this constant. */
  created = 0;
  bytesInUse = 0;
  peakBytesInUse = 0;
  bytesAllocated = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBufferSize: number,
  ) {}

  static bucket(bytes: number): number {
    const b = Math.max(bytes, 256);
    const k = Math.floor(Math.log2(b));
    const step = Math.max(2 ** (k - 3), 256);
    return Math.ceil(b / step) * step;
  }

  acquire(bytes: number): GPUBuffer {
    const size = BufferPool.bucket(bytes);
    if (bytes > this.maxBufferSize) {
      throw new Error(
        `A tensor of ${bytes} bytes is beyond this device's limits (largest buffer ${this.maxBufferSize} bytes)`,
      );
    }
    let buffer = this.free.get(size)?.pop();
    if (!buffer) {
      buffer = this.device.createBuffer({
        size: Math.min(size, this.maxBufferSize),
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
      this.created++;
      this.bytesAllocated += buffer.size;
    }
    this.live.add(buffer);
    for (const t of this.trackers) t.add(buffer);
    this.bytesInUse += buffer.size;
    this.peakBytesInUse = Math.max(this.peakBytesInUse, this.bytesInUse);
    return buffer;
  }

  /**
   * Records every buffer acquired from now until stop(), so that a call that fails part-way can give back what it
   * took (see train/cleanup.ts).
   */
  track(): { acquired: ReadonlySet<GPUBuffer>; stop(): void } {
    const acquired = new Set<GPUBuffer>();
    this.trackers.add(acquired);
    return { acquired, stop: () => void this.trackers.delete(acquired) };
  }

  release(buffer: GPUBuffer): void {
    if (!this.live.delete(buffer)) return;
    this.bytesInUse -= buffer.size;
    const size = BufferPool.bucket(buffer.size);
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buffer);
  }

  /** Destroys every free buffer (bind groups that name them must be dropped too). */
  trim(): void {
    for (const list of this.free.values())
      for (const b of list) {
        this.bytesAllocated -= b.size;
        b.destroy();
      }
    this.free.clear();
  }

  destroy(): void {
    this.trim();
    for (const b of this.live) b.destroy();
    this.live.clear();
  }
}
