/**
 * The source files: a paged table with a checkbox per file, "select all" for the page and for
 * every page, and the button that exports the selection. The selection survives paging.
 */
import { formatBytes } from '../lib/format.js';
import { newIdempotencyKey } from '../lib/idempotency-key.js';
import { announce, element, isEnabled, setEnabled, showError } from './dom.js';

const pageSize = 20;
/** The API's largest page, used when selecting every file. */
const maxPageSize = 100;
/** The API accepts 1 to 1,000 file ids per export. */
export const maxFilesPerExport = 1000;

export class FilesView {
  #api;
  #onExport;
  #elements;
  /** Selected files by id, with their sizes for the summary. */
  #selected = new Map();
  #files = [];
  /** The cursor of each page seen so far; the first page has none. */
  #cursors = [undefined];
  #pageIndex = 0;
  #nextCursor = null;
  /** True while a POST /v1/export is in flight, so a second click starts no second export. */
  #exporting = false;
  /**
   * The file ids and Idempotency-Key of the last export request that got no 202. A click that
   * sends the same ids again reuses the key, so that a request whose response was lost
   * returns the export that it started instead of starting a second one.
   */
  #failedRequest;

  /**
   * `onExport(fileIds, idempotencyKey)` starts an export and resolves once the API has
   * accepted it.
   */
  constructor(api, onExport) {
    this.#api = api;
    this.#onExport = onExport;
    this.#elements = findElements();
    this.#bindEvents();
  }

  /** Loads and shows page `index` (0 for the first), whose cursor must be known. */
  async showPage(index) {
    const { body, previous, next } = this.#elements;
    body.setAttribute('aria-busy', 'true');
    setEnabled(previous, false);
    setEnabled(next, false);

    try {
      const page = await this.#api.listFiles(this.#cursors[index], pageSize);
      this.#files = page.files;
      this.#pageIndex = index;
      this.#nextCursor = page.nextCursor;
      this.#cursors[index + 1] = page.nextCursor ?? undefined;
      showError('files', '');
    } catch (error) {
      showError('files', `The source files could not be loaded: ${error.message}`);
    } finally {
      body.removeAttribute('aria-busy');
      this.#render();
    }
  }

  #bindEvents() {
    const { previous, next, selectPage, selectAll, clear, exportButton } = this.#elements;
    onClick(previous, () => this.showPage(this.#pageIndex - 1));
    onClick(next, () => this.showPage(this.#pageIndex + 1));
    selectPage.addEventListener('change', () => this.#selectPage(selectPage.checked));
    onClick(selectAll, () => this.#selectEveryFile());
    onClick(clear, () => {
      this.#selected.clear();
      this.#render();
      announce('Selection cleared.');
    });
    onClick(exportButton, () => this.#export());
  }

  #render() {
    const { body, previous, next, pageLabel } = this.#elements;
    body.replaceChildren(...this.#files.map((file) => this.#row(file)));
    if (this.#files.length === 0) body.append(emptyRow());

    setEnabled(previous, this.#pageIndex > 0);
    setEnabled(next, this.#nextCursor !== null);
    pageLabel.textContent = `Page ${this.#pageIndex + 1}`;
    this.#renderSelection();
  }

  #row(file) {
    const checkboxId = `file-${file.fileId}`;
    const checkbox = element('input', {
      type: 'checkbox',
      id: checkboxId,
      value: String(file.fileId),
      checked: this.#selected.has(file.fileId),
    });
    checkbox.addEventListener('change', () => {
      if (checkbox.checked) this.#selected.set(file.fileId, file.size);
      else this.#selected.delete(file.fileId);
      this.#renderSelection();
    });
    const label = element('label', { for: checkboxId, text: file.name });

    return element(
      'tr',
      {},
      element('td', { className: 'select' }, checkbox),
      element('td', { className: 'name' }, label),
      element('td', { className: 'number', text: String(file.fileId) }),
      element('td', { className: 'number', text: formatBytes(file.size) }),
    );
  }

  #renderSelection() {
    const { selectPage, summary, exportButton, clear } = this.#elements;
    const onPage = this.#files.filter((file) => this.#selected.has(file.fileId)).length;
    selectPage.checked = onPage > 0 && onPage === this.#files.length;
    selectPage.indeterminate = onPage > 0 && onPage < this.#files.length;

    const count = this.#selected.size;
    const bytes = [...this.#selected.values()].reduce((sum, size) => sum + size, 0);
    summary.textContent =
      count === 0 ? 'No files selected.' : `${count} selected, ${formatBytes(bytes)} in all.`;
    setEnabled(exportButton, count > 0 && !this.#exporting);
    setEnabled(clear, count > 0);
  }

  #selectPage(checked) {
    for (const file of this.#files) {
      if (checked) this.#selected.set(file.fileId, file.size);
      else this.#selected.delete(file.fileId);
    }
    this.#render();
  }

  /** Pages through every source file and selects each, up to the limit of one export. */
  async #selectEveryFile() {
    const button = this.#elements.selectAll;
    setEnabled(button, false);
    let cursor;

    try {
      do {
        const page = await this.#api.listFiles(cursor, maxPageSize);
        for (const file of page.files) this.#selected.set(file.fileId, file.size);
        cursor = page.nextCursor;
      } while (cursor && this.#selected.size < maxFilesPerExport);
      announce(`${this.#selected.size} files selected.`);
      showError('files', '');
    } catch (error) {
      showError('files', `Not every file could be selected: ${error.message}`);
    } finally {
      setEnabled(button, true);
      this.#render();
    }
  }

  async #export() {
    const fileIds = [...this.#selected.keys()];
    if (fileIds.length > maxFilesPerExport) {
      const limit = `One export takes at most ${maxFilesPerExport} files`;
      showError('export', `${limit}, and ${fileIds.length} are selected.`);
      return;
    }

    this.#exporting = true;
    this.#renderSelection();
    try {
      await this.#onExport(fileIds, this.#idempotencyKeyFor(fileIds));
      this.#failedRequest = undefined;
      showError('export', '');
    } catch (error) {
      showError('export', `The export could not be started: ${error.message}`);
    } finally {
      this.#exporting = false;
      this.#renderSelection();
    }
  }

  /** Returns the key of the failed request for the same ids, or a new one. */
  #idempotencyKeyFor(fileIds) {
    const ids = fileIds.join(',');
    if (this.#failedRequest?.ids !== ids) this.#failedRequest = { ids, key: newIdempotencyKey() };

    return this.#failedRequest.key;
  }
}

function findElements() {
  const byId = (id) => document.getElementById(id);

  return {
    body: byId('files-body'),
    previous: byId('files-previous'),
    next: byId('files-next'),
    pageLabel: byId('files-page'),
    selectPage: byId('select-page'),
    selectAll: byId('select-all'),
    clear: byId('clear-selection'),
    summary: byId('selection-summary'),
    exportButton: byId('export-button'),
  };
}

function emptyRow() {
  const cell = element('td', { colspan: '4', text: 'No source files.' });
  return element('tr', {}, cell);
}

/** Runs `handler` on clicks while `button` is enabled (see `setEnabled`). */
function onClick(button, handler) {
  button.addEventListener('click', () => {
    if (isEnabled(button)) void handler();
  });
}
