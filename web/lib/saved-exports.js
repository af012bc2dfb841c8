/**
 * Ids of the exports this browser started and has not seen end, in localStorage, so that a
 * reload follows them again even when they are no longer on the first page of the list.
 */

const storageKey = 'export-service.followed-exports';
/** The API follows at most 50 exports on one stream. */
const maxSaved = 50;

/** Returns the saved ids, newest first; an empty list when storage is unavailable. */
export function loadSavedExports() {
  try {
    const ids = JSON.parse(localStorage.getItem(storageKey) ?? '[]');
    return Array.isArray(ids) ? ids.filter((id) => typeof id === 'string') : [];
  } catch {
    return [];
  }
}

/** Saves `jobId` first in the list. */
export function saveExport(jobId) {
  const ids = [jobId, ...loadSavedExports().filter((id) => id !== jobId)];
  store(ids.slice(0, maxSaved));
}

/** Removes `jobId`, as when its export has ended or no longer exists. */
export function forgetExport(jobId) {
  const ids = loadSavedExports();
  if (ids.includes(jobId)) store(ids.filter((id) => id !== jobId));
}

function store(ids) {
  try {
    localStorage.setItem(storageKey, JSON.stringify(ids));
  } catch {
    // Storage may be full or blocked; the exports list still shows the newest exports.
  }
}
