import { describe, expect, it } from 'vitest';
import { migrate, StorageTooNewError } from '../../src/enroll/migrations';
import { DEFAULT_SETTINGS, effectiveSettings, validSettings } from '../../src/enroll/settings';
import { KEYS, SCHEMA_VERSION } from '../../src/enroll/state';
import { FakeStorage } from './fakes';

describe('storage migrations', () => {
  it('moves the foundation options page\'s unversioned directoryUrl into settings', async () => {
    const storage = new FakeStorage({ directoryUrl: 'https://ca.test/dir' });
    expect(await migrate(storage)).toBe(0);
    expect(storage.data).toEqual({ [KEYS.schema]: SCHEMA_VERSION, [KEYS.settings]: { directoryUrl: 'https://ca.test/dir' } });
  });

  it('starts an empty storage at the current version', async () => {
    const storage = new FakeStorage();
    await migrate(storage);
    expect(storage.data[KEYS.schema]).toBe(SCHEMA_VERSION);
    expect(storage.data[KEYS.settings]).toEqual({});
  });

  it('keeps settings the user already saved over the legacy key', async () => {
    const storage = new FakeStorage({ directoryUrl: 'https://old.test/dir', settings: { directoryUrl: 'https://new.test/dir', keyType: 'P-384' } });
    await migrate(storage);
    expect(storage.data[KEYS.settings]).toEqual({ directoryUrl: 'https://new.test/dir', keyType: 'P-384' });
  });

  it('leaves current storage untouched', async () => {
    const data = { [KEYS.schema]: SCHEMA_VERSION, [KEYS.settings]: { directoryUrl: 'https://ca.test/dir' }, 'enrollment:e1': { step: 'ordered' } };
    const storage = new FakeStorage(data);
    await migrate(storage);
    expect(storage.data).toEqual(data);
    expect(storage.snapshots).toHaveLength(0);
  });

  it('refuses storage written by a newer version rather than destroying it', async () => {
    const storage = new FakeStorage({ [KEYS.schema]: SCHEMA_VERSION + 1, settings: { x: 1 } });
    await expect(migrate(storage)).rejects.toBeInstanceOf(StorageTooNewError);
    expect(storage.data).toEqual({ [KEYS.schema]: SCHEMA_VERSION + 1, settings: { x: 1 } });
  });
});

describe('settings', () => {
  it('keeps valid fields and drops invalid ones', () => {
    expect(validSettings({ directoryUrl: 'http://insecure.test/dir', dohUrl: 'https://dns.test/q', keyType: 'RSA-1024', usage: 'sign', postChallengeAfterSeconds: -1, trustedAuthservIds: ['mx.example', ' ', 3] })).toEqual({ dohUrl: 'https://dns.test/q', usage: 'sign' });
    expect(validSettings({ trustedAuthservIds: [' mx.example ', ''] })).toEqual({ trustedAuthservIds: ['mx.example'] });
    expect(validSettings('nonsense')).toEqual({});
  });

  it('lets the user override managed defaults unless the administrator locked them', () => {
    const managed = { directoryUrl: 'https://corp.test/dir', askBeforeReplying: true };
    const local = { directoryUrl: 'https://mine.test/dir', keyType: 'RSA-4096' };
    expect(effectiveSettings(local, managed)).toMatchObject({ directoryUrl: 'https://mine.test/dir', askBeforeReplying: true, keyType: 'RSA-4096', locked: false });
    expect(effectiveSettings(local, { ...managed, locked: true })).toMatchObject({ directoryUrl: 'https://corp.test/dir', askBeforeReplying: true, keyType: 'RSA-4096', locked: true });
    expect(effectiveSettings(undefined, undefined)).toEqual({ ...DEFAULT_SETTINGS, locked: false });
  });
});
