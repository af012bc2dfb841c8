/** A clock that moves only when a test moves it. */
import type { Clock } from '../../functions/lib/ports.js';

export class ManualClock implements Clock {
  /**
   * @param time Milliseconds since the Unix epoch.
   * @param tickMs How far every `now()` call moves the clock after reading it; 0 keeps it still.
   */
  constructor(
    private time = Date.parse('2026-01-05T09:00:00.000Z'),
    private readonly tickMs = 0,
  ) {}

  now(): number {
    const time = this.time;
    this.time += this.tickMs;

    return time;
  }

  advance(ms: number): void {
    this.time += ms;
  }
}
