// Ceilings of the device at hand: a large buffer copy (GB/s, bytes read + bytes written, the convention of the
// kernels' declared costs), a streaming elementwise kernel of ours (what a shader reaches on the same data), and a
// large dense matmul through our own matmul kernel (GFLOP/s).
import type { Gpu } from '../../src/gpu/gpu.ts';
import { add, fill } from '../../src/kernels/elementwise.ts';
import { matmul } from '../../src/kernels/matmul.ts';
import { median } from '../report.ts';
import { seededRng } from '../synthetic.ts';
import { timeStep, timingSource, wallMs, type TimingSource } from './timing.ts';

export interface CeilingOptions {
  /** Bytes of the copied buffer. */
  copyBytes: number;
  /** Elements of the streaming add (out = a + b). */
  streamElements: number;
  /** M = N = K of the matmul. */
  matmulSize: number;
  reps: number;
}

export const CEILINGS_FULL: CeilingOptions = {
  copyBytes: 256 * 2 ** 20,
  streamElements: 4 * 2 ** 20,
  matmulSize: 1024,
  reps: 3,
};
export const CEILINGS_QUICK: CeilingOptions = {
  copyBytes: 32 * 2 ** 20,
  streamElements: 2 ** 20,
  matmulSize: 256,
  reps: 3,
};

export interface Ceilings {
  copy: { bytes: number; ms: number; gbPerS: number; samplesMs: number[]; source: TimingSource };
  stream: { elements: number; ms: number; gbPerS: number; samplesMs: number[]; source: TimingSource };
  matmul: { size: number; ms: number; gflopPerS: number; samplesMs: number[]; source: TimingSource };
  /** Wall time per dispatch of a one-workgroup kernel, many recorded into one pass and one submit. */
  dispatch: { dispatches: number; usPerDispatch: number; samplesUs: number[] };
}

function randomTensor(gpu: Gpu, shape: number[], seed: number) {
  const rng = seededRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const host = new Float32Array(n);
  for (let i = 0; i < n; i++) host[i] = rng() * 2 - 1;
  return gpu.tensor('f32', shape, host);
}

/** GPU ms of one recorded step: the sum of its dispatches' timestamps, or its wall time. */
async function stepMs(gpu: Gpu, name: string, record: () => void): Promise<number> {
  const s = await timeStep(gpu, name, record, timingSource(gpu));
  let ms = 0;
  for (const v of s.ms.values()) ms += v;
  return ms;
}

export async function measureCeilings(
  gpu: Gpu,
  o: CeilingOptions,
  log: (m: string) => void = () => {},
): Promise<Ceilings> {
  const source = timingSource(gpu);
  // Copy: buffer-to-buffer copies are not dispatches, so they are timed by wall clock (4 per submit).
  const n = o.copyBytes / 4;
  const a = gpu.full('f32', [n], 1),
    b = gpu.empty('f32', [n]);
  const copies = 4;
  await wallMs(gpu, () => gpu.copy(a, b)); // first touch
  const copyMs: number[] = [];
  for (let r = 0; r < o.reps; r++)
    copyMs.push(
      (await wallMs(gpu, () => {
        for (let i = 0; i < copies; i++) gpu.copy(a, b);
      })) / copies,
    );
  a.dispose();
  b.dispose();
  const copy = {
    bytes: o.copyBytes,
    ms: median(copyMs),
    gbPerS: (2 * o.copyBytes) / median(copyMs) / 1e6,
    samplesMs: copyMs,
    source: 'wall' as TimingSource,
  };
  log(`copy ${o.copyBytes / 2 ** 20} MiB: ${copy.gbPerS.toFixed(2)} GB/s`);

  // Streaming add: 2 reads + 1 write per element.
  const m = o.streamElements;
  const x = randomTensor(gpu, [m], 1),
    y = randomTensor(gpu, [m], 2),
    z = gpu.empty('f32', [m]);
  await stepMs(gpu, 'add', () => add(gpu, x, y, z)); // compile
  const streamMs: number[] = [];
  for (let r = 0; r < o.reps; r++) streamMs.push(await stepMs(gpu, 'add', () => add(gpu, x, y, z)));
  [x, y, z].forEach((t) => t.dispose());
  const stream = {
    elements: m,
    ms: median(streamMs),
    gbPerS: (12 * m) / median(streamMs) / 1e6,
    samplesMs: streamMs,
    source,
  };
  log(`elementwise add of ${m} values: ${stream.gbPerS.toFixed(3)} GB/s`);

  // Matmul: C = A B, all [s, s].
  const s = o.matmulSize;
  const A = randomTensor(gpu, [s, s], 3),
    B = randomTensor(gpu, [s, s], 4),
    C = gpu.empty('f32', [s, s]);
  await stepMs(gpu, 'matmul', () => matmul(gpu, A, B, { out: C }));
  const mmMs: number[] = [];
  for (let r = 0; r < o.reps; r++) mmMs.push(await stepMs(gpu, 'matmul', () => matmul(gpu, A, B, { out: C })));
  [A, B, C].forEach((t) => t.dispose());
  const mm = { size: s, ms: median(mmMs), gflopPerS: (2 * s ** 3) / median(mmMs) / 1e6, samplesMs: mmMs, source };
  log(`matmul ${s}^3: ${mm.gflopPerS.toFixed(3)} GFLOP/s`);

  // Fixed cost of a dispatch: fill 64 values (one workgroup), `count` times in one submit, unprofiled.
  const tiny = gpu.empty('f32', [64]);
  const count = 200;
  await wallMs(gpu, () => fill(gpu, tiny, 0));
  const usSamples: number[] = [];
  for (let r = 0; r < o.reps; r++)
    usSamples.push(
      (1e3 *
        (await wallMs(gpu, () => {
          for (let i = 0; i < count; i++) fill(gpu, tiny, i);
        }))) /
        count,
    );
  tiny.dispose();
  const dispatch = { dispatches: count, usPerDispatch: median(usSamples), samplesUs: usSamples };
  log(`dispatch of one workgroup: ${dispatch.usPerDispatch.toFixed(1)} us`);
  return { copy, stream, matmul: mm, dispatch };
}

/** The two rates the kernel tables compare against. */
export function ceilingRates(c: Ceilings): { copyGbPerS: number; matmulGflopPerS: number } {
  return { copyGbPerS: c.copy.gbPerS, matmulGflopPerS: c.matmul.gflopPerS };
}
