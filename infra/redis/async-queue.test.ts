import { describe, expect, it } from 'vitest';

import { AsyncQueue } from './async-queue.js';

/** Reads every waiting item without waiting for a new one. */
async function drain<T>(queue: AsyncQueue<T>): Promise<T[]> {
  const items: T[] = [];
  while (queue.size > 0) {
    const result = await queue.next();
    if (result.done) break;
    items.push(result.value);
  }

  return items;
}

describe('AsyncQueue', () => {
  it('yields items in push order', async () => {
    const queue = new AsyncQueue<number>(new AbortController().signal);
    for (const item of [1, 2, 3]) queue.push(item);

    expect(await drain(queue)).toEqual([1, 2, 3]);
  });

  it('hands a push to a waiting read', async () => {
    const queue = new AsyncQueue<number>(new AbortController().signal);
    const read = queue.next();
    queue.push(7);

    expect(await read).toEqual({ value: 7, done: false });
    expect(queue.size).toBe(0);
  });

  it('keeps the newest 64 without a rule', async () => {
    const queue = new AsyncQueue<number>(new AbortController().signal);
    for (let item = 1; item <= 70; item++) queue.push(item);
    const items = await drain(queue);

    expect(items).toHaveLength(64);
    expect(items[0]).toBe(7);
    expect(items.at(-1)).toBe(70);
  });

  it('drops items the rule supersedes', async () => {
    const odd = (item: number) => item % 2 === 1;
    const queue = new AsyncQueue<number>(new AbortController().signal, {
      supersedes: (waiting) => odd(waiting),
    });
    for (const item of [1, 2, 3, 4, 5]) queue.push(item);

    expect(await drain(queue)).toEqual([2, 4, 5]);
  });

  it('ends a waiting read on abort', async () => {
    const controller = new AbortController();
    const queue = new AsyncQueue<number>(controller.signal);
    const read = queue.next();
    controller.abort();

    expect(await read).toEqual({ value: undefined, done: true });
  });

  it('yields nothing after abort', async () => {
    const controller = new AbortController();
    const queue = new AsyncQueue<number>(controller.signal);
    queue.push(1);
    controller.abort();
    const items: number[] = [];
    for await (const item of queue) items.push(item);

    expect(items).toEqual([]);
  });
});
