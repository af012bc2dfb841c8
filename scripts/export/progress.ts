/**
 * Shows export progress as a cli-progress bar on a terminal. Elsewhere (CI logs, pipes) a
 * redrawn bar would be noise, so it prints one line per change of status or finished file.
 */
import cliProgress from 'cli-progress';

import type { ExportSnapshot } from '../../functions/lib/snapshot.js';
import { formatBytes } from './format.js';

/** The output for progress and notices while an export runs. */
export interface ProgressView {
  update(snapshot: ExportSnapshot): void;
  /** Prints a line (a reconnect, a fallback) without breaking the bar. */
  notice(message: string): void;
  stop(): void;
}

/** Creates the bar view on a terminal and the line view otherwise. */
export function createProgressView(stream: NodeJS.WriteStream = process.stderr): ProgressView {
  return stream.isTTY ? createBarView(stream) : createLineView(stream);
}

/** Returns the bar payload of a snapshot: status, files, bytes and percent as text. */
export function describeProgress(snapshot: ExportSnapshot): Record<string, string> {
  const { progress } = snapshot;

  return {
    status: snapshot.status,
    files: `${progress.filesDone}/${progress.filesTotal} files`,
    bytes: `${formatBytes(progress.bytesDone)}/${formatBytes(progress.bytesTotal)}`,
    percent: `${clampPercent(progress.percent).toFixed(1)}%`,
  };
}

function createBarView(stream: NodeJS.WriteStream): ProgressView {
  const bars = new cliProgress.MultiBar(
    {
      stream,
      format: 'Export |{bar}| {percent} | {files} | {bytes} | {status}',
      hideCursor: true,
      // The CLI stops the bar itself on Ctrl-C, after aborting its requests.
      gracefulExit: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = bars.create(100, 0, { status: 'queued', files: '', bytes: '', percent: '0.0%' });

  return {
    update: (snapshot) => {
      bar.update(clampPercent(snapshot.progress.percent), describeProgress(snapshot));
    },
    notice: (message) => bars.log(`${message}\n`),
    stop: () => bars.stop(),
  };
}

function createLineView(stream: NodeJS.WriteStream): ProgressView {
  let lastKey = '';

  return {
    update: (snapshot) => {
      const { status, files, bytes, percent } = describeProgress(snapshot);
      const line = `Export ${status}: ${files}, ${bytes} (${percent})`;

      // Byte counts change on every frame, so only file and status changes print a line.
      const key = `${status} ${files}`;
      if (key !== lastKey) stream.write(`${line}\n`);
      lastKey = key;
    },
    notice: (message) => stream.write(`${message}\n`),
    stop: () => {},
  };
}

function clampPercent(percent: number): number {
  return Math.min(100, Math.max(0, Number.isFinite(percent) ? percent : 0));
}
