import { afterEach, describe, expect, it, vi } from 'vitest';

import { encodeFrame, formatMessage } from './sse-format.js';

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('formatMessage', () => {
  it('writes event, data, id and retry lines', () => {
    const text = formatMessage({ event: 'progress', data: '{"a":1}', id: '3', retry: 1000 });

    expect(text).toBe('event: progress\ndata: {"a":1}\nid: 3\nretry: 1000\n\n');
  });

  it('splits data lines', () => {
    expect(formatMessage({ event: 'note', data: 'one\ntwo' })).toBe(
      'event: note\ndata: one\ndata: two\n\n',
    );
  });

  it('rejects a line break in the event', () => {
    expect(() => formatMessage({ event: 'a\nb', data: '{}' })).toThrow('contains a line break');
  });

  it('rejects a line break in the id', () => {
    expect(() => formatMessage({ event: 'a', data: '{}', id: '1\r' })).toThrow('line break');
  });
});

describe('encodeFrame', () => {
  it('encodes the frame as event text', () => {
    const bytes = encodeFrame({ event: 'progress', id: '2', data: { percent: 50 } });

    expect(decode(bytes)).toBe('event: progress\ndata: {"percent":50}\nid: 2\n\n');
  });

  it('leaves out the id line without an id', () => {
    const bytes = encodeFrame({ event: 'progress', data: { percent: 50 } });

    expect(decode(bytes)).toBe('event: progress\ndata: {"percent":50}\n\n');
  });

  it('serialises shared data once', () => {
    const stringify = vi.spyOn(JSON, 'stringify');
    const data = { percent: 10 };
    const first = encodeFrame({ event: 'progress', id: '5', data });
    const second = encodeFrame({ event: 'progress', id: '5', data });

    expect(second).toBe(first);
    expect(stringify.mock.calls.filter(([value]) => value === data)).toHaveLength(1);
  });

  it('encodes another event or id apart', () => {
    const data = { percent: 20 };
    const progress = encodeFrame({ event: 'progress', id: '6', data });
    const snapshot = encodeFrame({ event: 'snapshot', id: '6', data });
    const withoutId = encodeFrame({ event: 'progress', data });

    expect(decode(snapshot)).toBe('event: snapshot\ndata: {"percent":20}\nid: 6\n\n');
    expect(decode(withoutId)).toBe('event: progress\ndata: {"percent":20}\n\n');
    expect(decode(progress)).toBe('event: progress\ndata: {"percent":20}\nid: 6\n\n');
  });

  it('encodes primitive data each time', () => {
    expect(decode(encodeFrame({ event: 'count', data: 3 }))).toBe('event: count\ndata: 3\n\n');
  });
});
