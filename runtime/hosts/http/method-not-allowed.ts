/** Finds the methods that a path accepts, so a wrong method gets 405 with Allow, not 404. */
import type { AnyHttpFunction } from '../../contract/define.js';

/** Returns the methods of every function with a path pattern matching `path`. */
export function allowedMethods(functions: readonly AnyHttpFunction[], path: string): string[] {
  const methods = new Set<string>();
  for (const fn of functions) {
    if (fn.paths.some((pattern) => patternToRegExp(pattern).test(path))) methods.add(fn.method);
  }
  if (methods.has('GET')) methods.add('HEAD');
  if (methods.size > 0) methods.add('OPTIONS');

  return [...methods];
}

function patternToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');

  return new RegExp(`^${escaped}$`);
}
