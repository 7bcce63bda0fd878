/**
 * The translations are complete: every locale in _locales has exactly the English messages, with
 * the same placeholders, and every message name the code asks for exists in English. A key added
 * to en/messages.json without its translations fails here (README.md, "Languages").
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TokenJoin, Usage } from '../../src/enroll/ports';
import type { CertificateRecord } from '../../src/enroll/state';

interface Placeholder {
  readonly content: string;
  readonly example?: string;
}
interface Message {
  readonly message: string;
  readonly description?: string;
  readonly placeholders?: Readonly<Record<string, Placeholder>>;
}
type Messages = Readonly<Record<string, Message>>;

/** The languages of the first users; English is the source and the fallback. */
const LOCALES = ['en', 'de', 'fr', 'es', 'ca'] as const;

/**
 * Messages that are the same as in English because they are names or layout, not English words.
 * Any other message equal to English was copied, not translated.
 */
const SAME_AS_ENGLISH: Readonly<Record<string, readonly string[]>> = {
  all: ['extensionName', 'actionLabel', 'popupStepAt'],
  de: ['popupUsabilityDetail'], // "Details: $1"
  fr: ['popupOpenOptions'], // "Options…"
};

const readMessages = (locale: string): Messages => JSON.parse(readFileSync(join('_locales', locale, 'messages.json'), 'utf8')) as Messages;
const en = readMessages('en');
const translations = LOCALES.filter((l) => l !== 'en').map((locale) => ({ locale, messages: readMessages(locale) }));

/**
 * The substitutions a message uses, as the browser resolves them: `$NAME$` through the message's
 * placeholders (names are case-insensitive) to their `$n`, and bare `$n`. `$$` is a literal dollar.
 */
function references(entry: Message): { named: string[]; positional: string[] } {
  const text = entry.message.replaceAll('$$', '');
  const named = [...text.matchAll(/\$([A-Za-z0-9_@]+)\$/g)].map((m) => (m[1] ?? '').toLowerCase());
  const positional = [...text.replace(/\$[A-Za-z0-9_@]+\$/g, '').matchAll(/\$(\d+)/g)].map((m) => `$${m[1] ?? ''}`);
  return { named: [...new Set(named)].sort(), positional: [...new Set(positional)].sort() };
}

function placeholderContents(entry: Message): Record<string, string> {
  return Object.fromEntries(Object.entries(entry.placeholders ?? {}).map(([name, p]) => [name.toLowerCase(), p.content]));
}

/** A source file without its comments (they may show example names). */
function code(path: string): string {
  const text = readFileSync(path, 'utf8');
  return path.endsWith('.ts') ? text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1') : text;
}

function files(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path, ext) : path.endsWith(ext) ? [path] : [];
  });
}

describe('_locales', () => {
  it('holds exactly the languages of the first users, English by default', () => {
    const dirs = readdirSync('_locales').filter((d) => statSync(join('_locales', d)).isDirectory());
    expect(dirs.sort()).toEqual([...LOCALES].sort());
    const manifest = JSON.parse(readFileSync('manifest.json', 'utf8')) as { default_locale?: string };
    expect(manifest.default_locale).toBe('en');
  });

  it('English declares a placeholder for every $NAME$ it uses, and uses every one it declares', () => {
    for (const [key, entry] of Object.entries(en)) {
      const { named } = references(entry);
      expect(named, key).toEqual(Object.keys(placeholderContents(entry)).sort());
    }
  });

  describe.each(translations)('$locale', ({ locale, messages }) => {
    it('has every English message and no other', () => {
      const missing = Object.keys(en).filter((key) => !(key in messages));
      const extra = Object.keys(messages).filter((key) => !(key in en));
      expect(missing, `${locale}: not translated`).toEqual([]);
      expect(extra, `${locale}: not in en`).toEqual([]);
    });

    it('has no empty message', () => {
      for (const [key, entry] of Object.entries(messages)) {
        expect(typeof entry.message, `${locale}.${key}`).toBe('string');
        expect(entry.message, `${locale}.${key}`).toMatch(/\S/);
      }
    });

    it('is translated: no message is a copy of the English one', () => {
      const allowed = [...(SAME_AS_ENGLISH['all'] ?? []), ...(SAME_AS_ENGLISH[locale] ?? [])];
      const copied = Object.keys(en).filter((key) => messages[key]?.message === en[key]?.message && !allowed.includes(key));
      expect(copied, `${locale}: English copied`).toEqual([]);
    });

    it('uses the same placeholders as English, each bound to the same substitution', () => {
      for (const [key, source] of Object.entries(en)) {
        const entry = messages[key];
        if (entry === undefined) continue; // reported by "has every English message"
        expect(placeholderContents(entry), `${locale}.${key} placeholders`).toEqual(placeholderContents(source));
        expect(references(entry), `${locale}.${key} substitutions`).toEqual(references(source));
      }
    });
  });
});

/** The names of messages the code asks for by a literal, in src/ and the manifest. */
function literalKeys(): { key: string; where: string }[] {
  const found: { key: string; where: string }[] = [];
  const patterns = [
    /\bt\(\s*'(\w+)'/g, // src/ui/i18n.ts t('name', …)
    /\bgetMessage\(\s*'(\w+)'/g, // messenger.i18n.getMessage('name', …)
    /\bdata-i18n(?:-[\w-]+)?="(\w+)"/g, // src/ui/i18n.ts localizePage()
    /__MSG_(\w+)__/g, // manifest.json and pages
  ];
  for (const path of ['manifest.json', ...files('src', '.ts'), ...files('src', '.html')]) {
    const text = code(path);
    for (const pattern of patterns) for (const m of text.matchAll(pattern)) found.push({ key: m[1] ?? '', where: path });
  }
  return found;
}

/**
 * Message names the code builds from a prefix and a value (`t(\`usage_${u}\`)`), with every value
 * each prefix can take. A Record over the value's type makes the compiler list them all. Names
 * built by src/enroll/i18n-keys.ts are checked by test/enroll/locales.test.ts.
 */
const USAGE_VALUES: Record<Usage, null> = { sign: null, encrypt: null, both: null };
const TOKEN_JOIN_VALUES: Record<TokenJoin, null> = { string: null, bytes: null };
const RENEWAL_SOURCE_VALUES: Record<CertificateRecord['renewalSource'], null> = { ari: null, lifetime: null };
const BUILT_KEYS: Readonly<Record<string, readonly string[]>> = {
  usage_: Object.keys(USAGE_VALUES),
  tokenJoin_: Object.keys(TOKEN_JOIN_VALUES),
  renewalSource_: Object.keys(RENEWAL_SOURCE_VALUES),
  // The reasons the popup offers (RFC 5280 codes without 2, 6, 8 and 10).
  revoke_: ['0', '1', '3', '4', '5', '9'],
  // What a challenge mail from a CA that does not follow RFC 8823 lacks (src/popup/popup.ts).
  popupMissing_: ['autoSubmitted', 'signature'],
};

describe('message names in the code', () => {
  it('finds the names it scans for (the scan itself works)', () => {
    const keys = literalKeys().map((k) => k.key);
    for (const key of ['extensionName', 'popupStart', 'optionsSave', 'popupWorking']) expect(keys).toContain(key);
  });

  it('every literal name in src/ and manifest.json is in en/messages.json', () => {
    const missing = literalKeys().filter(({ key }) => en[key] === undefined);
    expect(missing).toEqual([]);
  });

  it('every name built from a prefix is in en/messages.json for each value', () => {
    const prefixes = new Set<string>();
    for (const path of files('src', '.ts')) {
      for (const m of code(path).matchAll(/\b(?:t|getMessage)\(\s*`(\w+)\$\{/g)) prefixes.add(m[1] ?? '');
    }
    expect(prefixes.size).toBeGreaterThan(0);
    for (const prefix of prefixes) {
      const values = BUILT_KEYS[prefix];
      expect(values, `${prefix}… is built in src/: list its values in BUILT_KEYS`).toBeDefined();
      for (const value of values ?? []) expect(en[`${prefix}${value}`]?.message, `${prefix}${value}`).toMatch(/\S/);
    }
  });
});
