import { Readable } from 'node:stream';

import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';

import { type MultipartUploadOptions, uploadMultipart } from './multipart-upload.js';

const partSize = 1024;

/** A call that reached the client: the command's name, its input and the part's bytes. */
interface SentCommand {
  name: string;
  input: Record<string, unknown>;
  body?: Buffer;
}

/**
 * Returns a real S3Client whose `send` records each command and returns a response from memory
 * instead of calling S3. `fail` is the part number whose upload rejects.
 */
function recordingClient(fail?: number) {
  const client = new S3Client({ region: 'us-east-1' });
  const sent: SentCommand[] = [];
  let inFlight = 0;
  let maxInFlight = 0;

  const send = async (command: { constructor: { name: string }; input: object }) => {
    const input = command.input as Record<string, unknown>;
    // A copy, because the uploader reuses the part's buffer once the call has resolved.
    const body = input.Body instanceof Buffer ? Buffer.from(input.Body) : undefined;
    const name = command.constructor.name;
    sent.push({ name, input, ...(body ? { body } : {}) });
    if (name === 'CreateMultipartUploadCommand') return { UploadId: 'u1' };
    if (name !== 'UploadPartCommand') return {};

    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 5));
    inFlight -= 1;
    if (input.PartNumber === fail) throw new Error(`part ${fail} failed`);

    return { ETag: `"etag-${String(input.PartNumber)}"` };
  };
  (client as unknown as { send: typeof send }).send = send;

  return { client, sent, maxInFlight: () => maxInFlight };
}

function options(client: S3Client, partsInFlight: number): MultipartUploadOptions {
  return {
    client,
    bucket: 'exports',
    key: 'a.zip',
    contentType: 'application/zip',
    partSizeBytes: partSize,
    partsInFlight,
    signal: new AbortController().signal,
  };
}

/** Returns `size` bytes that differ from part to part, as chunks of `chunkSize`. */
function body(size: number, chunkSize: number): { bytes: Buffer; stream: Readable } {
  const bytes = Buffer.alloc(size);
  for (let index = 0; index < size; index++) bytes[index] = index % 251;
  const chunks: Buffer[] = [];
  for (let start = 0; start < size; start += chunkSize) {
    chunks.push(bytes.subarray(start, start + chunkSize));
  }

  return { bytes, stream: Readable.from(chunks) };
}

describe('uploadMultipart', () => {
  it('uploads every part and completes in order', async () => {
    const { client, sent } = recordingClient();
    const { bytes, stream } = body(partSize * 4 + 100, 300);

    await uploadMultipart(stream, options(client, 2));

    const parts = sent.filter((command) => command.name === 'UploadPartCommand');
    const complete = sent.find((command) => command.name === 'CompleteMultipartUploadCommand');
    expect(sent[0]?.name).toBe('CreateMultipartUploadCommand');
    expect(parts.map((part) => part.body?.length)).toEqual([1024, 1024, 1024, 1024, 100]);
    expect(Buffer.concat(parts.map((part) => part.body!))).toEqual(bytes);
    expect(complete?.input.MultipartUpload).toEqual({
      Parts: [1, 2, 3, 4, 5].map((number) => ({ PartNumber: number, ETag: `"etag-${number}"` })),
    });
  });

  it('keeps at most partsInFlight parts in flight', async () => {
    const { client, maxInFlight } = recordingClient();

    await uploadMultipart(body(partSize * 10, 512).stream, options(client, 3));

    expect(maxInFlight()).toBe(3);
  });

  it('reports the upload id before any part', async () => {
    const { client, sent } = recordingClient();
    const reported: Array<[string, number]> = [];
    const settings = {
      ...options(client, 2),
      onUploadStarted: async (uploadId: string) => void reported.push([uploadId, sent.length]),
    };

    await uploadMultipart(body(partSize * 3, 700).stream, settings);

    expect(reported).toEqual([['u1', 1]]);
  });

  it('sends a body of one part as one PutObject', async () => {
    const { client, sent } = recordingClient();
    const { bytes, stream } = body(partSize, 100);

    await uploadMultipart(stream, options(client, 2));

    expect(sent.map((command) => command.name)).toEqual(['PutObjectCommand']);
    expect(sent[0]?.body).toEqual(bytes);
  });

  it('sends an empty body as an empty PutObject', async () => {
    const { client, sent } = recordingClient();

    await uploadMultipart(Readable.from([]), options(client, 2));

    expect(sent.map((command) => command.name)).toEqual(['PutObjectCommand']);
    expect(sent[0]?.input.Body).toHaveLength(0);
  });

  it('aborts the upload when a part fails', async () => {
    const { client, sent } = recordingClient(2);

    const upload = uploadMultipart(body(partSize * 6, 512).stream, options(client, 2));

    await expect(upload).rejects.toThrow('part 2 failed');
    const names = sent.map((command) => command.name);
    expect(names.at(-1)).toBe('AbortMultipartUploadCommand');
    expect(names).not.toContain('CompleteMultipartUploadCommand');
  });

  it('aborts the upload when the body fails', async () => {
    const { client, sent } = recordingClient();
    const failing = Readable.from(
      (async function* () {
        yield Buffer.alloc(partSize * 2);
        throw new Error('source failed');
      })(),
    );

    await expect(uploadMultipart(failing, options(client, 2))).rejects.toThrow('source failed');
    expect(sent.map((command) => command.name).at(-1)).toBe('AbortMultipartUploadCommand');
  });
});
