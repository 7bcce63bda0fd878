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

describe('popup, options and Experiment contracts', () => {
  const addonDoc = readFileSync('docs/ADDON.md', 'utf8');
  const idsIn = (html: string): string[] => [...readFileSync(html, 'utf8').matchAll(/\bid="([\w-]+)"/g)].map((m) => m[1] ?? '');

  it('documents every popup element id in docs/ADDON.md, and documents no id the popup lacks', () => {
    const popupIds = idsIn('src/popup/popup.html');
    const section = addonDoc.slice(addonDoc.indexOf('## Popup element ids'), addonDoc.indexOf('Options page ids'));
    const documented = [...section.matchAll(/`([a-z][\w-]*)`/g)].map((m) => m[1] ?? '').filter((id) => !['main', 'true', 'select', 'li', 'ol', 'title', 'role=status', 'local'].includes(id) && !/^data-/.test(id));
    for (const id of popupIds) expect(documented, `#${id} undocumented`).toContain(id);
    for (const id of documented) expect(popupIds, `documented #${id} missing`).toContain(id);
    expect(new Set(popupIds).size).toBe(popupIds.length);
  });

  it('documents every options page id', () => {
    const section = addonDoc.slice(addonDoc.indexOf('Options page ids'));
    for (const id of idsIn('src/options/options.html')) expect(section, `#${id}`).toContain(`\`${id}\``);
  });

  it('lets an administrator preset exactly the settings the add-on has, plus the lock and CA presets', async () => {
    const { SETTING_KEYS } = await import('../src/enroll/settings');
    const schema = JSON.parse(readFileSync('managed-schema.json', 'utf8')) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties).sort()).toEqual([...SETTING_KEYS, 'locked', 'caPresets'].sort());
  });

  it('implements every function the Experiment schema declares, and no other', () => {
    const schema = JSON.parse(readFileSync('experiments/smimeStore/schema.json', 'utf8')) as { functions: { name: string }[] }[];
    const declared = (schema[0]?.functions ?? []).map((f) => f.name).sort();
    const implemented = [...readFileSync('experiments/smimeStore/implementation.js', 'utf8').matchAll(/^ {8}async (\w+)\(/gm)].map((m) => m[1]).sort();
    expect(implemented).toEqual(declared);
    expect(declared).toEqual([
      'addCaCertificates', 'clearIdentityCertificates', 'exportPkcs12', 'findIssuerCandidates', 'getIdentityCertificates', 'importPkcs12',
      'setIdentityCertificates', 'setIdentitySendDefaults', 'trustRootForEmail', 'verifyCertificate',
    ]);
  });
});
