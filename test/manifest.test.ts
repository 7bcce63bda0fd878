import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs module shared with scripts/lint-webext.mjs, no type declarations
import { THUNDERBIRD_PERMISSIONS } from '../scripts/thunderbird-permissions.mjs';

interface Manifest {
  name: string;
  description: string;
  permissions: string[];
  host_permissions: string[];
  action: { default_title: string; default_label: string };
  browser_specific_settings: { gecko: { id: string; strict_min_version: string } };
  background: { scripts: string[]; type: string };
}

const manifest = JSON.parse(readFileSync('manifest.json', 'utf8')) as Manifest;
const messages = JSON.parse(readFileSync('_locales/en/messages.json', 'utf8')) as Record<string, { message: string }>;
const readme = readFileSync('README.md', 'utf8');

/** Firefox permissions web-ext lint checks itself; listed so an unknown name fails here. */
const FIREFOX_PERMISSIONS = ['storage', 'alarms', 'notifications', 'downloads'];

function files(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path, ext) : path.endsWith(ext) ? [path] : [];
  });
}

describe('manifest.json', () => {
  it('is an MV3 event page for Thunderbird 128 and later', () => {
    expect(manifest.background).toEqual({ scripts: ['background.js'], type: 'module' });
    expect(manifest.browser_specific_settings.gecko.strict_min_version).toBe('128.0');
    expect(manifest.browser_specific_settings.gecko.id).toMatch(/^[\w.-]+@[\w.-]+$/);
  });

  it('asks only for known permissions, each with its reason in the README', () => {
    for (const permission of [...manifest.permissions, ...manifest.host_permissions]) {
      expect([...FIREFOX_PERMISSIONS, ...(THUNDERBIRD_PERMISSIONS as string[]), '<all_urls>']).toContain(permission);
      expect(readme).toMatch(new RegExp(`\\| \`${permission.replace(/[.*<>]/g, '\\$&')}\` \\| \\S`));
    }
  });

  it('takes every user-visible string from _locales', () => {
    const referenced = [manifest.name, manifest.description, manifest.action.default_title, manifest.action.default_label];
    for (const ref of referenced) {
      const key = /^__MSG_(\w+)__$/.exec(ref)?.[1];
      expect(key, ref).toBeDefined();
      expect(messages[key ?? '']?.message, ref).toBeTruthy();
    }
    for (const html of files('src', '.html')) {
      const text = readFileSync(html, 'utf8');
      for (const m of text.matchAll(/data-i18n(?:-[\w-]+)?="(\w+)"/g)) expect(messages[m[1] ?? '']?.message, `${html}: ${m[1]}`).toBeTruthy();
      // No literal text between tags: everything shown comes from data-i18n.
      expect(text.replace(/<(script|style)[\s\S]*?<\/\1>/g, '').match(/>\s*[^<\s][^<]*</g), html).toBeNull();
    }
    for (const ts of files('src', '.ts')) {
      for (const m of readFileSync(ts, 'utf8').matchAll(/\bt\('(\w+)'/g)) expect(messages[m[1] ?? '']?.message, `${ts}: ${m[1]}`).toBeTruthy();
    }
  });
});
