import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Integration tests start real servers (Pebble, Dovecot, Thunderbird); give them room.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One file at a time on a two-core machine (Vitest's default there). Two at a time took the
    // suite from 9 to 6 minutes, but a Thunderbird restarted after SIGKILL then sometimes did not
    // start the add-on within 30 s while another file's Thunderbird was busy (3 of 5 runs of
    // restart + mail-timing + ca-faults in one order); a suite that fails by luck is worse.
    reporters: ['default', ['json', { outputFile: '.tmp/vitest-report.json' }]],
  },
});
