// Training that diverges (a learning rate too large, bad data scaling) turns the loss into Infinity or NaN, and
// every update after that writes NaN into the weights. The trainer keeps its metrics on the GPU and reads them back
// only now and then (when asked, and every CHECK_EVERY epochs in run(), without waiting for the read); each
// readback goes through this watch, which stops training with an error naming the first bad epoch, or warns once.
import type { NonFinitePolicy } from './options.ts';

/** Epochs between the metric readbacks that Trainer.run makes to catch a diverging run early. */
export const CHECK_EVERY = 20;

export class NonFiniteLossError extends Error {
  constructor(
    /** The first epoch (1-based) whose loss was not finite. */
    readonly epoch: number,
    /** Which loss: 'training' or 'validation'. */
    readonly which: string,
    readonly value: number,
    lr: number,
  ) {
    super(
      `${diverged(epoch, which, value, lr)}; lower the learning rate, check the features' scale, or pass ` +
        "onNonFinite: 'warn' to train on regardless",
    );
    this.name = 'NonFiniteLossError';
  }
}

const diverged = (epoch: number, which: string, value: number, lr: number) =>
  `Training diverged: the ${which} loss is ${value} at epoch ${epoch} (learning rate ${lr})`;

export class NonFiniteWatch {
  /** Epochs (1-based) already looked at. */
  private checked = 0;
  private warned = false;

  constructor(
    private readonly policy: NonFinitePolicy,
    private readonly lr: number,
    private readonly warn: (message: string) => void = (m) => console.warn(`webgpu-gat: ${m}`),
  ) {}

  /**
   * Looks at the epochs not seen before: throws NonFiniteLossError for the first non-finite training or validation
   * loss (policy 'error'), or warns once (policy 'warn'). `valLoss` null means not measured.
   */
  check(history: readonly { epoch: number; loss: number; valLoss: number | null }[]): void {
    for (const m of history) {
      if (m.epoch <= this.checked) continue;
      this.checked = m.epoch;
      const bad = !Number.isFinite(m.loss)
        ? (['training', m.loss] as const)
        : m.valLoss !== null && !Number.isFinite(m.valLoss)
          ? (['validation', m.valLoss] as const)
          : null;
      if (!bad) continue;
      if (this.policy === 'error') throw new NonFiniteLossError(m.epoch, bad[0], bad[1], this.lr);
      if (!this.warned)
        this.warn(`${diverged(m.epoch, bad[0], bad[1], this.lr)}; training goes on (onNonFinite: 'warn')`);
      this.warned = true;
    }
  }
}

/**
 * Reads the metrics back every CHECK_EVERY epochs without stalling the queue of epochs: the read completes while
 * training goes on, and a failure it found (a NonFiniteLossError) is thrown at the next poll or at settle().
 */
export class PeriodicCheck {
  private pending: Promise<void> | null = null;
  private failure: { error: unknown } | null = null;

  /** Call after each epoch: throws an earlier check's failure; starts a read every CHECK_EVERY epochs. */
  poll(epoch: number, read: () => Promise<unknown>): void {
    if (this.failure) throw this.failure.error;
    if (epoch % CHECK_EVERY !== 0 || this.pending) return;
    this.pending = read().then(
      () => void (this.pending = null),
      (error) => void ((this.failure = { error }), (this.pending = null)),
    );
  }

  /** Waits for a read still in flight; throws its failure. */
  async settle(): Promise<void> {
    await this.pending;
    if (this.failure) throw this.failure.error;
  }
}
