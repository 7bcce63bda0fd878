/**
 * Fuzzing the add-on's untrusted local inputs (src/enroll): settings from storage.local and from
 * an administrator's managed storage, storage migrations over whatever an older or corrupted
 * profile holds, and the mail-check adapter's first look at any raw mail (`addressedTo`, which
 * runs on every candidate mail before anything else). None may throw but its own typed errors.
 */
import { webcrypto } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMailCheckAdapter } from '../../src/enroll/adapters/mail-check';
import { migrate, StorageTooNewError } from '../../src/enroll/migrations';
import { DEFAULT_SETTINGS, SETTING_KEYS, effectiveSettings, validSettings } from '../../src/enroll/settings';
import { mayBeChallengeSubject } from '../../src/messages/prefilter';
import { MemoryStorage } from '../security/flow';
import { TEST_TIMEOUT_MS, fuzz, mailBytes, type Tally } from './guard';

const results: Tally[] = [];
const nothing = (): boolean => false;

function clean(t: Tally): void {
  results.push(t);
  expect(t.examples, t.target).toEqual([]);
  expect(t.crashes).toBe(0);
  expect(t.hangs).toBe(0);
}

/** Objects shaped like settings, with every field of every JSON type, and some extra keys. */
const settingsLike = fc.oneof(
  fc.dictionary(fc.constantFrom(...SETTING_KEYS, 'locked', '__proto__', 'constructor', 'x'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 12 }),
  fc.jsonValue({ maxDepth: 3 }),
);

describe('fuzz: src/enroll untrusted local input', () => {
  it('validSettings / effectiveSettings: any stored or managed value → valid settings, never an exception', async () => {
    clean(await fuzz('settings', fc.tuple(settingsLike, settingsLike), ([local, managed]) => {
      const valid = validSettings(local);
      for (const key of Object.keys(valid)) if (!(SETTING_KEYS as readonly string[]).includes(key)) throw new TypeError(`unknown setting ${key} kept`);
      const effective = effectiveSettings(local, managed);
      for (const key of SETTING_KEYS) if (typeof effective[key] !== typeof DEFAULT_SETTINGS[key]) throw new TypeError(`setting ${key} has the wrong type`);
      if (!effective.dohUrl.startsWith('https://')) throw new TypeError('a DoH URL that is not https was accepted');
      if (effective.directoryUrl !== '' && !effective.directoryUrl.startsWith('https://')) throw new TypeError('a directory URL that is not https was accepted');
    }, nothing));
  }, TEST_TIMEOUT_MS);

  it('migrate: any storage.local content → migrated, or StorageTooNewError', async () => {
    const storage = fc.dictionary(fc.constantFrom('schemaVersion', 'settings', 'directoryUrl', 'enrollment:e1', 'certificate:id1', 'x'), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });
    clean(await fuzz('storage migrations', storage, async (initial) => {
      const s = new MemoryStorage(initial);
      await migrate(s);
      if (s.data['schemaVersion'] === undefined) throw new TypeError('no schema version after migrating');
    }, (e) => e instanceof StorageTooNewError));
  }, TEST_TIMEOUT_MS);

  it('mail-check adapter addressedTo and the subject pre-filter: any mail → a list / a boolean', async () => {
    const adapter = createMailCheckAdapter({
      fetch: () => Promise.reject(new TypeError('no network in this test')),
      crypto: webcrypto as unknown as Crypto,
      settings: () => Promise.resolve(DEFAULT_SETTINGS),
      now: () => Date.now(),
    });
    const raw = fc.oneof(mailBytes(2000).map((s) => Buffer.from(s, 'latin1')), fc.uint8Array({ maxLength: 2000 }), fc.string().map((s) => Buffer.from(`To: ${s}\r\nSubject: ACME: x\r\n\r\n`, 'utf8')));
    clean(await fuzz('addressedTo + pre-filter', fc.tuple(raw, mailBytes(200)), ([bytes, subject]) => {
      const to = adapter.addressedTo(new Uint8Array(bytes));
      if (!Array.isArray(to) || to.some((a) => typeof a !== 'string')) throw new TypeError('not a list of addresses');
      if (typeof mayBeChallengeSubject(subject) !== 'boolean') throw new TypeError('not a boolean');
    }, nothing));
  }, TEST_TIMEOUT_MS);

  it('figure', () => {
    const inputs = results.reduce((a, t) => a + t.inputs, 0);
    console.log(`fuzz: inputs=${inputs} crashes=${results.reduce((a, t) => a + t.crashes, 0)} hangs=${results.reduce((a, t) => a + t.hangs, 0)} (src/enroll, ${results.length} targets)`);
    expect(results.length).toBe(3);
  });
});
