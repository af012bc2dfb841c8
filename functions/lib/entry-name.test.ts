import { describe, expect, it } from 'vitest';

import { safeEntryName, uniqueEntryName } from './entry-name.js';

const fallback = '10001.zip';

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

describe('safeEntryName', () => {
  it('keeps a plain name', () => {
    expect(safeEntryName('report.pdf', fallback)).toBe('report.pdf');
  });

  it('keeps relative folders', () => {
    expect(safeEntryName('2025/q1/report.pdf', fallback)).toBe('2025/q1/report.pdf');
  });

  it('strips a leading slash', () => {
    expect(safeEntryName('/etc/passwd', fallback)).toBe('etc/passwd');
  });

  it('drops dot and dot-dot segments', () => {
    expect(safeEntryName('../../a/./b/../c.txt', fallback)).toBe('a/b/c.txt');
  });

  it('turns backslashes into slashes', () => {
    expect(safeEntryName('..\\..\\windows\\win.ini', fallback)).toBe('windows/win.ini');
  });

  it('strips a drive letter', () => {
    expect(safeEntryName('C:\\Users\\ana\\notes.txt', fallback)).toBe('Users/ana/notes.txt');
    expect(safeEntryName('d:notes.txt', fallback)).toBe('notes.txt');
  });

  it('strips a drive letter after dot-dot', () => {
    expect(safeEntryName('../C:/temp/a.txt', fallback)).toBe('temp/a.txt');
  });

  it('removes C0 control characters', () => {
    expect(safeEntryName('a\u0000b\u001b[31mc\u007f.txt', fallback)).toBe('ab[31mc.txt');
  });

  it('removes C1 control characters', () => {
    const name = safeEntryName('a\u009b31mb\u0085.txt', fallback);

    expect(name).not.toMatch(/\p{Cc}/u);
  });

  it('returns fallback for no name', () => {
    expect(safeEntryName(undefined, fallback)).toBe(fallback);
    expect(safeEntryName('', fallback)).toBe(fallback);
  });

  it('returns fallback when nothing remains', () => {
    for (const stored of ['/', '../..', ' . / .. ', '\u0001\u0002', 'C:\\']) {
      expect(safeEntryName(stored, fallback)).toBe(fallback);
    }
  });

  it('decodes URI-encoded UTF-8', () => {
    const stored = encodeURIComponent('Résumé 2025 – 東京.pdf');

    expect(safeEntryName(stored, fallback)).toBe('Résumé 2025 – 東京.pdf');
  });

  it('sanitizes after decoding', () => {
    const stored = encodeURIComponent('../../etc/passwd\u0000');

    expect(safeEntryName(stored, fallback)).toBe('etc/passwd');
  });

  it('keeps bad encoding as is', () => {
    expect(safeEntryName('100%.txt', fallback)).toBe('100%.txt');
    expect(safeEntryName('%E0%A4%A.txt', fallback)).toBe('%E0%A4%A.txt');
  });

  it('keeps a 255-byte name whole', () => {
    const name = `${'a'.repeat(251)}.txt`;

    expect(safeEntryName(name, fallback)).toBe(name);
  });

  it('truncates a segment to 255 bytes', () => {
    const name = safeEntryName(`dir/${'a'.repeat(300)}`, fallback);

    expect(name).toBe(`dir/${'a'.repeat(255)}`);
  });

  it('truncates without splitting a character', () => {
    // "é" is 2 bytes and "😀" 4, so a cut at 255 bytes falls inside a character.
    for (const character of ['é', '東', '😀']) {
      const segment = `x${character.repeat(200)}`;
      const name = safeEntryName(segment, fallback);

      expect(byteLength(name)).toBeLessThanOrEqual(255);
      expect(byteLength(name)).toBeGreaterThan(255 - byteLength(character));
      expect(segment.startsWith(name)).toBe(true);
      expect(name).not.toContain('\uFFFD');
    }
  });
});

describe('uniqueEntryName', () => {
  it('keeps a new name', () => {
    expect(uniqueEntryName('a.txt', new Set())).toBe('a.txt');
  });

  it('numbers repeats before the extension', () => {
    const taken = new Set<string>();
    const names = ['a.txt', 'a.txt', 'a.txt'].map((name) => uniqueEntryName(name, taken));

    expect(names).toEqual(['a.txt', 'a (2).txt', 'a (3).txt']);
  });

  it('records the name it returns', () => {
    const taken = new Set<string>();
    const name = uniqueEntryName('a.txt', taken);

    expect(taken.has(name)).toBe(true);
  });

  it('skips numbers already taken', () => {
    const taken = new Set(['a.txt', 'a (2).txt']);

    expect(uniqueEntryName('a.txt', taken)).toBe('a (3).txt');
  });

  it('numbers names without an extension', () => {
    const taken = new Set(['notes', '.env', 'v1.2/readme']);

    expect(uniqueEntryName('notes', taken)).toBe('notes (2)');
    expect(uniqueEntryName('.env', taken)).toBe('.env (2)');
    expect(uniqueEntryName('v1.2/readme', taken)).toBe('v1.2/readme (2)');
  });

  it('keeps numbered long names in 255 bytes', () => {
    const name = safeEntryName('a'.repeat(300), fallback);
    const taken = new Set([name]);

    expect(byteLength(uniqueEntryName(name, taken))).toBeLessThanOrEqual(255);
  });
});
