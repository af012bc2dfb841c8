/** A small push-to-pull queue: producers push, one consumer iterates until a signal aborts. */

/** Max items kept for a slow consumer when no `supersedes` rule applies. The oldest go first. */
const maxBuffered = 64;

/** Options of one queue. */
export interface AsyncQueueOptions<T> {
  /**
   * Returns true when `incoming` makes the waiting item `waiting` useless to the consumer, so
   * the queue drops `waiting`. Items it never supersedes stay until they are read.
   */
  supersedes?: (waiting: T, incoming: T) => boolean;
}

const ended: IteratorReturnResult<void> = Object.freeze({ value: undefined, done: true });

/**
 * The queue. It has one consumer, which reads with one `next()` at a time as `for await` does.
 * A read that finds an item resolves at once, and a push hands its item straight to a waiting
 * read, because with thousands of queues every extra promise step adds to the delivery time.
 */
export class AsyncQueue<T> implements AsyncIterable<T>, AsyncIterator<T, void> {
  private items: T[] = [];
  private reader: ((result: IteratorResult<T, void>) => void) | undefined;

  constructor(
    private readonly signal: AbortSignal,
    private readonly options: AsyncQueueOptions<T> = {},
  ) {
    signal.addEventListener('abort', () => this.settle(ended), { once: true });
  }

  /** Returns the number of items waiting to be read. */
  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.reader) {
      this.settle({ value: item, done: false });
      return;
    }

    const supersedes = this.options.supersedes;
    if (supersedes && this.items.length > 0) {
      this.items = this.items.filter((waiting) => !supersedes(waiting, item));
    } else if (!supersedes && this.items.length >= maxBuffered) {
      this.items.shift();
    }

    this.items.push(item);
  }

  /** Returns the oldest waiting item or waits for the next push. Ends once the signal aborts. */
  next(): Promise<IteratorResult<T, void>> {
    if (this.signal.aborted) return Promise.resolve(ended);
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift()!, done: false });

    return new Promise((resolve) => {
      this.reader = resolve;
    });
  }

  /** Ends this iteration. The subscription itself ends with the signal. */
  async return(): Promise<IteratorResult<T, void>> {
    return ended;
  }

  [Symbol.asyncIterator](): AsyncIterator<T, void> {
    return this;
  }

  private settle(result: IteratorResult<T, void>): void {
    const reader = this.reader;
    this.reader = undefined;
    reader?.(result);
  }
}
