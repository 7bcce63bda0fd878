/**
 * Permissions and content security of the add-on as shipped:
 * - the manifest asks for exactly the documented minimum, each permission is used by the code,
 *   and every extension API the code calls is covered by a permission;
 * - the extension pages have a strict CSP (no eval, no inline script, no remote script source);
 * - the built pages and bundles (dist/, as `npm test` builds it before Vitest; built into a temp
 *   folder when absent) carry no eval, no Function constructor, no remote script, no inline script.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '../helpers/process';

interface Manifest {
  permissions?: string[];
  optional_permissions?: string[];
  host_permissions?: string[];
  content_security_policy?: { extension_pages?: string };
  web_accessible_resources?: unknown;
  externally_connectable?: unknown;
  content_scripts?: unknown;
  background: { scripts: string[] };
}

const manifest = JSON.parse(readFileSync('manifest.json', 'utf8')) as Manifest;

/**
 * The documented minimum (README.md "Permissions, and why", docs/ADDON.md "Thunderbird facts"), and
 * the extension APIs each one unlocks: a permission none of these calls uses is not needed.
 */
const MINIMUM: Record<string, RegExp> = {
  accountsRead: /\b(?:messenger|browser)\.(?:accounts|identities|folders)\./,
  messagesRead: /\b(?:messenger|browser)\.messages\.(?:getRaw|getFull|get|list|query|continueList|onNewMailReceived)\b/,
  compose: /\b(?:messenger|browser)\.compose\.(?:beginReply|beginNew|getComposeDetails|setComposeDetails)\b/,
  'compose.send': /\b(?:messenger|browser)\.compose\.sendMessage\b/,
  storage: /\b(?:messenger|browser)\.storage\./,
  // src/background/alarms.ts reaches it through a typed cast: the types package lacks it.
  alarms: /\b(?:messenger|browser)\.alarms\.|\((?:messenger|browser) as unknown as \{ alarms: \w+ \}\)\.alarms\b/,
  notifications: /\b(?:messenger|browser)\.notifications\./,
  downloads: /\b(?:messenger|browser)\.downloads\./,
};
/** `<all_urls>`: `fetch` to the CA's ACME server and the DoH resolver, wherever they are. */
const HOSTS = ['<all_urls>'];

/** Namespaces usable without any permission (MDN / Thunderbird WebExtension docs). */
const PERMISSION_FREE = new Set(['runtime', 'i18n', 'action', 'browserAction', 'menus', 'windows', 'tabs', 'extension', 'smimeStore']);
/** Which permission a namespace needs, for the reverse check. */
const NAMESPACE_PERMISSION: Record<string, string> = {
  accounts: 'accountsRead',
  identities: 'accountsRead',
  folders: 'accountsRead',
  messages: 'messagesRead',
  compose: 'compose',
  storage: 'storage',
  alarms: 'alarms',
  notifications: 'notifications',
  downloads: 'downloads',
};

function files(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path, pattern) : pattern.test(path) ? [path] : [];
  });
}

/** The add-on's own code, comments removed (a comment naming an API is not a use of it). */
function sourceCode(): string {
  return [...files('src', /\.(ts|html)$/), ...files('experiments', /\.js$/)]
    .map((f) => readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1'))
    .join('\n');
}

describe('manifest permissions', () => {
  it('are exactly the documented minimum, with no optional or host extras', () => {
    expect([...(manifest.permissions ?? [])].sort()).toEqual(Object.keys(MINIMUM).sort());
    expect(manifest.host_permissions ?? []).toEqual(HOSTS);
    expect(manifest.optional_permissions ?? []).toEqual([]);
  });

  it('each permission is used by the add-on\'s code', () => {
    const code = sourceCode();
    const unused = (manifest.permissions ?? []).filter((p) => !(MINIMUM[p]?.test(code) ?? false));
    expect(unused, 'permissions asked for but used by no code in src/').toEqual([]);
  });

  it('<all_urls> is used by fetch (ACME server, DNS-over-HTTPS resolver)', () => {
    expect(sourceCode()).toMatch(/\bfetch\b/);
  });

  it('every extension API the code calls is covered by a permission', () => {
    const code = sourceCode();
    const namespaces = new Set([...code.matchAll(/\b(?:messenger|browser)\.([a-zA-Z]+)\./g)].map((m) => m[1]!));
    for (const ns of namespaces) {
      if (PERMISSION_FREE.has(ns)) continue;
      const needed = NAMESPACE_PERMISSION[ns];
      expect(needed, `messenger.${ns} is used: which permission does it need?`).toBeDefined();
      expect(manifest.permissions, `messenger.${ns} needs ${needed ?? '?'}`).toContain(needed);
    }
  });

  it('exposes nothing to web pages or other extensions, and injects nothing', () => {
    expect(manifest.web_accessible_resources).toBeUndefined();
    expect(manifest.externally_connectable).toBeUndefined();
    expect(manifest.content_scripts).toBeUndefined();
  });
});

/** A CSP string as directive → sources. */
function parseCsp(policy: string): Map<string, string[]> {
  return new Map(
    policy
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0] !== undefined && d[0] !== '')
      .map(([name, ...sources]) => [name!.toLowerCase(), sources]),
  );
}

describe('content security policy of the extension pages', () => {
  const csp = parseCsp(manifest.content_security_policy?.extension_pages ?? '');

  it('is set, and scripts come only from the package', () => {
    expect(csp.size).toBeGreaterThan(0);
    const scripts = csp.get('script-src') ?? csp.get('default-src');
    expect(scripts).toEqual(["'self'"]);
    expect(csp.get('default-src')).toEqual(["'self'"]);
    expect(csp.get('object-src')).toEqual(["'none'"]);
  });

  it('allows no unsafe-eval, unsafe-inline, remote or wildcard script, style, frame or base source', () => {
    for (const [directive, sources] of csp) {
      expect(sources, directive).not.toContain("'unsafe-eval'");
      expect(sources, directive).not.toContain("'unsafe-inline'");
      expect(sources, directive).not.toContain("'unsafe-hashes'");
      // connect-src * is the point of the add-on: fetch reaches any ACME server and DoH resolver.
      if (directive === 'connect-src') continue;
      for (const source of sources) {
        // Inline images (icons as data: URLs) run no code.
        if (directive === 'img-src' && source === 'data:') continue;
        expect(source, `${directive} ${source}`).not.toMatch(/^(\*|https?:|http:\/\/|https:\/\/|data:|blob:|ws:|wss:)/);
      }
    }
    expect(csp.get('base-uri')).toEqual(["'none'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
  });
});

describe('the built add-on', () => {
  let dist = 'dist';
  let temp: TempDir | undefined;

  beforeAll(async () => {
    if (existsSync(join('dist', 'manifest.json'))) return undefined;
    temp = makeTempDir('security-build-');
    dist = temp.path;
    const { build } = await import('vite');
    await build({ configFile: 'vite.config.ts', logLevel: 'silent', build: { outDir: dist, emptyOutDir: true } });
    return () => temp?.remove();
  }, 120_000);

  it('ships the manifest it was built from, CSP and permissions unchanged', () => {
    const built = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8')) as Manifest;
    expect(built.permissions).toEqual(manifest.permissions);
    expect(built.host_permissions).toEqual(manifest.host_permissions);
    expect(built.content_security_policy).toEqual(manifest.content_security_policy);
  });

  it('has no eval, Function constructor, string timers, importScripts or remote code in any script', () => {
    const scripts = files(dist, /\.(js|mjs)$/);
    expect(scripts.length).toBeGreaterThan(0);
    for (const file of scripts) {
      const code = readFileSync(file, 'utf8');
      expect(code, `${file}: eval`).not.toMatch(/(^|[^.\w$])eval\s*\(/);
      expect(code, `${file}: Function constructor`).not.toMatch(/(^|[^.\w$])(new\s+)?Function\s*\(/);
      expect(code, `${file}: string timer`).not.toMatch(/set(Timeout|Interval)\s*\(\s*["'`]/);
      expect(code, `${file}: importScripts`).not.toMatch(/\bimportScripts\s*\(/);
      expect(code, `${file}: remote import`).not.toMatch(/\bimport\s*\(\s*["'`]https?:/);
      expect(code, `${file}: remote module`).not.toMatch(/\bfrom\s*["'`]https?:/);
      expect(code, `${file}: loadSubScript`).not.toMatch(/loadSubScript\s*\(\s*["'`]https?:/);
      expect(code, `${file}: document.write`).not.toMatch(/document\.write(ln)?\s*\(/);
    }
  });

  it('has pages with no inline script, no inline event handler and no remote resource', () => {
    const pages = files(dist, /\.html$/);
    expect(pages.length).toBeGreaterThan(0);
    for (const page of pages) {
      const html = readFileSync(page, 'utf8');
      for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
        expect(m[1], `${page}: script without src`).toMatch(/\bsrc=/);
        expect(m[2]!.trim(), `${page}: inline script`).toBe('');
      }
      expect(html, `${page}: inline handler`).not.toMatch(/\son[a-z]+\s*=/i);
      expect(html, `${page}: javascript: URL`).not.toMatch(/javascript:/i);
      for (const m of html.matchAll(/\b(?:src|href)\s*=\s*["']([^"']*)["']/gi)) expect(m[1], `${page}: remote resource`).not.toMatch(/^(https?:)?\/\//i);
    }
  });

  it('declares the background scripts that exist in the package', () => {
    for (const script of manifest.background.scripts) expect(existsSync(join(dist, script)), script).toBe(true);
  });
});
