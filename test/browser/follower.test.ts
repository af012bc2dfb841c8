import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import {
  type EventSourceLike,
  ExportFollower,
  type ExportFollowerOptions,
  firstFrameTimeoutMs,
  type FollowedSnapshot,
  maxIdsPerStream,
  type SnapshotResult,
  streamRetryMs,
} from '../../web/lib/follower.js';

/** An EventSource that the test drives: it records its URL and emits frames on request. */
class FakeEventSource implements EventSourceLike {
  static opened: FakeEventSource[] = [];
  readonly listeners = new Map<string, Array<(event: { data: string }) => void>>();
  closed = false;

  constructor(readonly url: string) {
    FakeEventSource.opened.push(this);
  }

  addEventListener(type: string, listener: (event: { data: string }) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.closed = true;
  }

  emit(type: string, data: unknown = {}): void {
    for (const listener of this.listeners.get(type) ?? []) listener({ data: JSON.stringify(data) });
  }

  static open(): FakeEventSource[] {
    return FakeEventSource.opened.filter((source) => !source.closed);
  }

  static last(): FakeEventSource {
    return FakeEventSource.opened.at(-1)!;
  }
}

function snapshot(jobId: string, version: number, status = 'processing'): FollowedSnapshot {
  return { jobId, version, status };
}

interface Harness {
  follower: ExportFollower;
  seen: FollowedSnapshot[];
  notFound: string[];
  modes: string[];
  polled: string[];
  /** Fake-clock times of the polls, in ms. */
  pollTimes: number[];
  /** What the next polls of each id return, first one first; `ok` with version 1 when empty. */
  pollResults: Map<string, SnapshotResult[]>;
}

function createFollower(options: Partial<ExportFollowerOptions> = {}): Harness {
  const harness: Omit<Harness, 'follower'> = {
    seen: [],
    notFound: [],
    modes: [],
    polled: [],
    pollTimes: [],
    pollResults: new Map(),
  };
  const follower = new ExportFollower({
    EventSource: FakeEventSource,
    streamUrl: (ids) => `/v1/exports/progress?ids=${ids.join(',')}`,
    fetchSnapshot: async (jobId) => {
      harness.polled.push(jobId);
      harness.pollTimes.push(Date.now());
      const next = harness.pollResults.get(jobId)?.shift();
      return next ?? { status: 'ok', snapshot: snapshot(jobId, 1) };
    },
    onSnapshot: (value) => harness.seen.push(value),
    onNotFound: (jobId) => harness.notFound.push(jobId),
    onModeChange: (mode) => harness.modes.push(mode),
    ...options,
  });

  return { follower, ...harness };
}

/** Fails the current stream `count` times, waiting out the reopen delay between failures. */
async function failStream(count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    if (i > 0) await vi.advanceTimersByTimeAsync(8_000);
    FakeEventSource.last().emit('error');
  }
}

/** Returns the ms between consecutive entries of `times`. */
function gaps(times: number[]): number[] {
  return times.slice(1).map((time, i) => time - times[i]!);
}

beforeEach(() => {
  vi.useFakeTimers();
  // Jitter factor 1, so that the delays are exactly the backoff's.
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
  FakeEventSource.opened = [];
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('ExportFollower stream', () => {
  it('opens one stream for all ids', () => {
    const { follower } = createFollower();
    follower.follow(['a', 'b']);

    expect(FakeEventSource.open().map((source) => source.url)).toEqual([
      '/v1/exports/progress?ids=a,b',
    ]);
  });

  it('reopens when an id is added', () => {
    const { follower } = createFollower();
    follower.follow(['a']);
    follower.follow(['b']);

    expect(FakeEventSource.opened[0]?.closed).toBe(true);
    expect(FakeEventSource.last().url).toBe('/v1/exports/progress?ids=a,b');
  });

  it('keeps the stream for a known id', () => {
    const { follower } = createFollower();
    follower.follow(['a']);
    follower.follow(['a']);

    expect(FakeEventSource.opened).toHaveLength(1);
  });

  it('splits ids into streams of 50', () => {
    const { follower } = createFollower();
    const ids = Array.from({ length: maxIdsPerStream + 1 }, (_, i) => `id-${i}`);
    follower.follow(ids);

    expect(FakeEventSource.open()).toHaveLength(2);
    expect(FakeEventSource.last().url).toBe(`/v1/exports/progress?ids=id-${maxIdsPerStream}`);
  });

  it('delivers newer snapshots only', () => {
    const { follower, seen } = createFollower();
    follower.follow(['a']);
    const source = FakeEventSource.last();
    source.emit('progress', snapshot('a', 2));
    source.emit('progress', snapshot('a', 2));
    source.emit('progress', snapshot('a', 3));

    expect(seen.map((value) => value.version)).toEqual([2, 3]);
  });

  it('closes the stream when all ended', () => {
    const { follower } = createFollower();
    follower.follow(['a', 'b']);
    const source = FakeEventSource.last();
    source.emit('completed', snapshot('a', 5, 'completed'));
    source.emit('failed', snapshot('b', 4, 'failed'));

    expect(source.closed).toBe(true);
    expect(follower.followedIds).toEqual([]);
  });

  it('stops following an unknown id', () => {
    const { follower, notFound } = createFollower();
    follower.follow(['a', 'b']);
    FakeEventSource.last().emit('not_found', { jobId: 'a' });

    expect(notFound).toEqual(['a']);
    expect(follower.followedIds).toEqual(['b']);
  });

  it('reopens after a failure', async () => {
    const { follower } = createFollower();
    follower.follow(['a']);
    FakeEventSource.last().emit('error');

    expect(FakeEventSource.open()).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_200);
    expect(FakeEventSource.open()).toHaveLength(1);
  });

  it('polls after three failures', async () => {
    const { follower, modes, polled } = createFollower();
    follower.follow(['a']);
    await failStream(3);
    await vi.advanceTimersByTimeAsync(0);

    expect(modes).toEqual(['poll']);
    expect(follower.mode).toBe('poll');
    expect(polled).toContain('a');
    expect(FakeEventSource.open()).toHaveLength(0);
  });

  it('resets the count on a frame', async () => {
    const { follower, modes } = createFollower();
    follower.follow(['a']);
    await failStream(2);
    await vi.advanceTimersByTimeAsync(8_000);
    FakeEventSource.last().emit('progress', snapshot('a', 2));
    await vi.advanceTimersByTimeAsync(8_000);
    await failStream(2);

    expect(modes).toEqual([]);
  });

  it('fails a stream without frames', async () => {
    const { follower } = createFollower();
    follower.follow(['a']);
    const silent = FakeEventSource.last();
    await vi.advanceTimersByTimeAsync(firstFrameTimeoutMs + 1);

    expect(silent.closed).toBe(true);
  });

  it('tries the stream again later', async () => {
    const { follower, modes } = createFollower();
    follower.follow(['a']);
    await failStream(3);
    await vi.advanceTimersByTimeAsync(streamRetryMs);

    expect(modes).toEqual(['poll', 'stream']);
    expect(FakeEventSource.open()).toHaveLength(1);
  });

  it('polls at once after a failed retry', async () => {
    const { follower, modes } = createFollower();
    follower.follow(['a']);
    await failStream(3);
    await vi.advanceTimersByTimeAsync(streamRetryMs);
    FakeEventSource.last().emit('error');

    expect(modes).toEqual(['poll', 'stream', 'poll']);
  });
});

describe('ExportFollower polling', () => {
  it('polls without EventSource', async () => {
    const { follower, polled } = createFollower({ EventSource: undefined });
    follower.follow(['a']);
    await vi.advanceTimersByTimeAsync(0);

    expect(follower.mode).toBe('poll');
    expect(polled).toEqual(['a']);
  });

  it('stops polling once ended', async () => {
    const { follower, polled, pollResults } = createFollower({ EventSource: undefined });
    pollResults.set('a', [{ status: 'ok', snapshot: snapshot('a', 9, 'completed') }]);
    follower.follow(['a']);
    await vi.advanceTimersByTimeAsync(60_000);

    expect(polled).toEqual(['a']);
  });

  it('slows down while unchanged', async () => {
    const { follower, pollTimes } = createFollower({ EventSource: undefined });
    follower.follow(['a']);
    // The first poll brings version 1, a change; every later one returns it again.
    await vi.advanceTimersByTimeAsync(20_000);

    expect(gaps(pollTimes)).toEqual([1_000, 1_500, 2_250, 3_375, 5_063]);
  });

  it('polls soon after a change', async () => {
    const { follower, pollTimes, pollResults } = createFollower({ EventSource: undefined });
    const versions = [1, 1, 1, 2, 2];
    pollResults.set('a', versions.map((v) => ({ status: 'ok', snapshot: snapshot('a', v) })));
    follower.follow(['a']);
    await vi.advanceTimersByTimeAsync(10_000);

    expect(gaps(pollTimes).slice(0, 4)).toEqual([1_000, 1_500, 2_250, 1_000]);
  });

  it('backs off on errors', async () => {
    const { follower, pollTimes, pollResults } = createFollower({ EventSource: undefined });
    pollResults.set('a', Array.from({ length: 20 }, () => ({ status: 'error' as const })));
    follower.follow(['a']);
    await vi.advanceTimersByTimeAsync(40_000);

    expect(gaps(pollTimes)).toEqual([2_000, 4_000, 8_000, 16_000]);
  });

  it('honours Retry-After', async () => {
    const { follower, polled, pollResults } = createFollower({ EventSource: undefined });
    pollResults.set('a', [{ status: 'error', retryAfterMs: 40_000 }]);
    follower.follow(['a']);
    await vi.advanceTimersByTimeAsync(30_000);

    expect(polled).toHaveLength(1);
  });

  it('drops an id that is not found', async () => {
    const { follower, notFound, pollResults } = createFollower({ EventSource: undefined });
    pollResults.set('a', [{ status: 'not_found' }]);
    follower.follow(['a']);
    await vi.advanceTimersByTimeAsync(0);

    expect(notFound).toEqual(['a']);
    expect(follower.followedIds).toEqual([]);
  });

  it('polls a new id at once', async () => {
    const { follower, polled } = createFollower({ EventSource: undefined });
    follower.follow(['a']);
    await vi.advanceTimersByTimeAsync(0);
    follower.follow(['b']);
    await vi.advanceTimersByTimeAsync(0);

    expect(polled).toEqual(['a', 'a', 'b']);
  });

  it('stops on close', async () => {
    const { follower, polled } = createFollower({ EventSource: undefined });
    follower.follow(['a']);
    await vi.advanceTimersByTimeAsync(0);
    follower.close();
    await vi.advanceTimersByTimeAsync(60_000);

    expect(polled).toEqual(['a']);
  });
});
