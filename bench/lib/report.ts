/** Figures, medians and the lines `npm run bench` prints for each figure. */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { benchDir } from './stack.js';

/** One run of a figure: the service's number, the baseline's, and the load average then. */
export interface Sample {
  service: number;
  baseline?: number;
  /** The machine's 1-minute load average when the run ended; other work shares the cores. */
  load: number;
}

/** A goal for a figure: a ratio to the baseline, or a bound on the service's own number. */
export type Target =
  | { kind: 'min-ratio'; ratio: number }
  | { kind: 'max-ratio'; ratio: number; maxService?: number }
  | { kind: 'max'; value: number }
  | { kind: 'min'; value: number };

/** One line of the results table. */
export interface Figure {
  name: string;
  unit: string;
  /** The baseline's name, when the figure has one. */
  baselineName?: string;
  samples: Sample[];
  target: Target;
  /** Facts that the numbers alone do not show, such as what was checked. */
  notes?: string[];
}

/** The medians of a figure and whether its target is met. */
export interface Summary {
  service: number;
  baseline: number | undefined;
  ratio: number | undefined;
  met: boolean;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;

  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Medians of the service's and the baseline's samples, and their ratio. */
export function summarize(figure: Figure): Summary {
  const service = median(figure.samples.map((sample) => sample.service));
  const baselines = figure.samples.flatMap((sample) =>
    sample.baseline === undefined ? [] : [sample.baseline],
  );
  const baseline = baselines.length > 0 ? median(baselines) : undefined;
  const ratio = baseline === undefined ? undefined : service / baseline;

  return { service, baseline, ratio, met: isMet(figure.target, service, ratio) };
}

function isMet(target: Target, service: number, ratio: number | undefined): boolean {
  switch (target.kind) {
    case 'min-ratio':
      return ratio !== undefined && ratio >= target.ratio;
    case 'max-ratio':
      return (
        ratio !== undefined && ratio <= target.ratio && service <= (target.maxService ?? Infinity)
      );
    case 'max':
      return service <= target.value;
    case 'min':
      return service >= target.value;
  }
}

export function describeTarget(target: Target, unit: string): string {
  switch (target.kind) {
    case 'min-ratio':
      return `>= ${target.ratio} x`;
    case 'max-ratio': {
      const bound = target.maxService === undefined ? '' : ` and <= ${target.maxService} ${unit}`;
      return `<= ${target.ratio} x${bound}`;
    }
    case 'max':
      return `<= ${target.value} ${unit}`;
    case 'min':
      return `>= ${target.value} ${unit}`;
  }
}

/** Formats a figure as the lines `npm run bench` prints. */
export function formatFigure(figure: Figure): string {
  const summary = summarize(figure);
  const loads = figure.samples.map((sample) => sample.load);
  const loadRange = `${Math.min(...loads).toFixed(1)} to ${Math.max(...loads).toFixed(1)}`;
  const lines = [
    `${figure.name}`,
    `  service   ${round(summary.service)} ${figure.unit} (median of ${figure.samples.length})`,
  ];
  if (summary.baseline !== undefined) {
    lines.push(
      `  baseline  ${round(summary.baseline)} ${figure.unit} (${figure.baselineName ?? 'baseline'})`,
    );
  }
  if (summary.ratio !== undefined) lines.push(`  ratio     ${summary.ratio.toFixed(2)}`);
  lines.push(
    `  target    ${describeTarget(figure.target, figure.unit)}: ${summary.met ? 'met' : 'MISSED'}`,
    `  runs      ${figure.samples.map(formatSample).join('; ')}`,
    `  load      1-min load average ${loadRange} on ${os.cpus().length} cores`,
    ...(figure.notes ?? []).map((note) => `  note      ${note}`),
  );

  return lines.join('\n');
}

function formatSample(sample: Sample): string {
  if (sample.baseline === undefined) return round(sample.service);

  const ratio = (sample.service / sample.baseline).toFixed(2);
  return `${round(sample.service)} vs ${round(sample.baseline)} (${ratio})`;
}

function round(value: number): string {
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toPrecision(3);
}

/** Returns the machine's 1-minute load average. */
export function loadNow(): number {
  return os.loadavg()[0] ?? 0;
}

/** Writes the figures of one benchmark as JSON under `.local/bench/results/`. */
export async function saveFigures(benchmark: string, figures: Figure[]): Promise<string> {
  const dir = path.join(benchDir, 'results');
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(dir, `${benchmark}-${stamp}.json`);
  const summaries = figures.map((figure) => ({ ...figure, summary: summarize(figure) }));
  await writeFile(file, `${JSON.stringify(summaries, null, 2)}\n`);

  return file;
}
