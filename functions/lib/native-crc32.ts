/**
 * Makes yazl compute CRC-32 with Node's native `zlib.crc32` (Node 20.15 and later) in place of
 * the JavaScript loop of `buffer-crc32`, which took about a tenth of the worker's time while it
 * built a zip. On one core, bench/experiments/checksum-rates.mjs measured about 350 MB/s for
 * that loop and 3,200 MB/s for `zlib.crc32`. The archive's bytes stay the same.
 *
 * yazl 3.3 calls `crc32.unsigned(chunk, previous)` on the module object for every chunk, so
 * replacing that one property of the module that yazl itself loads changes every later call.
 * yazl has no option for its checksum, and npm `overrides` cannot map a nested dependency to a
 * local package reliably (npm 11 resolved the path against yazl's folder).
 */
import { createRequire } from 'node:module';
import zlib from 'node:zlib';

type CrcModule = { unsigned(input: Buffer | string, previous?: number | Buffer): number };

/** Computes buffer-crc32's `unsigned` for the inputs yazl passes: a Buffer and a running CRC. */
export function nativeCrc32(input: Buffer | string, previous?: number | Buffer): number {
  const start = Buffer.isBuffer(previous) ? previous.readUInt32BE(0) : (previous ?? 0);

  return zlib.crc32(input, start >>> 0);
}

/** Returns the `buffer-crc32` module object that yazl loads. */
export function yazlCrcModule(): CrcModule {
  const fromHere = createRequire(import.meta.url);
  const fromYazl = createRequire(fromHere.resolve('yazl'));

  return fromYazl('buffer-crc32') as CrcModule;
}

yazlCrcModule().unsigned = nativeCrc32;
