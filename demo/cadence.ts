// How often the training loop does its extra work (timing kernels, reading metrics, refreshing the attention view):
// every so many epochs, and no more often than every so many milliseconds, so a fast GPU does not spend its time
// on readbacks and redraws while a slow one still gets regular updates.
export class Cadence {
  private lastEpoch = -Infinity;
  private lastTime = -Infinity;

  constructor(
    private readonly epochs: number,
    private readonly ms: number,
  ) {}

  /** True when at least `epochs` epochs and `ms` milliseconds have passed since the last time it was true. */
  due(epoch: number, now = performance.now()): boolean {
    if (epoch - this.lastEpoch < this.epochs || now - this.lastTime < this.ms) return false;
    this.lastEpoch = epoch;
    this.lastTime = now;
    return true;
  }
}
