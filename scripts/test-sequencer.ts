/**
 * The order Vitest starts test files in, two at a time: the longest first, so that no long
 * file is left running alone at the end (longest-processing-time-first scheduling). Vitest's own
 * order uses the durations it cached from the last run, which a fresh clone (CI) does not have,
 * and file size, which says little here: the slowest files are short scenarios that wait on real
 * Thunderbirds, certificate lifetimes and back-off. So the files known to be slow come first, in
 * the order of their durations as `npm test` measured them (`.tmp/vitest-report.json`); every
 * other file follows in Vitest's own order. A hint for speed only: a file missing from the list
 * runs all the same.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Slowest first, seconds measured on the two-core machine with `npm test` (2026-12-03). */
export const SLOW_FILES: readonly string[] = [
  'test/e2e/lifecycle.test.ts', // 118: waits for a short-lived certificate to reach its renewal window
  'test/cli/cert.test.ts', // 106: fourteen runs of the command against the sandbox
  'test/e2e/ca-faults.test.ts', // 64: two Thunderbirds, retries with back-off
  'test/e2e/usable.test.ts', // 51: three worlds, four Thunderbirds
  'test/e2e/personalities.test.ts', // 51
  'test/e2e/mail-timing.test.ts', // 51
  'test/e2e/restart.test.ts', // 49
  'test/cli/renew-revoke.test.ts', // 43
  'test/e2e/forgery.test.ts', // 33
  'test/e2e/enroll.test.ts', // 33
  'test/cli/together.test.ts', // 31
  'test/e2e/renew-revoke.test.ts', // 22
  'test/e2e/addresses.test.ts', // 19
];

export function slowRank(moduleId: string): number {
  const index = SLOW_FILES.findIndex((file) => moduleId.endsWith(`/${file}`));
  return index === -1 ? SLOW_FILES.length : index;
}

export default class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const ordered = await super.sort(files);
    // Array.prototype.sort is stable: files of equal rank keep Vitest's order.
    return [...ordered].sort((a, b) => slowRank(a.moduleId) - slowRank(b.moduleId));
  }
}
