/**
 * Rates of the three checksums a zip build can spend its CPU on: CRC-32 in JavaScript
 * (`buffer-crc32`, which yazl uses), CRC-32 in Node's zlib (`zlib.crc32`, Node 20.15 and
 * later) and SHA-256. Each runs over 64 MiB of random bytes in 64 KiB chunks, twice.
 * Usage: node bench/experiments/checksum-rates.mjs
 */
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import zlib from 'node:zlib';

const require = createRequire(import.meta.url);
const bufferCrc32 = createRequire(require.resolve('yazl'))('buffer-crc32');

const data = randomBytes(64 * 1024 * 1024);
const chunkSize = 64 * 1024;

function chunks(handleChunk) {
  for (let offset = 0; offset < data.length; offset += chunkSize) {
    handleChunk(data.subarray(offset, offset + chunkSize));
  }
}

function report(name, run) {
  const startedAt = process.hrtime.bigint();
  run();
  const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  console.log(`${name.padEnd(14)} ${(data.length / 1e6 / seconds).toFixed(0)} MB/s`);
}

for (let round = 0; round < 2; round++) {
  report('buffer-crc32', () => {
    let crc = 0;
    chunks((chunk) => (crc = bufferCrc32.unsigned(chunk, crc)));
  });
  report('zlib.crc32', () => {
    let crc = 0;
    chunks((chunk) => (crc = zlib.crc32(chunk, crc)));
  });
  report('sha256', () => {
    const hash = createHash('sha256');
    chunks((chunk) => hash.update(chunk));
    hash.digest();
  });
}
