import { describe, expect, it } from 'vitest';

import { ManualClock } from '../../test/memory/clock.js';
import { ProgressReporter } from './progress-reporter.js';

interface Progress {
  percent: number;
}

/** A write target whose writes stay pending until the test settles them. */
class PendingWrites {
  readonly started: number[] = [];
  readonly stored: number[] = [];
  private readonly settlers: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  write = (progress: Progress): Promise<void> => {
    this.started.push(progress.percent);
    return new Promise<void>((resolve, reject) => {
      this.settlers.push({
        resolve: () => {
          this.stored.push(progress.percent);
          resolve();
        },
        reject,
      });
    });
  };

  get inFlight(): number {
    return this.started.length - this.stored.length;
  }

  /**
   * Completes the newest pending write and lets the reporter start the next one. Writes that
   * ran at once would therefore be stored out of order.
   */
  async finishNewest(): Promise<void> {
    this.settlers.pop()?.resolve();
    await new Promise((resolve) => setImmediate(resolve));
  }

  async failNewest(error: Error): Promise<void> {
    this.settlers.pop()?.reject(error);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function setup() {
  const clock = new ManualClock(0);
  const written: number[] = [];
  const reporter = new ProgressReporter<Progress>(async (progress) => {
    written.push(progress.percent);
  }, clock);

  return { clock, written, reporter };
}

describe('ProgressReporter', () => {
  it('writes the first report', async () => {
    const { written, reporter } = setup();

    reporter.report({ percent: 0 });
    await reporter.flush();

    expect(written).toEqual([0]);
  });

  it('writes after 1% growth', async () => {
    const { clock, written, reporter } = setup();

    reporter.report({ percent: 10 });
    clock.advance(250);
    reporter.report({ percent: 11 });
    await reporter.flush();

    expect(written).toEqual([10, 11]);
  });

  it('skips growth under 1%', async () => {
    const { clock, written, reporter } = setup();

    reporter.report({ percent: 10 });
    clock.advance(300);
    reporter.report({ percent: 10.5 });
    await reporter.flush();

    expect(written).toEqual([10]);
  });

  it('writes unchanged progress after 500 ms', async () => {
    const { clock, written, reporter } = setup();

    reporter.report({ percent: 10 });
    clock.advance(499);
    reporter.report({ percent: 10 });
    clock.advance(1);
    reporter.report({ percent: 10 });
    await reporter.flush();

    expect(written).toEqual([10, 10]);
  });

  it('never writes twice within 250 ms', async () => {
    const { clock, written, reporter } = setup();

    reporter.report({ percent: 0 });
    clock.advance(249);
    reporter.report({ percent: 90 });
    await reporter.flush();

    expect(written).toEqual([0]);
  });

  it('keeps one write in flight', async () => {
    const clock = new ManualClock(0);
    const writes = new PendingWrites();
    const reporter = new ProgressReporter(writes.write, clock);

    reporter.report({ percent: 10 });
    clock.advance(300);
    reporter.report({ percent: 20 });
    clock.advance(300);
    reporter.report({ percent: 30 });

    expect(writes.inFlight).toBe(1);
  });

  it('writes newest waiting report next', async () => {
    const clock = new ManualClock(0);
    const writes = new PendingWrites();
    const reporter = new ProgressReporter(writes.write, clock);

    reporter.report({ percent: 10 });
    clock.advance(300);
    reporter.report({ percent: 20 });
    clock.advance(300);
    reporter.report({ percent: 30 });
    await writes.finishNewest();
    await writes.finishNewest();

    expect(writes.started).toEqual([10, 30]);
  });

  it('stores progress in report order', async () => {
    const clock = new ManualClock(0);
    const writes = new PendingWrites();
    const reporter = new ProgressReporter(writes.write, clock);

    for (let percent = 0; percent <= 100; percent += 5) {
      reporter.report({ percent });
      clock.advance(260);
      if (percent % 15 === 0) await writes.finishNewest();
    }
    while (writes.inFlight > 0) await writes.finishNewest();
    await reporter.flush();

    const sorted = [...writes.stored].sort((a, b) => a - b);
    expect(writes.stored).toEqual(sorted);
    expect(writes.stored.at(-1)).toBe(100);
  });

  it('flush waits for the waiting write', async () => {
    const clock = new ManualClock(0);
    const writes = new PendingWrites();
    const reporter = new ProgressReporter(writes.write, clock);

    reporter.report({ percent: 10 });
    clock.advance(300);
    reporter.report({ percent: 20 });
    let flushed = false;
    const flushing = reporter.flush().then(() => {
      flushed = true;
    });
    await writes.finishNewest();

    expect(flushed).toBe(false);

    await writes.finishNewest();
    await flushing;

    expect(writes.stored).toEqual([10, 20]);
  });

  it('flush surfaces a write error', async () => {
    const clock = new ManualClock(0);
    const failure = new Error('Redis write failed');
    const reporter = new ProgressReporter<Progress>(() => Promise.reject(failure), clock);

    reporter.report({ percent: 10 });

    await expect(reporter.flush()).rejects.toBe(failure);
  });

  it('flush surfaces the first error', async () => {
    const clock = new ManualClock(0);
    const writes = new PendingWrites();
    const reporter = new ProgressReporter(writes.write, clock);
    const first = new Error('first write failed');

    reporter.report({ percent: 10 });
    clock.advance(300);
    reporter.report({ percent: 20 });
    await writes.failNewest(first);
    await writes.failNewest(new Error('second write failed'));

    await expect(reporter.flush()).rejects.toBe(first);
  });
});
