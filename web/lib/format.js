/** Text for byte counts and durations, as the page shows them. */

const byteUnits = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];

/** Formats `bytes` with binary units: `512 bytes`, `1.2 MiB`. */
export function formatBytes(bytes) {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < byteUnits.length - 1) {
    value /= 1024;
    unit += 1;
  }

  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${byteUnits[unit]}`;
}

/** Formats a time left in seconds, rounded up: `5 s`, `2 min 10 s`, `1 h 5 min`. */
export function formatDuration(seconds) {
  const total = Math.max(1, Math.ceil(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = total % 60;

  if (hours > 0) return minutes > 0 ? `${hours} h ${minutes} min` : `${hours} h`;
  if (minutes > 0) return rest > 0 ? `${minutes} min ${rest} s` : `${minutes} min`;
  return `${rest} s`;
}

/** Returns the first 8 characters of an export id, enough to tell exports apart on a page. */
export function shortId(jobId) {
  return jobId.slice(0, 8);
}
