/**
 * The file where a running local stack records the addresses of its parts, so that other
 * commands (such as `npm run export`) can reach them without settings of their own.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { type } from 'arktype';

const fileName = 'stack.json';

const stackFileSchema = type({
  apiUrl: 'string.url',
  redisUrl: 'string.url',
  s3: {
    endpoint: 'string.url',
    accessKeyId: 'string > 0',
    secretAccessKey: 'string > 0',
  },
  sourceBucket: 'string > 0',
  exportBucket: 'string > 0',
  sourceKeyTemplate: /\{file_id\}/,
  startedAt: 'string.date.iso',
});

/** Addresses of a running local stack. */
export interface StackFile {
  apiUrl: string;
  redisUrl: string;
  /** The emulator's endpoint and its fixed dummy credentials, never real ones. */
  s3: { endpoint: string; accessKeyId: string; secretAccessKey: string };
  sourceBucket: string;
  exportBucket: string;
  /** Source object key of a file id, with `{file_id}` standing for the id. */
  sourceKeyTemplate: string;
  /** ISO 8601 time at which the stack started. */
  startedAt: string;
}

/** Writes `<dir>/stack.json` with mode 0600, replacing any earlier file in one rename. */
export async function writeStackFile(dir: string, stack: StackFile): Promise<void> {
  await mkdir(dir, { recursive: true });

  const target = path.join(dir, fileName);
  const temporary = `${target}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(stack, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, target);
}

/**
 * Reads `<dir>/stack.json`. Returns null when there is none, and throws when it is not valid
 * JSON or lacks a field.
 */
export async function readStackFile(dir: string): Promise<StackFile | null> {
  const file = path.join(dir, fileName);
  let text: string;

  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }

  return parseStackFile(file, text);
}

function parseStackFile(file: string, text: string): StackFile {
  const restartHint = 'Stop the local stack and start it again to rewrite it.';
  let json: unknown;

  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`Invalid stack file ${file}: ${(error as Error).message}. ${restartHint}`);
  }

  const stack = stackFileSchema(json);
  if (stack instanceof type.errors) {
    throw new Error(`Invalid stack file ${file}:\n${stack.summary}\n${restartHint}`);
  }

  return stack;
}
