import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

const scripts = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  .scripts as Record<string, string>;

/** What every long-running process must load first, so the ESM loader hook is in place. */
const telemetryPreload = 'node --import tsx --import ./runtime/telemetry/register.ts ';

describe('process scripts', () => {
  it.each(['api', 'worker', 'local'])('%s preloads telemetry', (name) => {
    expect(scripts[name]?.startsWith(telemetryPreload)).toBe(true);
  });

  it.each([
    ['api', 'node'],
    ['worker', 'node --max-semi-space-size=2'],
  ])('%s:compiled runs the compiled entry point', (name, node) => {
    const expected =
      `${node} --import ./dist/runtime/telemetry/register.js dist/runtime/entry/${name}.js`;

    expect(scripts[`${name}:compiled`]).toBe(expected);
  });

  it('build compiles the sources into dist', () => {
    const config = JSON.parse(readFileSync(new URL('../tsconfig.build.json', import.meta.url), 'utf8'))
      .compilerOptions as Record<string, unknown>;

    expect(scripts.build).toBe('tsc -p tsconfig.build.json');
    expect(config.outDir).toBe('dist');
    expect(config.noEmit).toBe(false);
  });

  it('start runs the local script', () => {
    const start = readFileSync(new URL('./start.mjs', import.meta.url), 'utf8');

    expect(scripts.start).toBe('node scripts/start.mjs');
    expect(start).toContain('scripts.local');
  });
});
