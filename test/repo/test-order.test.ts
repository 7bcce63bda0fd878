/** The slow-first order of test files (scripts/test-sequencer.ts) names files that exist, each once. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SLOW_FILES, slowRank } from '../../scripts/test-sequencer';

const ROOT = resolve(import.meta.dirname, '../..');

describe('the slow-first test order', () => {
  it('names only test files that exist, each once', () => {
    expect(SLOW_FILES.filter((file) => !existsSync(resolve(ROOT, file)))).toEqual([]);
    expect(new Set(SLOW_FILES).size).toBe(SLOW_FILES.length);
  });

  it('ranks a listed file by its place, and any other file after all of them', () => {
    expect(slowRank(`${ROOT}/${SLOW_FILES[0]!}`)).toBe(0);
    expect(slowRank(`${ROOT}/${SLOW_FILES[1]!}`)).toBe(1);
    expect(slowRank(`${ROOT}/test/repo/test-order.test.ts`)).toBe(SLOW_FILES.length);
    // A path that only ends like a listed one is not it.
    expect(slowRank(`${ROOT}/other-test/e2e/lifecycle.test.ts`)).toBe(SLOW_FILES.length);
  });
});
