// Per-dispatch GPU timing with timestamp queries. Off by default: then dispatches share one compute pass and
// pay nothing. On: each dispatch gets its own pass with begin/end timestamps, resolved at submit time.
import { gpuWait } from './device.ts';

export interface KernelCost {
  /** Bytes read plus bytes written (an estimate from sizes: each value counted once). */
  bytes: number;
  /** Floating-point operations (a multiply-add counts as 2). */
  flops: number;
}

export interface DispatchTiming {
  name: string;
  /** Start and end in nanoseconds on the GPU clock. */
  start: number;
  end: number;
  cost?: KernelCost;
}

export interface KernelSummary {
  name: string;
  calls: number;
  totalMs: number;
  meanUs: number;
  bytes: number;
  flops: number;
  gbPerS: number;
  gflopPerS: number;
}

const CAPACITY = 4096; // queries per submit (two per dispatch)

export class Profiler {
  /** True while recording. Set it through `start()` / `stop()`. */
  active = false;
  readonly timings: DispatchTiming[] = [];
  private querySet: GPUQuerySet | null = null;
  private resolveBuffer: GPUBuffer | null = null;
  private batch: { name: string; cost?: KernelCost }[] = [];
  private readback: GPUBuffer | null = null;
  private inFlight: Promise<void>[] = [];

  constructor(
    private readonly device: GPUDevice,
    readonly available: boolean,
  ) {}

  start(): void {
    if (!this.available)
      throw new Error('Profiling needs the timestamp-query feature, which this adapter does not offer');
    this.querySet ??= this.device.createQuerySet({ type: 'timestamp', count: CAPACITY });
    this.resolveBuffer ??= this.device.createBuffer({
      size: CAPACITY * 8,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    this.active = true;
  }

  stop(): void {
    this.active = false;
  }

  reset(): void {
    this.timings.length = 0;
  }

  get full(): boolean {
    return this.batch.length * 2 >= CAPACITY;
  }

  /** Timestamp writes for the next dispatch's pass. */
  next(name: string, cost?: KernelCost): GPUComputePassTimestampWrites {
    const i = this.batch.length * 2;
    this.batch.push({ name, cost });
    return { querySet: this.querySet!, beginningOfPassWriteIndex: i, endOfPassWriteIndex: i + 1 };
  }

  beforeSubmit(encoder: GPUCommandEncoder): void {
    if (this.batch.length === 0) return;
    const count = this.batch.length * 2;
    encoder.resolveQuerySet(this.querySet!, 0, count, this.resolveBuffer!, 0);
    this.readback = this.device.createBuffer({
      size: count * 8,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    encoder.copyBufferToBuffer(this.resolveBuffer!, 0, this.readback, 0, count * 8);
  }

  afterSubmit(): void {
    if (!this.readback) return;
    const buf = this.readback;
    const batch = this.batch;
    this.readback = null;
    this.batch = [];
    this.inFlight.push(
      gpuWait(buf.mapAsync(GPUMapMode.READ)).then(() => {
        const t = new BigInt64Array(buf.getMappedRange());
        batch.forEach((b, j) => this.timings.push({ ...b, start: Number(t[2 * j]), end: Number(t[2 * j + 1]) }));
        buf.unmap();
        buf.destroy();
      }),
    );
  }

  /** Waits for every submitted batch's timestamps. */
  async collect(): Promise<DispatchTiming[]> {
    const waiting = this.inFlight;
    this.inFlight = [];
    await Promise.all(waiting);
    return this.timings;
  }

  summary(): KernelSummary[] {
    const by = new Map<string, KernelSummary>();
    for (const t of this.timings) {
      let s = by.get(t.name);
      if (!s)
        by.set(
          t.name,
          (s = { name: t.name, calls: 0, totalMs: 0, meanUs: 0, bytes: 0, flops: 0, gbPerS: 0, gflopPerS: 0 }),
        );
      s.calls++;
      s.totalMs += Math.max(0, t.end - t.start) / 1e6;
      s.bytes += t.cost?.bytes ?? 0;
      s.flops += t.cost?.flops ?? 0;
    }
    const rows = [...by.values()];
    for (const s of rows) {
      s.meanUs = (s.totalMs * 1e3) / s.calls;
      const seconds = s.totalMs / 1e3;
      s.gbPerS = seconds > 0 ? s.bytes / seconds / 1e9 : 0;
      s.gflopPerS = seconds > 0 ? s.flops / seconds / 1e9 : 0;
    }
    return rows.sort((a, b) => b.totalMs - a.totalMs);
  }

  /** A fixed-width text table of `summary()`. */
  table(): string {
    const rows = this.summary();
    const head = ['kernel', 'calls', 'total ms', 'mean us', 'GB/s', 'GFLOP/s'];
    const body = rows.map((r) => [
      r.name,
      String(r.calls),
      r.totalMs.toFixed(3),
      r.meanUs.toFixed(1),
      r.gbPerS.toFixed(2),
      r.gflopPerS.toFixed(2),
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
    const line = (cells: string[]) =>
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
    return [line(head), ...body.map(line)].join('\n');
  }

  /** Chrome trace events (opens in Perfetto or chrome://tracing). */
  traceJson(): string {
    const t0 = Math.min(...this.timings.map((t) => t.start));
    const events = this.timings.map((t) => ({
      name: t.name,
      ph: 'X',
      pid: 1,
      tid: 1,
      ts: (t.start - t0) / 1e3,
      dur: Math.max(0, t.end - t.start) / 1e3,
      args: t.cost ?? {},
    }));
    return JSON.stringify({ traceEvents: events, displayTimeUnit: 'ms' });
  }

  destroy(): void {
    this.querySet?.destroy();
    this.resolveBuffer?.destroy();
  }
}
