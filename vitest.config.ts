import { defineConfig } from 'vitest/config';
import SlowFirstSequencer from './scripts/test-sequencer';

export default defineConfig({
  test: {
    environment: 'node',
    // Integration tests start real servers (Pebble, Dovecot, Thunderbird); give them room.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two files at a time even on a two-core machine (Vitest's default there is one): the
    // Thunderbird scenarios spend most of their time waiting on the flow's timers and mail. Three
    // were faster (402 s of Vitest against 464 s) but slowed the four-Thunderbird scenarios enough
    // to time out a Marionette script on a fresh clone: not worth a red run.
    maxWorkers: 2,
    // The slowest files first, so that none is left running alone at the end (scripts/test-sequencer.ts).
    sequence: { sequencer: SlowFirstSequencer },
    reporters: ['default', ['json', { outputFile: '.tmp/vitest-report.json' }]],
    projects: [
      { extends: true, test: { name: 'core', include: ['test/**/*.test.ts'], exclude: ['test/e2e/**'] } },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // No retries: the start-up "flake" these tests once had was a race in the popup
          // (docs/E2E.md, "The flake that was a race"), fixed in the popup, not hidden here.
        },
      },
    ],
  },
});
