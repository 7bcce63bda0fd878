import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    environment: 'node',
    // Integration tests start real servers (Pebble, Dovecot, Thunderbird); give them room.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One file at a time on a two-core machine (Vitest's default there): with two at a time the
    // Thunderbird flakes below came more often.
    reporters: ['default', ['json', { outputFile: '.tmp/vitest-report.json' }]],
    projects: [
      { extends: true, test: { name: 'core', include: ['test/**/*.test.ts'], exclude: ['test/e2e/**'] } },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // KNOWN FLAKE, not hidden: on this machine's headless Thunderbird 153, about one world
          // start in ten goes wrong outside the add-on's control — the add-on is "active" in the
          // AddonManager but never started, or the first click creates nothing, or after SIGKILL
          // HTTPS to the sandbox fails for minutes. Each E2E test gets one second try (in a fresh
          // world where the test starts its own); a test that fails twice fails the suite, and the reporter marks a retried
          // test with "(retry x1)". Root cause open: docs/E2E.md, "Known flake".
          retry: 1,
        },
      },
    ],
  },
});
