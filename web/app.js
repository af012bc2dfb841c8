/** The export page: wires the source files, the exports list and the API client together. */
import { createApi } from './lib/api.js';
import { ExportsView } from './views/exports-view.js';
import { FilesView } from './views/files-view.js';

// The page lives at <prefix>/app/ and the API at <prefix>/v1/, behind the same nginx.
const api = createApi(new URL('../', document.baseURI).href);
const exportsView = new ExportsView(api, globalThis.EventSource);
const filesView = new FilesView(api, async (fileIds) => {
  const accepted = await api.createExport(fileIds);
  exportsView.addAccepted(accepted);
});

document.body.dataset.ready = 'loading';
await Promise.all([filesView.showPage(0), exportsView.start()]);
document.body.dataset.ready = 'true';
