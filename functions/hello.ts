/** GET /: the older service's greeting, kept because its clients probe it. */
import { type } from 'arktype';

import { defineHttp } from '../runtime/contract/define.js';

export type HelloDeps = Record<string, never>;

export const hello = defineHttp({
  name: 'hello',
  method: 'GET',
  paths: ['/'],
  input: type({}),
  access: 'public',
  async handler() {
    return { status: 200, body: { message: 'Hello Hono!' } };
  },
});
