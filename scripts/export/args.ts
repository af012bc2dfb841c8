/** Command-line parsing of `npm run export`, kept pure so tests pass plain argument arrays. */
import { parseArgs } from 'node:util';

/** The usage line printed with every argument error. */
export const usage = 'Usage: npm run export -- [--out FILE] [--api URL] FILE_ID [FILE_ID ...]';

/** The parsed command line. */
export interface ExportArguments {
  /** Ids in the order given, duplicates kept, because the service removes duplicates itself. */
  fileIds: number[];
  /** The path to keep the zip at. Unset means a temporary file that is deleted at the end. */
  outPath: string | undefined;
  /** The API base URL from `--api`, which takes precedence over config and the stack file. */
  apiUrl: string | undefined;
  help: boolean;
}

/** An invalid command line. The CLI prints the message and the usage line, then exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses the arguments after the script name and throws `UsageError` on invalid input. */
export function parseExportArguments(argv: readonly string[]): ExportArguments {
  const { values, positionals } = parseWithUsageErrors(argv);

  if (values.help) return { fileIds: [], outPath: undefined, apiUrl: undefined, help: true };

  if (positionals.length === 0) throw new UsageError('Missing file ids: give at least one.');

  return {
    fileIds: positionals.map(parseFileId),
    outPath: checkNonEmpty('--out', values.out),
    apiUrl: checkApiUrl(values.api),
    help: false,
  };
}

function parseWithUsageErrors(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        out: { type: 'string' },
        api: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    // node:util reports unknown options and missing option values as TypeErrors with a code.
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function parseFileId(text: string): number {
  const id = /^\d+$/.test(text) ? Number(text) : Number.NaN;

  if (!Number.isSafeInteger(id)) {
    throw new UsageError(`Invalid file id "${text}": expected a non-negative integer.`);
  }

  return id;
}

function checkNonEmpty(option: string, value: string | undefined): string | undefined {
  if (value === '') throw new UsageError(`Invalid ${option}: the value is empty.`);

  return value;
}

function checkApiUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;

  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UsageError(`Invalid --api "${value}": expected an http or https URL.`);
  }

  return value;
}
