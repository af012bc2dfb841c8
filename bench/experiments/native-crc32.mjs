/**
 * An experiment, never used in production: loaded with `node --import` into the worker by
 * `npm run bench -- --native-crc32 zip`, it makes yazl's CRC-32 run in Node's native
 * `zlib.crc32` (Node 20.15 and later) instead of the JavaScript loop of `buffer-crc32`. yazl
 * calls `crc32.unsigned(chunk, previous)` on the module object at each chunk, so replacing that
 * one property changes every later call. The zip bytes stay the same.
 */
import { createRequire } from 'node:module';
import zlib from 'node:zlib';

const require = createRequire(import.meta.url);
const yazlRequire = createRequire(require.resolve('yazl'));
const bufferCrc32 = yazlRequire('buffer-crc32');

bufferCrc32.unsigned = (chunk, previous) => zlib.crc32(chunk, previous ?? 0);
