// Runs `web-ext lint` on the built add-on, failing on any error or warning.
// web-ext always reports `experiment_apis` as an error (it knows only Firefox's manifest keys),
// so it lints a copy of dist/ whose manifest lacks that key and declares
// gecko.data_collection_permissions (which the linter wants and Thunderbird 128 ignores; in the
// copy only, with the Firefox version that key needs). The linter also knows only Firefox's
// permission names: Thunderbird-only ones (THUNDERBIRD_PERMISSIONS) are left out of the copy
// and checked instead by test/manifest.test.ts against Thunderbird's own list.
import { THUNDERBIRD_PERMISSIONS } from './thunderbird-permissions.mjs';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const copy = mkdtempSync(join(tmpdir(), 'webext-lint-'));
try {
  cpSync('dist', copy, { recursive: true });
  const manifestPath = join(copy, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  delete manifest.experiment_apis;
  manifest.browser_specific_settings.gecko.data_collection_permissions = { required: ['none'] };
  manifest.browser_specific_settings.gecko.strict_min_version = '142.0';
  manifest.permissions = manifest.permissions.filter((p) => !THUNDERBIRD_PERMISSIONS.includes(p));
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  const run = spawnSync('npx', ['web-ext', 'lint', '--source-dir', copy, '--output', 'json', '--no-config-discovery'], { encoding: 'utf8' });
  const report = JSON.parse(run.stdout);
  const problems = [...report.errors, ...report.warnings];
  for (const p of problems) console.error(`${p._type}: ${p.code} ${p.file ?? ''}: ${p.message}`);
  console.log(`web-ext lint: ${report.errors.length} errors, ${report.warnings.length} warnings, ${report.notices.length} notices`);
  process.exitCode = problems.length === 0 ? 0 : 1;
} finally {
  rmSync(copy, { recursive: true, force: true });
}
