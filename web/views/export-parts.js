/** The elements of one export in the list, and how a snapshot is drawn into them. */
import { formatBytes, formatDuration, shortId } from '../lib/format.js';
import { element, setVisible } from './dom.js';

const statusLabels = {
  queued: 'Queued',
  processing: 'In progress',
  completed: 'Ready',
  failed: 'Failed',
  cancelled: 'Cancelled',
  expired: 'Expired',
};

/** Statuses in which an export can still be cancelled. */
const activeStatuses = new Set(['queued', 'processing']);

/** Notes for the statuses in which an export ended without a zip to download. */
const endNotes = {
  cancelled: 'The export was cancelled.',
  expired: 'The zip was deleted after its retention period.',
};

/** Builds the list item of export `jobId` and returns it with the parts that change. */
export function buildExportParts(jobId) {
  const id = `export-${jobId}`;
  const name = `export ${shortId(jobId)}`;
  const title = element('h3', {
    id: `${id}-title`,
    tabindex: '-1',
    text: `Export ${shortId(jobId)}`,
  });
  const status = element('span', { className: 'status' });
  const created = element('time', { className: 'created' });
  const header = element('div', { className: 'export-header' }, title, status, created);

  const label = element('label', {
    for: `${id}-progress`,
    className: 'visually-hidden',
    text: `Progress of ${name}`,
  });
  const details = element('p', { id: `${id}-details`, className: 'details' });
  const progress = element('progress', {
    id: `${id}-progress`,
    max: '100',
    'aria-describedby': details.id,
  });
  const attempt = element('p', { className: 'attempt', hidden: true });
  const missing = element('p', { className: 'missing', hidden: true });
  const error = element('p', { className: 'error', hidden: true });
  const ended = element('p', { className: 'ended', hidden: true });

  const download = element('a', { className: 'button download', hidden: true });
  const retry = actionButton('retry', 'Retry', name);
  const cancel = actionButton('cancel', 'Cancel', name);
  const retried = element('p', { className: 'retried', hidden: true });
  const zipName = element('p', { className: 'zip-name', hidden: true });
  const actions = element(
    'div',
    { className: 'actions' },
    ...[download, retry, cancel, retried, zipName],
  );

  const article = element(
    'article',
    { 'aria-labelledby': title.id },
    ...[header, label, progress, details, attempt, missing, error, ended, actions],
  );
  const item = element('li', { className: 'export', dataset: { jobId } }, article);

  return {
    ...{ item, title, status, created, progress, details, attempt, missing, error, ended },
    ...{ download, retry, cancel, retried, zipName },
  };
}

/** Builds a hidden button whose words for screen readers end with the export's name. */
function actionButton(className, text, exportName) {
  const button = element('button', { type: 'button', className, hidden: true });
  button.append(text, element('span', { className: 'visually-hidden', text: ` ${exportName}` }));

  return button;
}

/**
 * Draws `snapshot` into `parts`. `secondsLeft` is the estimate of the time left, or undefined
 * when unknown, and `downloadUrl` the link of a completed export's zip.
 */
export function renderExport(parts, snapshot, { secondsLeft, downloadUrl }) {
  parts.item.dataset.status = snapshot.status;
  parts.status.textContent = statusLabels[snapshot.status] ?? snapshot.status;
  parts.status.className = `status status-${snapshot.status}`;
  parts.created.dateTime = snapshot.createdAt;
  parts.created.textContent = formatTime(snapshot.createdAt);

  renderProgress(parts.progress, snapshot);
  parts.details.textContent = describeProgress(snapshot, secondsLeft);
  setVisible(parts.details, parts.details.textContent !== '');
  renderAttempt(parts.attempt, snapshot);
  renderMissing(parts.missing, snapshot.missingFileIds ?? []);
  renderOutcome(parts, snapshot, downloadUrl);
}

function renderProgress(progressBar, snapshot) {
  // A queued export shows an indeterminate bar, because nothing has been read yet.
  if (snapshot.status === 'queued' || !snapshot.progress) {
    progressBar.removeAttribute('value');
    progressBar.textContent = 'Waiting to start';
    return;
  }

  const percent = percentOf(snapshot);
  progressBar.value = percent;
  progressBar.textContent = `${percent}%`;
}

function describeProgress(snapshot, secondsLeft) {
  const progress = snapshot.progress;
  if (!progress) return 'Waiting for the first update.';
  if (snapshot.status === 'queued' && progress.bytesDone === 0) {
    return `Waiting to start. ${plural(progress.filesTotal, 'file')} requested.`;
  }
  // An export whose files were all missing read nothing, and the line of missing ids explains it.
  if (progress.filesTotal === 0) return '';

  const parts = [
    `${percentOf(snapshot)}%`,
    `${progress.filesDone} of ${plural(progress.filesTotal, 'file')}`,
    `${formatBytes(progress.bytesDone)} of ${formatBytes(progress.bytesTotal)}`,
  ];
  if (secondsLeft !== undefined) parts.push(`about ${formatDuration(secondsLeft)} left`);

  return parts.join(' · ');
}

/**
 * Returns the percentage to show: 100 once completed, and 0 when no file existed, where the
 * API reports 100 for nothing left to read.
 */
function percentOf(snapshot) {
  if (snapshot.status === 'completed') return 100;

  return snapshot.progress.filesTotal === 0 ? 0 : snapshot.progress.percent;
}

function renderAttempt(node, snapshot) {
  const lines = [];
  if (snapshot.attempt > 1) lines.push(`Attempt ${snapshot.attempt} of ${snapshot.maxAttempts}.`);
  if (snapshot.status === 'queued' && snapshot.lastError) {
    lines.push(`The last attempt failed (${snapshot.lastError.message}), so it runs again.`);
  }

  node.textContent = lines.join(' ');
  setVisible(node, lines.length > 0);
}

function renderMissing(node, missingFileIds) {
  const count = missingFileIds.length;
  const ids = missingFileIds.join(', ');
  node.textContent = `${plural(count, 'file')} not found, so left out: ${ids}`;
  setVisible(node, count > 0);
}

function renderOutcome(parts, snapshot, downloadUrl) {
  const completed = snapshot.status === 'completed';
  const failed = snapshot.status === 'failed';

  if (completed) renderDownload(parts, snapshot, downloadUrl);
  setVisible(parts.download, completed);
  setVisible(parts.zipName, completed && Boolean(snapshot.zip));

  const reason = snapshot.error?.message ?? 'the service gave no reason.';
  parts.error.textContent = failed ? `Export failed: ${reason}` : '';
  setVisible(parts.error, failed);
  const note = endNotes[snapshot.status];
  parts.ended.textContent = note ?? '';
  setVisible(parts.ended, note !== undefined);

  setVisible(parts.retry, failed && parts.retried.hidden);
  setVisible(parts.cancel, activeStatuses.has(snapshot.status));
}

function renderDownload(parts, snapshot, downloadUrl) {
  const zip = snapshot.zip;
  const size = zip ? ` (${formatBytes(zip.size)})` : '';
  // The hidden words tell download links apart when a screen reader lists every link.
  const exportName = element('span', {
    className: 'visually-hidden',
    text: ` export ${shortId(snapshot.jobId)}`,
  });
  parts.download.href = downloadUrl;
  parts.download.replaceChildren('Download', exportName, size);
  parts.zipName.textContent = zip?.fileName ?? '';
}

function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function formatTime(iso) {
  const date = new Date(iso);
  const sameDay = date.toDateString() === new Date().toDateString();
  const options = sameDay
    ? { hour: '2-digit', minute: '2-digit' }
    : { dateStyle: 'medium', timeStyle: 'short' };

  return date.toLocaleString(undefined, options);
}
