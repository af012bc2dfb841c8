/** Safe zip entry names from user-supplied file names. */

/** Object metadata key that carries a source's original file name, URI-encoded UTF-8. */
export const fileNameMetadataKey = 'filename';

const maxNameBytes = 255;

/**
 * Turns a source's stored name into a relative zip path: no drive letter, no leading "/",
 * no "." or ".." segments, no control characters, at most 255 UTF-8 bytes per segment. Returns
 * `fallback` when nothing usable remains.
 */
export function safeEntryName(stored: string | undefined, fallback: string): string {
  if (stored === undefined) return fallback;

  const decoded = decodeMetadata(stored);
  const segments = decoded
    .replace(/\\/g, '/')
    .replace(/^[A-Za-z]:/, '')
    .split('/')
    .map((segment) => segment.replace(/[\u0000-\u001f\u007f]/g, '').trim())
    .filter((segment) => segment !== '' && segment !== '.' && segment !== '..')
    .map(truncateUtf8);

  return segments.length > 0 ? segments.join('/') : fallback;
}

/** Appends " (2)", " (3)" … before the extension until `name` is not in `taken`. */
export function uniqueEntryName(name: string, taken: Set<string>): string {
  let candidate = name;
  const dot = name.lastIndexOf('.');
  const hasExtension = dot > name.lastIndexOf('/') + 1;
  const stem = hasExtension ? name.slice(0, dot) : name;
  const extension = hasExtension ? name.slice(dot) : '';

  for (let copy = 2; taken.has(candidate); copy++) {
    candidate = `${stem} (${copy})${extension}`;
  }
  taken.add(candidate);

  return candidate;
}

function decodeMetadata(stored: string): string {
  try {
    return decodeURIComponent(stored);
  } catch {
    // A name written by another tool without URI encoding is used as it is.
    return stored;
  }
}

function truncateUtf8(segment: string): string {
  const bytes = Buffer.from(segment, 'utf8');
  if (bytes.length <= maxNameBytes) return segment;

  // Dropping a partial character at the cut leaves a U+FFFD, which is removed.
  return bytes.subarray(0, maxNameBytes).toString('utf8').replace(/\uFFFD+$/, '');
}
