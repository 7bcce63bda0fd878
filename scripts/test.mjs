// `npm test`: system peers (when root), type check, ESLint, build, web-ext lint, then Vitest.
// Ends with one line "tests: N passed, N failed[, N skipped]" so CI can read the count.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';

const steps = [
  ['system peers', 'bash', ['scripts/setup-system.sh']],
  ['type check', 'npx', ['tsc', '--noEmit', '-p', '.']],
  ['eslint', 'npx', ['eslint', '--max-warnings', '0', '.']],
  ['build', 'npm', ['run', '--silent', 'build']],
  ['web-ext lint', 'node', ['scripts/lint-webext.mjs']],
];
for (const [label, cmd, args] of steps) {
  console.log(`\n== ${label}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.log(`\n${label} failed`);
    console.log('tests: 0 passed, 1 failed');
    process.exit(1);
  }
}

console.log('\n== vitest');
const report = '.tmp/vitest-report.json';
rmSync(report, { force: true });
const extra = process.argv.slice(2);
const vitest = spawnSync('npx', ['vitest', 'run', ...extra], { stdio: 'inherit' });
let passed = 0, failed = 0, skipped = 0;
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed = r.numPassedTests;
  // A file that fails to load has no failed test of its own: count it once.
  failed = r.numFailedTests > 0 ? r.numFailedTests : r.numFailedTestSuites;
  skipped = r.numPendingTests + r.numTodoTests;
} else {
  failed = 1;
}
if (vitest.status !== 0 && failed === 0) failed = 1;
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(vitest.status === 0 && failed === 0 ? 0 : 1);
