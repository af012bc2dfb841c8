/**
 * A streaming zip writer over yazl: entries go in one at a time, the archive comes out of
 * `output` as it is built, and its size and SHA-256 are counted on the way out. Memory stays
 * constant because nothing is buffered beyond the streams' high-water marks.
 */
import { createHash } from 'node:crypto';
import { type Readable, Transform } from 'node:stream';
import { finished } from 'node:stream/promises';

import { ZipFile } from 'yazl';

// Loaded for its effect: yazl's CRC-32 then runs natively.
import './native-crc32.js';

/** One entry to add. */
export interface ZipEntry {
  name: string;
  size: number;
  comment: string;
  modifiedAt: Date;
  stream: Readable;
}

/** The finished archive. */
export interface ZipSummary {
  size: number;
  sha256: string;
}

export class ZipWriter {
  /** The archive's bytes; give it to exactly one consumer. */
  readonly output: Transform;

  private readonly zip = new ZipFile();
  private readonly hash = createHash('sha256');
  private size = 0;
  private current: Transform | undefined;

  constructor() {
    this.output = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.hash.update(chunk);
        this.size += chunk.length;
        callback(null, chunk);
      },
    });
    this.zip.outputStream.pipe(this.output);
    // The consumer gets a failure through its own read; without a listener here, destroying
    // the output before the consumer attached one would crash the process.
    this.output.on('error', () => undefined);
    this.zip.outputStream.on('error', (error) => this.destroy(error));
    // yazl reports a size mismatch or a failed entry stream on the ZipFile itself.
    (this.zip as unknown as NodeJS.EventEmitter).on('error', (error: Error) => this.destroy(error));
  }

  /**
   * Adds one entry, stored without compression, and resolves once yazl has read all of it.
   * `onBytes` is called with the size of each chunk read from the source.
   */
  async add(entry: ZipEntry, onBytes: (bytes: number) => void): Promise<void> {
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        onBytes(chunk.length);
        callback(null, chunk);
      },
    });
    entry.stream.on('error', (error) => counter.destroy(error));
    // `finished` below reports the counter's failure; this listener only prevents a crash.
    counter.on('error', () => undefined);
    entry.stream.pipe(counter);
    this.current = counter;

    try {
      // yazl throws at once on a name it rejects, such as an absolute path.
      this.zip.addReadStream(counter, entry.name, {
        size: entry.size,
        compress: false,
        mtime: entry.modifiedAt,
        fileComment: entry.comment,
      });
      await finished(counter, { readable: true, writable: true });
    } catch (error) {
      // The source may still hold a socket to S3; release it.
      entry.stream.destroy();
      throw error;
    } finally {
      this.current = undefined;
    }
  }

  /** Writes the central directory and closes `output`. */
  end(): void {
    this.zip.end();
  }

  /** Returns the archive's size and digest, which are final once `output` has ended. */
  summary(): ZipSummary {
    return { size: this.size, sha256: this.hash.copy().digest('hex') };
  }

  /** Stops the archive and the entry being read, so no pending await hangs. */
  destroy(error: Error): void {
    this.current?.destroy(error);
    this.output.destroy(error);
  }
}
