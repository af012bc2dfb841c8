/** The export page: wires the API key, the source files, the exports list and the API together. */
import { createApi, issueReadToken } from './lib/api.js';
import { AuthSession } from './lib/auth-session.js';
import { ExportsView } from './views/exports-view.js';
import { FilesView } from './views/files-view.js';
import { KeyForm } from './views/key-form.js';

// The page lives at <prefix>/app/ and the API at <prefix>/v1/, behind the same nginx.
const baseUrl = new URL('../', document.baseURI).href;
const session = new AuthSession({
  issueToken: (key) => issueReadToken(baseUrl, key),
  keyPrompt: new KeyForm(),
});
const api = createApi(baseUrl, session);
const exportsView = new ExportsView(api, globalThis.EventSource, session);
const filesView = new FilesView(api, async (fileIds, idempotencyKey) => {
  const accepted = await api.createExport(fileIds, idempotencyKey);
  exportsView.addAccepted(accepted);
});

// Timers do not run while the computer sleeps, so a token may be due when the page is back.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') void session.ensureFreshToken();
});

document.body.dataset.ready = 'loading';
// The streams that the exports view opens need the read token, so it comes first.
await session.start();
await Promise.all([filesView.showPage(0), exportsView.start()]);
document.body.dataset.ready = 'true';
