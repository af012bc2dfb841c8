/** Throttled, serialized progress writes, so a fast stream never floods Redis or subscribers. */
import type { Clock } from './ports.js';

/** When progress is worth writing. */
export interface ProgressThrottleOptions {
  /** Write once the percentage has grown by this much… */
  minPercentStep: number;
  /** …or once this long has passed since the last write… */
  maxIntervalMs: number;
  /** …but never sooner than this after the last write. */
  minIntervalMs: number;
}

export const defaultThrottle: ProgressThrottleOptions = {
  minPercentStep: 1,
  maxIntervalMs: 500,
  minIntervalMs: 250,
};

/**
 * Decides when to write and keeps at most one write in flight. A report that arrives while a
 * write runs replaces any older waiting one, so the stored progress never goes backwards and
 * never lags by more than one write.
 */
export class ProgressReporter<T extends { percent: number }> {
  private lastPercent = -Infinity;
  private lastWriteAt = -Infinity;
  private running: Promise<void> | undefined;
  private waiting: T | undefined;
  private failure: unknown;

  constructor(
    private readonly write: (progress: T) => Promise<void>,
    private readonly clock: Clock,
    private readonly options: ProgressThrottleOptions = defaultThrottle,
  ) {}

  /** Offers the current progress; writes it only when the throttle allows. */
  report(progress: T): void {
    const now = this.clock.now();
    const elapsed = now - this.lastWriteAt;
    const grown = progress.percent - this.lastPercent >= this.options.minPercentStep;

    if (elapsed < this.options.minIntervalMs) return;
    if (!grown && elapsed < this.options.maxIntervalMs) return;

    this.lastPercent = progress.percent;
    this.lastWriteAt = now;
    this.enqueue(progress);
  }

  /** Waits for the writes under way and throws the first write error, if any. */
  async flush(): Promise<void> {
    while (this.running) await this.running;

    if (this.failure !== undefined) throw this.failure;
  }

  private enqueue(progress: T): void {
    if (this.running) {
      this.waiting = progress;
      return;
    }

    this.running = this.write(progress)
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => {
        this.running = undefined;
        const next = this.waiting;
        this.waiting = undefined;
        if (next) this.enqueue(next);
      });
  }
}
