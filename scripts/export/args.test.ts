import { describe, expect, it } from 'vitest';

import { parseExportArguments, UsageError } from './args.js';

describe('parseExportArguments', () => {
  it('parses ids in order with duplicates', () => {
    const parsed = parseExportArguments(['70000', '70007', '70000']);

    expect(parsed.fileIds).toEqual([70000, 70007, 70000]);
    expect(parsed.outPath).toBeUndefined();
    expect(parsed.apiUrl).toBeUndefined();
    expect(parsed.help).toBe(false);
  });

  it('parses --out and --api around ids', () => {
    const parsed = parseExportArguments([
      '--out',
      'result.zip',
      '70000',
      '--api=http://127.0.0.1:4000',
      '70001',
    ]);

    expect(parsed.fileIds).toEqual([70000, 70001]);
    expect(parsed.outPath).toBe('result.zip');
    expect(parsed.apiUrl).toBe('http://127.0.0.1:4000');
  });

  it('accepts ids after a -- separator', () => {
    expect(parseExportArguments(['--', '1', '2']).fileIds).toEqual([1, 2]);
  });

  it('returns help without ids', () => {
    expect(parseExportArguments(['--help']).help).toBe(true);
    expect(parseExportArguments(['-h']).help).toBe(true);
  });

  it.each([
    ['no ids', []],
    ['a decimal id', ['1.5']],
    ['a word', ['abc']],
    ['an id with a suffix', ['70000x']],
    ['an exponent', ['7e4']],
    ['a negative id', ['-5']],
    ['an id past the safe integer range', ['9007199254740993']],
    ['an empty id', ['']],
    ['an unknown option', ['--verbose', '1']],
    ['--out without a value', ['1', '--out']],
    ['an empty --out', ['--out=', '1']],
    ['a non-http --api', ['--api', 'ftp://127.0.0.1', '1']],
    ['an invalid --api', ['--api', 'not a url', '1']],
  ])('rejects %s', (_case, argv) => {
    expect(() => parseExportArguments(argv)).toThrow(UsageError);
  });

  it('names the invalid id in the message', () => {
    expect(() => parseExportArguments(['1', 'abc'])).toThrow(/"abc"/);
  });
});
