/**
 * The import rule: function files, and the contract they are written against, import no host
 * and no infrastructure, so they move to another host unchanged.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Packages that tie code to one host, queue, database or cloud SDK. */
const forbiddenPackages = [/^hono(\/|$)/, /^@hono\//, /^bullmq/, /^ioredis/, /^@aws-sdk\//, /^pino/];

/** Project folders that function files may import from, relative to the project root. */
const allowedFolders = ['functions/', 'runtime/contract/'];

/** The folders whose sources must stay free of hosts and infrastructure. */
export const checkedFolders = ['functions', 'runtime/contract'];

const importPattern = /(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Lists every import under `root`/`folder` that breaks the rules, skipping tests. */
export function findViolations(root: string, folder: string): string[] {
  const violations: string[] = [];
  for (const file of sourceFiles(join(root, folder))) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(importPattern)) {
      const specifier = match[1] ?? match[2] ?? '';
      const problem = checkSpecifier(root, file, specifier);
      if (problem) violations.push(`${relative(root, file)}: ${problem}`);
    }
  }

  return violations;
}

function checkSpecifier(root: string, file: string, specifier: string): string | undefined {
  if (forbiddenPackages.some((pattern) => pattern.test(specifier))) {
    return `imports "${specifier}", which belongs to a host or to infrastructure`;
  }
  if (!specifier.startsWith('.')) return undefined;

  const target = relative(root, join(file, '..', specifier));
  if (allowedFolders.some((folder) => target.startsWith(folder))) return undefined;

  return `imports "${specifier}" (${target}), outside ${allowedFolders.join(' and ')}`;
}

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .filter((entry) => !entry.name.endsWith('.test.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

