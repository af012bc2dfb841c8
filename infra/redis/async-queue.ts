/** A small push-to-pull queue: producers push, one consumer iterates until a signal aborts. */

/** Items kept for a slow consumer; each record is a whole snapshot, so older ones can go. */
const maxBuffered = 64;

export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;

  constructor(private readonly signal: AbortSignal) {
    signal.addEventListener('abort', () => this.wake?.(), { once: true });
  }

  push(item: T): void {
    this.items.push(item);
    if (this.items.length > maxBuffered) this.items.shift();
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void> {
    while (!this.signal.aborted) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }

      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }
}
