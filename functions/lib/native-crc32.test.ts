import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';

import { describe, expect, it } from 'vitest';
import yauzl from 'yauzl';

import { nativeCrc32, yazlCrcModule } from './native-crc32.js';
import { ZipWriter } from './zip-writer.js';

describe('nativeCrc32', () => {
  it('matches the CRC-32 check value', () => {
    // The standard check value of CRC-32 (ISO-HDLC) for the ASCII digits 1 to 9.
    expect(nativeCrc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('continues from a running value', () => {
    const whole = nativeCrc32(Buffer.from('hello, world'));
    const first = nativeCrc32(Buffer.from('hello, '));

    expect(nativeCrc32(Buffer.from('world'), first)).toBe(whole);
  });

  it('continues from a 4-byte big-endian Buffer', () => {
    const first = Buffer.alloc(4);
    first.writeUInt32BE(nativeCrc32(Buffer.from('hello, ')), 0);

    expect(nativeCrc32(Buffer.from('world'), first)).toBe(nativeCrc32(Buffer.from('hello, world')));
  });

  it('is what yazl calls once the zip writer is loaded', () => {
    expect(yazlCrcModule().unsigned).toBe(nativeCrc32);
  });
});

describe('Node.js version', () => {
  it('engines excludes Node without zlib.crc32', async () => {
    const manifestUrl = new URL('../../package.json', import.meta.url);
    const text = await readFile(manifestUrl, 'utf8');
    const manifest = JSON.parse(text) as { engines: { node: string } };
    const minimum = /^>=\s*(\d+)(?:\.(\d+))?/.exec(manifest.engines.node);
    const [major, minor] = [Number(minimum?.[1] ?? 0), Number(minimum?.[2] ?? 0)];

    // Node added zlib.crc32 in 20.15.0 (@since in @types/node), so older 20.x fail every zip.
    expect(minimum).not.toBeNull();
    expect(major > 20 || (major === 20 && minor >= 15)).toBe(true);
  });
});

describe('ZipWriter checksums', () => {
  it("writes the entry's CRC-32", async () => {
    const content = Buffer.from('a'.repeat(100_000) + 'b'.repeat(100_000));
    const writer = new ZipWriter();
    const archive = buffer(writer.output);
    const entry = {
      name: 'a.txt',
      size: content.length,
      comment: '',
      modifiedAt: new Date('2026-01-01T00:00:00Z'),
      stream: Readable.from([content.subarray(0, 70_000), content.subarray(70_000)]),
    };
    await writer.add(entry, () => undefined);
    writer.end();

    const zip = await yauzl.fromBufferPromise(await archive, { lazyEntries: true });
    const entries = [];
    for await (const read of zip.eachEntry()) entries.push(read);
    zip.close();

    expect(entries).toHaveLength(1);
    expect(entries[0]?.crc32).toBe(nativeCrc32(content));
  });
});
