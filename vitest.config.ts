import { defineConfig } from 'vitest/config';
import SlowFirstSequencer from './scripts/test-sequencer';

export default defineConfig({
  test: {
    environment: 'node',
    // Integration tests start real servers (Pebble, Dovecot, Thunderbird); give them room.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Three files at a time even on a two-core machine (Vitest's default there is one): the
    // Thunderbird scenarios spend most of their time waiting on the flow's timers and mail, which
    // left about a quarter of the CPU idle with two (npm test: 464 s of Vitest with two, 402 s
    // with three, every test passing).
    maxWorkers: 3,
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
