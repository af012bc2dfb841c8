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
    .split('/')
    .map((segment) => segment.replace(/\p{Cc}/gu, '').trim())
    // A drive letter anywhere would become the leading segment once ".." is dropped.
    .map((segment) => segment.replace(/^[A-Za-z]:/, '').trim())
    .filter((segment) => segment !== '' && segment !== '.' && segment !== '..')
    .map((segment) => truncateUtf8(segment, maxNameBytes));

  return segments.length > 0 ? segments.join('/') : fallback;
}

/**
 * Appends " (2)", " (3)" … before the extension until `name` is not in `taken`, shortening
 * the last segment's stem so that it stays within 255 bytes.
 */
export function uniqueEntryName(name: string, taken: Set<string>): string {
  let candidate = name;
  const slash = name.lastIndexOf('/');
  const folder = name.slice(0, slash + 1);
  const base = name.slice(slash + 1);
  const dot = base.lastIndexOf('.');
  const stem = dot > 0 ? base.slice(0, dot) : base;
  const extension = dot > 0 ? base.slice(dot) : '';

  for (let copy = 2; taken.has(candidate); copy++) {
    const suffix = ` (${copy})${extension}`;
    const room = maxNameBytes - Buffer.byteLength(suffix, 'utf8');
    candidate = `${folder}${truncateUtf8(stem, room)}${suffix}`;
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

function truncateUtf8(segment: string, maxBytes: number): string {
  const bytes = Buffer.from(segment, 'utf8');
  if (bytes.length <= maxBytes) return segment;

  // Dropping a partial character at the cut leaves a U+FFFD, which is removed.
  return bytes.subarray(0, Math.max(0, maxBytes)).toString('utf8').replace(/\uFFFD+$/, '');
}
