/** The closing report of the CLI, with what was verified, each phase's time and what differed. */
import { formatBytes, formatRate, formatSeconds } from './format.js';
import type { VerifyReport } from './verify.js';

/** Phase durations in milliseconds. */
export interface PhaseTimings {
  /** From the POST until the terminal frame. */
  exportMs: number;
  downloadMs: number;
  verifyMs: number;
  totalMs: number;
}

/** The inputs of `formatSummary`. */
export interface SummaryInput {
  jobId: string;
  requestedIds: readonly number[];
  missingFileIds: readonly number[];
  zipSize: number;
  /** The path the zip was kept at, or undefined when the temporary copy was deleted. */
  keptPath: string | undefined;
  report: VerifyReport;
  timings: PhaseTimings;
  /** Every difference found, from the zip digest check and from verification. */
  problems: readonly string[];
}

/** Formats the summary as aligned label and value rows, then the verdict and each problem. */
export function formatSummary(input: SummaryInput): string {
  const { report, timings } = input;
  const distinct = new Set(input.requestedIds).size;
  const missing = input.missingFileIds.length > 0 ? input.missingFileIds.join(', ') : 'none';

  const rows: [string, string][] = [
    ['job', input.jobId],
    ['requested ids', `${distinct} distinct`],
    ['entries verified', `${report.verifiedEntries} of ${report.entries.length}`],
    ['bytes verified', formatBytes(report.verifiedBytes)],
    ['missing ids', missing],
    ['zip', `${formatBytes(input.zipSize)}, ${input.keptPath ?? 'temporary file deleted'}`],
    ['export', formatSeconds(timings.exportMs)],
    ['download', phase(timings.downloadMs, input.zipSize)],
    ['verify', phase(timings.verifyMs, report.verifiedBytes)],
    ['total', formatSeconds(timings.totalMs)],
  ];

  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`);

  return [...lines, '', ...verdict(input.problems)].join('\n');
}

function phase(milliseconds: number, bytes: number): string {
  return `${formatSeconds(milliseconds)}, ${formatRate(bytes, milliseconds)}`;
}

function verdict(problems: readonly string[]): string[] {
  if (problems.length === 0) return ['Verification passed: every entry matched its source.'];

  const heading = `Verification failed with ${problems.length} problem(s):`;
  return [heading, ...problems.map((problem) => `  - ${problem}`)];
}
