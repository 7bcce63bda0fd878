/** The install step reports whether Thunderbird can use the certificate, never a plain success when it cannot. */
import { describe, expect, it } from 'vitest';
import type { Enroller } from '../../src/enroll/enroller';
import { POST_AFTER_REPLY_MS } from '../../src/enroll/schedule';
import { KEYS, type Enrollment } from '../../src/enroll/state';
import { UNKNOWN_ISSUER, VERIFIES } from '../helpers/cert-store';
import { World, challengeMail } from './fakes';

const ALICE = { identityId: 'id1', email: 'alice@example.test' };

async function install(world: World, enroller: Enroller): Promise<Enrollment> {
  const { enrollment } = await enroller.start({ ...ALICE, passphrase: 'correct horse battery', termsAgreed: true });
  await enroller.advance(enrollment.id);
  await world.deliver(enroller, challengeMail(ALICE.email));
  await world.elapse(enroller, POST_AFTER_REPLY_MS + 60_000);
  return (await world.storage.get([KEYS.enrollment(enrollment.id)]))[KEYS.enrollment(enrollment.id)] as Enrollment;
}

describe('install: usable, not just installed', () => {
  it('a certificate NSS verifies ends "ready", signs by default as the options say, and notifies success', async () => {
    const world = new World();
    const done = await install(world, world.enroller());
    expect(done).toMatchObject({ step: 'installed', usability: 'ready' });
    expect(world.notices.map((n) => n.kind)).toEqual(['installed']);
    expect(world.certStore.sendDefaults).toEqual([['id1', true, false]]);
    const record = await world.enroller().certificate('id1');
    expect(record?.usability?.verdict).toBe('ready');
    expect(record?.sendDefaults).toEqual({ signMail: true, encrypt: false });
  });

  it('a certificate whose issuer NSS does not trust for e-mail is installed but reported unusable, with the NSS error', async () => {
    const world = new World();
    world.certStore.verification = UNKNOWN_ISSUER;
    const done = await install(world, world.enroller());
    expect(done).toMatchObject({ step: 'installed', usability: 'untrusted-root' });
    expect(world.notices.map((n) => n.kind)).toEqual(['installedUnusable']);
    expect(world.certStore.sendDefaults).toEqual([]);
    const record = await world.enroller().certificate('id1');
    expect(record?.usability).toMatchObject({ verdict: 'untrusted-root', signing: { ok: false, errorName: 'SEC_ERROR_UNKNOWN_ISSUER' } });
  });

  it('declining and re-checking keep the decision visible; a root trusted since makes it ready', async () => {
    const world = new World();
    world.certStore.verification = UNKNOWN_ISSUER;
    const enroller = world.enroller();
    await install(world, enroller);
    expect((await enroller.declineRoot('id1')).usability?.verdict).toBe('declined');
    expect((await enroller.recheck('id1')).usability?.verdict).toBe('declined');
    world.certStore.verification = VERIFIES;
    expect((await enroller.recheck('id1')).usability?.verdict).toBe('ready');
  });

  it('the send defaults follow the user, only once the certificate is usable', async () => {
    const world = new World();
    world.certStore.verification = UNKNOWN_ISSUER;
    const enroller = world.enroller();
    await install(world, enroller);
    await expect(enroller.setSendDefaults('id1', true, true)).rejects.toMatchObject({ code: 'wrongStep' });
    world.certStore.verification = VERIFIES;
    await enroller.recheck('id1');
    expect((await enroller.setSendDefaults('id1', false, true)).sendDefaults).toEqual({ signMail: false, encrypt: true });
    expect(world.certStore.sendDefaults.at(-1)).toEqual(['id1', false, true]);
  });

  it('an administrator can turn signing by default off and encryption on', async () => {
    const world = new World();
    world.settings = { ...world.settings, signByDefault: false, encryptByDefault: true };
    await install(world, world.enroller());
    expect(world.certStore.sendDefaults).toEqual([['id1', false, true]]);
  });
});

describe("install: the user's .p12", () => {
  it("is Thunderbird's export when it is as strong as ours, offered once the certificate is installed", async () => {
    const world = new World();
    const done = await install(world, world.enroller());
    expect(done.step).toBe('installed');
    expect(world.downloads.map((d) => new TextDecoder().decode(d.bytes))).toEqual(['P12[exported DBKEY-alice@example.test]']);
    expect(done.history.some((h) => h.note?.includes('building the .p12'))).toBe(false);
  });

  it('is built by the flow after "installed" when the export is weaker, or fails', async () => {
    for (const result of ['weak', 'fail'] as const) {
      const world = new World();
      world.certStore.exportResult = result;
      const done = await install(world, world.enroller());
      expect(done.step).toBe('installed');
      // Never the weaker file: ours, built from the stored key under the passphrase.
      expect(world.downloads.map((d) => new TextDecoder().decode(d.bytes))).toEqual([`P12[alice@example.test|${done.chainPem!.length}]`]);
      const notes = done.history.map((h) => h.note ?? '');
      expect(notes.indexOf('building the .p12 file for download')).toBeGreaterThan(done.history.findIndex((h) => h.step === 'installed') - 1);
      expect(notes).toContain('.p12 file offered for download');
    }
  });
});

describe('download at any time', () => {
  it("gives a .p12 exported by Thunderbird under a new passphrase, or the chain without one", async () => {
    const world = new World();
    const enroller = world.enroller();
    await install(world, enroller);
    world.downloads.length = 0;
    expect(await enroller.download('id1', 'a new passphrase')).toEqual({ filename: 'alice@example.test.p12' });
    expect(world.certStore.exports.at(-1)).toEqual({ dbKey: 'DBKEY-alice@example.test', passphrase: 'a new passphrase' });
    expect(new TextDecoder().decode(world.downloads[0]!.bytes)).toBe('P12[exported DBKEY-alice@example.test]');
    expect(await enroller.download('id1', undefined)).toEqual({ filename: 'alice@example.test.pem' });
    await expect(enroller.download('id1', 'short')).rejects.toMatchObject({ code: 'weakPassphrase' });
  });

  it('never offers a weaker export: without a kept key it says so, with one it builds ours', async () => {
    const world = new World();
    const enroller = world.enroller();
    await install(world, enroller);
    world.certStore.exportResult = 'weak';
    world.downloads.length = 0;
    await expect(enroller.download('id1', 'a new passphrase')).rejects.toMatchObject({ code: 'noKey' });
    expect(world.downloads).toEqual([]);

    const keeping = new World();
    const { enrollment } = await keeping.enroller().start({ ...ALICE, passphrase: 'correct horse battery', termsAgreed: true, keepKey: true });
    const k = keeping.enroller();
    await k.advance(enrollment.id);
    await keeping.deliver(k, challengeMail(ALICE.email));
    await keeping.elapse(k, POST_AFTER_REPLY_MS + 60_000);
    keeping.certStore.exportResult = 'fail';
    keeping.downloads.length = 0;
    expect(await k.download('id1', 'correct horse battery')).toEqual({ filename: 'alice@example.test.p12' });
    expect(new TextDecoder().decode(keeping.downloads[0]!.bytes)).toMatch(/^P12\[alice@example\.test\|/);
  });
});
