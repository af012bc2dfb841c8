/** Human-readable sizes, durations and rates for the CLI output. */

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** Formats a byte count with binary units, for example `1.5 MiB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;

  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }

  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Formats milliseconds as seconds with one decimal, for example `2.3 s`. */
export function formatSeconds(milliseconds: number): string {
  return `${(milliseconds / 1000).toFixed(1)} s`;
}

/** Formats a throughput in MB/s, where 1 MB is 10^6 bytes, or `-` when no time passed. */
export function formatRate(bytes: number, milliseconds: number): string {
  if (milliseconds <= 0) return '-';

  return `${(bytes / 1e6 / (milliseconds / 1000)).toFixed(2)} MB/s`;
}
