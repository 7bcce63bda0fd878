// Runs the regression tests of open findings (test/security/*.repro.ts), which fail until they are
// fixed and are therefore kept out of `npm test`:
//   npx vitest run --config test/security/repro.vitest.config.mts
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: new URL('../..', import.meta.url).pathname,
  test: { include: ['test/security/*.repro.ts'], environment: 'node', pool: 'forks', testTimeout: 60_000 },
});
