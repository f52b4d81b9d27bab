// Runs fuzz cases in a worker thread under a time limit and a memory limit, so that a loader that loops or
// allocates without bound fails its test (with the case that did it) instead of hanging or crashing the test run.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** The original Planetoid files, in shared/ beside the repository. */
export const PLANETOID_DIR =
  process.env.PLANETOID_DIR ?? fileURLToPath(new URL('../../../../shared/datasets/planetoid/', import.meta.url));

export type Outcome = { ok: true; digest: string; problems: string[] } | { ok: false; message: string };

/** A worker's start (loading TypeScript) is not part of a case's time: it may take seconds on a loaded machine. */
const START_LIMIT_MS = 120_000;

export class Watchdog {
  private worker: Promise<Worker> | null = null;
  private nextId = 1;

  constructor(
    private readonly timeoutMs: number,
    private readonly memoryMb = 512,
  ) {}

  /** Starts a worker and resolves once it has said it is ready. */
  private start(): Promise<Worker> {
    const w = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: this.memoryMb },
    });
    w.unref();
    return new Promise<Worker>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the fuzz worker did not start within ${START_LIMIT_MS} ms`)),
        START_LIMIT_MS,
      );
      w.once('message', () => (clearTimeout(timer), resolve(w)));
      w.once('error', (e) => (clearTimeout(timer), reject(e)));
    });
  }

  /** Runs one case; rejects with 'hang: ...' after the time limit and 'crash: ...' when the worker dies. */
  async run(kind: string, payload: unknown): Promise<Outcome> {
    const w = await (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise<Outcome>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      };
      const fail = (why: string) => {
        done();
        this.worker = null;
        w.on('error', () => {}); // a worker stopped mid-allocation may still report its out-of-memory end
        void w.terminate();
        reject(new Error(why));
      };
      const timer = setTimeout(() => fail(`hang: no answer within ${this.timeoutMs} ms`), this.timeoutMs);
      const onMessage = (m: { id: number; outcome: Outcome }) => {
        if (m.id !== id) return;
        done();
        resolve(m.outcome);
      };
      const onError = (e: Error) => fail(`crash: ${e.message}`);
      const onExit = (code: number) => fail(`crash: the worker exited with code ${code}`);
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      w.postMessage({ id, kind, payload });
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await (await w).terminate();
  }
}

/** Number of cases per format: `ci` by default, FUZZ_RUNS (e.g. FUZZ_RUNS=5000) when set. */
export function fuzzRuns(ci: number): number {
  const v = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(v) && v > 0 ? v : ci;
}

/** The fixed seed of every fuzz test (FUZZ_SEED overrides it, to explore further). */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261129);

/** One corruption of a file's bytes. */
export interface Corruption {
  kind: 'flip' | 'truncate' | 'insert' | 'overwrite';
  /** Byte position (taken modulo the length). */
  where: number;
  bit: number;
  bytes: Uint8Array;
}

export function corrupt(src: Uint8Array, c: Corruption): { bytes: Uint8Array; pos: number } {
  const pos = src.length === 0 ? 0 : c.where % src.length;
  switch (c.kind) {
    case 'flip': {
      const out = src.slice();
      if (out.length > 0) out[pos] = out[pos]! ^ (1 << c.bit);
      return { bytes: out, pos };
    }
    case 'truncate':
      return { bytes: src.slice(0, pos), pos };
    case 'insert': {
      const out = new Uint8Array(src.length + c.bytes.length);
      out.set(src.subarray(0, pos));
      out.set(c.bytes, pos);
      out.set(src.subarray(pos), pos + c.bytes.length);
      return { bytes: out, pos };
    }
    case 'overwrite': {
      const out = src.slice();
      out.set(c.bytes.subarray(0, Math.max(0, out.length - pos)), pos);
      return { bytes: out, pos };
    }
  }
}
