import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Integration tests start real servers (Pebble, Dovecot, Thunderbird); give them room.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two files at a time even on a two-core machine (Vitest's default there is one): the
    // Thunderbird scenarios spend most of their time waiting on the flow's timers and mail, so
    // a second file in parallel shortens the suite by minutes instead of competing for a core.
    maxWorkers: 2,
    reporters: ['default', ['json', { outputFile: '.tmp/vitest-report.json' }]],
  },
});
