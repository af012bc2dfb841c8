import { describe, expect, it } from 'vitest';

import { checkCoverage } from './coverage.js';

describe('checkCoverage', () => {
  it('accepts ids split between entries and missing', () => {
    expect(checkCoverage([1, 2, 3, 1], [1, 2], [3])).toEqual([]);
  });

  it('reports an id neither in the zip nor missing', () => {
    expect(checkCoverage([1, 2], [1], [])).toEqual([
      'file 2 has no zip entry and is not in missingFileIds',
    ]);
  });

  it('reports an id both in the zip and missing', () => {
    expect(checkCoverage([1], [1], [1])).toEqual([
      'file 1 has a zip entry but is also in missingFileIds',
    ]);
  });

  it('reports ids that were not requested', () => {
    expect(checkCoverage([1], [1, 5], [6])).toEqual([
      'the zip has an entry for file 5, which was not requested',
      'missingFileIds lists file 6, which was not requested',
    ]);
  });

  it('reports two entries for one id', () => {
    expect(checkCoverage([1], [1, 1], [])).toEqual(['the zip has more than one entry for file 1']);
  });
});
