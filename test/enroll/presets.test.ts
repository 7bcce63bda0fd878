/** CA presets: the public RFC 8823 CAs, the sandbox, and an administrator's own (src/enroll/presets.ts). */
import { describe, expect, it } from 'vitest';
import { BUILT_IN_PRESETS, managedPresets, presetFor } from '../../src/enroll/presets';
import { SANDBOX_DIRECTORY_URL } from '../../src/enroll/settings';

describe('CA presets', () => {
  it("offer CASTLE's production and staging directories with the bytes join and its client's RSA-2048", () => {
    expect(presetFor(BUILT_IN_PRESETS, 'https://acme.castle.cloud/acme/directory')).toMatchObject({ id: 'castle', tokenJoin: 'bytes', keyType: 'RSA-2048' });
    expect(presetFor(BUILT_IN_PRESETS, 'https://acme-staging.castle.cloud/acme/directory')).toMatchObject({ id: 'castle-staging', tokenJoin: 'bytes' });
    expect(presetFor(BUILT_IN_PRESETS, 'https://acme.rapidmx.io/directory')).toMatchObject({ tokenJoin: 'string' });
    expect(presetFor(BUILT_IN_PRESETS, SANDBOX_DIRECTORY_URL)?.dohUrl).toMatch(/^https:\/\/127\.0\.0\.1:/);
  });

  it('are all https, with distinct ids and directories', () => {
    for (const p of BUILT_IN_PRESETS) expect(new URL(p.directoryUrl).protocol).toBe('https:');
    expect(new Set(BUILT_IN_PRESETS.map((p) => p.id)).size).toBe(BUILT_IN_PRESETS.length);
    expect(new Set(BUILT_IN_PRESETS.map((p) => p.directoryUrl)).size).toBe(BUILT_IN_PRESETS.length);
  });

  it("take an administrator's presets from managed storage, leaving out incomplete or non-https ones", () => {
    const managed = {
      caPresets: [
        { name: 'Corp CA', directoryUrl: 'https://acme.corp.example/directory', tokenJoin: 'bytes', keyType: 'RSA-3072' },
        { name: 'Plain', directoryUrl: 'http://acme.corp.example/directory' },
        { directoryUrl: 'https://nameless.example/directory' },
        { name: 'Defaults', directoryUrl: 'https://b.example/dir', tokenJoin: 'weird', keyType: 'DSA' },
        'nonsense',
      ],
    };
    expect(managedPresets(managed)).toEqual([
      { id: 'managed-0', name: 'Corp CA', directoryUrl: 'https://acme.corp.example/directory', tokenJoin: 'bytes', keyType: 'RSA-3072' },
      { id: 'managed-3', name: 'Defaults', directoryUrl: 'https://b.example/dir', tokenJoin: 'string', keyType: 'P-256' },
    ]);
    expect(managedPresets(undefined)).toEqual([]);
    expect(managedPresets({ caPresets: 'x' })).toEqual([]);
  });
});
