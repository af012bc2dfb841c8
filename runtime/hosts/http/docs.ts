/**
 * `/openapi.json` and a docs page that renders it with Swagger UI, whose files come from the
 * `swagger-ui-dist` package, so the page needs no network beyond the service.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import type { Context } from 'hono';

/** A GET route of the host that is not a function. */
export interface ExtraRoute {
  path: string;
  handler: (c: Context) => Response | Promise<Response>;
}

const assetTypes: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'init.js': 'text/javascript; charset=utf-8',
};

const page = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Export service API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="docs"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script></body>
</html>
`;

// A file of its own, so the page needs no inline script under a strict Content-Security-Policy.
// validatorUrl: null keeps Swagger UI from loading a badge from its public validator.
const init = `window.SwaggerUIBundle({ url: '/openapi.json', dom_id: '#docs', validatorUrl: null });\n`;

/** Returns the routes that serve `document` and its docs page. */
export function docsRoutes(document: object): ExtraRoute[] {
  const folder = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const json = JSON.stringify(document);

  return [
    { path: '/openapi.json', handler: (c) => c.body(json, 200, { 'Content-Type': 'application/json' }) },
    { path: '/docs', handler: (c) => c.html(page) },
    {
      path: '/docs/assets/:file',
      handler: async (c) => {
        const file = c.req.param('file') ?? '';
        const type = assetTypes[file];
        if (!type) return c.json({ error: { code: 'not_found', message: `No asset ${file}` } }, 404);

        const body = file === 'init.js' ? init : await readFile(path.join(folder, file));
        return c.body(body, 200, { 'Content-Type': type, 'Cache-Control': 'public, max-age=3600' });
      },
    },
  ];
}
