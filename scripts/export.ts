/**
 * The `npm run export -- 70000 70001 …` command. It starts an export, shows its progress,
 * downloads the zip and compares every entry with its source object. It exits 0 when everything
 * matched, 1 when anything differed or failed, 2 on invalid arguments and 130 when interrupted.
 */
import { createS3Client } from '../infra/s3-client.js';
import { readStackFile } from '../infra/local/stack-file.js';
import { loadConfig } from '../runtime/config.js';
import { parseExportArguments, usage, UsageError, type ExportArguments } from './export/args.js';
import { createProgressView } from './export/progress.js';
import { runExport } from './export/run.js';
import { createS3SourceReader } from './export/s3-source.js';
import {
  resolveApiUrl,
  resolveSourceLocation,
  type SourceLocation,
} from './export/settings.js';

const help = `${usage}

Starts an export of the given file ids, follows its progress, downloads the zip and compares
each entry with its source object in S3.

Options:
  --out FILE   keep the zip at FILE (default: a temporary file, deleted at the end)
  --api URL    export API base URL (default: API_URL, else the local stack file, else
               http://127.0.0.1:3000)
  -h, --help   print this help

S3 settings come from S3_ENDPOINT and the other S3_* variables when S3_ENDPOINT is set, else
from the stack file that \`npm start\` writes to LOCAL_STACK_DIR (default .local).`;

async function main(argv: readonly string[]): Promise<number> {
  const args = parseExportArguments(argv);
  if (args.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }

  const config = loadConfig(process.env);
  // Reads the stack file only when S3_ENDPOINT is unset, so an invalid one cannot break a run
  // against other servers.
  const stack = config.s3.endpoint === undefined ? await readStackFile(config.localStackDir) : null;

  const location = resolveSourceLocation(config, stack);
  if (location === null) {
    process.stderr.write(
      `No S3 settings to verify the zip with: S3_ENDPOINT is unset and there is no stack file ` +
        `in ${config.localStackDir}. Set S3_ENDPOINT (with S3_ACCESS_KEY_ID and ` +
        `S3_SECRET_ACCESS_KEY), or start the local stack with \`npm start\`.\n`,
    );
    return 1;
  }

  const apiUrl = resolveApiUrl({ flag: args.apiUrl, config, defaults: loadConfig({}), stack });
  return runUntilInterrupted(args, apiUrl, location);
}

async function runUntilInterrupted(
  args: ExportArguments,
  apiUrl: string,
  location: SourceLocation,
): Promise<number> {
  const client = createS3Client(location.s3);
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('Interrupted')));

  try {
    return await runExport({
      apiUrl,
      fileIds: args.fileIds,
      outPath: args.outPath,
      readSource: createS3SourceReader(client, location, controller.signal),
      createView: () => createProgressView(process.stderr),
      print: (text) => process.stdout.write(`${text}\n`),
      signal: controller.signal,
    });
  } catch (error) {
    if (!controller.signal.aborted) throw error;

    process.stderr.write('Interrupted.\n');
    return 130;
  } finally {
    client.destroy();
  }
}

function report(error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\n${usage}\n`);
    return 2;
  }

  process.stderr.write(`${describeError(error)}\n`);
  return 1;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `Error: ${String(error)}`;

  // ApiError carries the API's stable code and, for invalid input, the field at fault.
  const { code, field } = error as { code?: unknown; field?: unknown };
  const prefix = typeof code === 'string' ? `${error.name} ${code}` : error.name;
  const suffix = typeof field === 'string' ? ` (field: ${field})` : '';

  return `${prefix}: ${error.message}${suffix}${describeCauses(error)}`;
}

/** Returns the messages of the cause chain, because "connection refused" is two levels down. */
function describeCauses(error: Error): string {
  let text = '';
  let cause = error.cause;

  for (let depth = 0; depth < 3 && cause instanceof Error; depth += 1) {
    text += `: ${cause.message}`;
    cause = cause.cause;
  }

  return text;
}

process.exitCode = await main(process.argv.slice(2)).catch(report);
