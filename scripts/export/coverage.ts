/** Checks that every requested file id is accounted for exactly once by the finished export. */

/**
 * Returns one sentence per accounting error. A requested id must be an entry or missing, but
 * not both. Entries and missing ids must have been requested, and no id may have two entries.
 */
export function checkCoverage(
  requestedIds: readonly number[],
  entryIds: readonly number[],
  missingFileIds: readonly number[],
): string[] {
  const requested = new Set(requestedIds);
  const entries = new Set(entryIds);
  const missing = new Set(missingFileIds);
  const problems: string[] = [];

  for (const id of requested) {
    if (!entries.has(id) && !missing.has(id)) {
      problems.push(`file ${id} has no zip entry and is not in missingFileIds`);
    }
    if (entries.has(id) && missing.has(id)) {
      problems.push(`file ${id} has a zip entry but is also in missingFileIds`);
    }
  }

  for (const id of entries) {
    if (!requested.has(id)) {
      problems.push(`the zip has an entry for file ${id}, which was not requested`);
    }
  }
  for (const id of missing) {
    if (!requested.has(id)) {
      problems.push(`missingFileIds lists file ${id}, which was not requested`);
    }
  }
  for (const id of duplicates(entryIds)) {
    problems.push(`the zip has more than one entry for file ${id}`);
  }

  return problems;
}

function duplicates(ids: readonly number[]): number[] {
  const seen = new Set<number>();
  const repeated = new Set<number>();

  for (const id of ids) {
    if (seen.has(id)) repeated.add(id);
    seen.add(id);
  }

  return [...repeated];
}
