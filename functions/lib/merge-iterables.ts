/** Merges async iterables into one that yields items as they arrive, from any source. */

/**
 * Yields every item of every source until all of them end. A source's error ends the merged
 * iteration with that error; returning early stops reading, and each source ends with the
 * signal that its producer was given.
 */
export async function* mergeIterables<T>(sources: AsyncIterable<T>[]): AsyncGenerator<T, void> {
  const iterators = sources.map((source) => source[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<{ index: number; result: IteratorResult<T> }>>();
  const pull = (index: number) => {
    pending.set(index, iterators[index]!.next().then((result) => ({ index, result })));
  };
  iterators.forEach((_iterator, index) => pull(index));

  while (pending.size > 0) {
    const { index, result } = await Promise.race(pending.values());
    if (result.done) {
      pending.delete(index);
      continue;
    }

    pull(index);
    yield result.value;
  }
}
