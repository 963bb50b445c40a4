/**
 * A readers-writer gate for one thread's jobs. V8 has one wall profiler per isolate and it samples
 * whatever runs, so a profiled job must run alone to be attributed to itself: ordinary jobs pass
 * `shared`, a profiled job passes `exclusive` and waits for the running ones to finish while new
 * ones wait behind it (writer preference, so a profile is never starved by a busy queue).
 */
export class ExclusiveGate {
  private sharedHolders = 0;
  private exclusiveHeld = false;
  private readonly waitingExclusive: Array<() => void> = [];
  private readonly waitingShared: Array<() => void> = [];

  async shared<T>(work: () => Promise<T>): Promise<T> {
    if (this.exclusiveHeld || this.waitingExclusive.length > 0) {
      await new Promise<void>((resolve) => this.waitingShared.push(resolve));
    } else {
      this.sharedHolders++;
    }
    try {
      return await work();
    } finally {
      this.sharedHolders--;
      this.release();
    }
  }

  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.exclusiveHeld || this.sharedHolders > 0) {
      await new Promise<void>((resolve) => this.waitingExclusive.push(resolve));
    } else {
      this.exclusiveHeld = true;
    }
    try {
      return await work();
    } finally {
      this.exclusiveHeld = false;
      this.release();
    }
  }

  /** Jobs running now, for tests and metrics. */
  get running(): { shared: number; exclusive: boolean } {
    return { shared: this.sharedHolders, exclusive: this.exclusiveHeld };
  }

  private release(): void {
    if (this.exclusiveHeld || this.sharedHolders > 0) return;
    const nextExclusive = this.waitingExclusive.shift();
    if (nextExclusive) {
      this.exclusiveHeld = true;
      nextExclusive();
      return;
    }
    const admitted = this.waitingShared.splice(0);
    this.sharedHolders += admitted.length;
    admitted.forEach((resolve) => resolve());
  }
}
