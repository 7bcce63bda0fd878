/**
 * Scenario 6 (docs/E2E.md) — renew and revoke from the popup, in a real Thunderbird against the
 * sandbox: Renew runs a whole new order (one more challenge mail, one more reply) that replaces
 * the certificate on the identity; Revoke with a reason (the add-on asks the CA) marks it
 * revoked in the add-on's record and in the popup, and disables Revoke.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertificateRecord, Enrollment } from '../../src/enroll/state';
import { POPUP, certificates, openPopup, popupVisible, repliesFrom, startInPopup, waitForEnrollment } from '../../scripts/harness/drive';
import { startWorld, type World } from '../../scripts/harness/world';

describe('renew and revoke from the popup', () => {
  let world: World | undefined;
  let first: Enrollment | undefined;
  let firstCert: CertificateRecord | undefined;
  const passphrase = 'renew and revoke passphrase';

  function w(): World {
    if (!world) throw new Error('the world did not start');
    return world;
  }

  beforeAll(async () => {
    world = await startWorld();
    await startInPopup(world.tb, { email: world.user.email, passphrase });
    first = await waitForEnrollment(world.tb, world.user.email, undefined, 120_000);
    firstCert = (await certificates(world.tb)).find((c) => c.email === world?.user.email);
  }, 180_000);

  afterAll(async () => {
    await world?.dispose();
  });

  it('renews: a new order, one more reply, a new certificate that replaces the first', async () => {
    const { tb, user, sandbox } = w();
    expect(first?.step).toBe('installed');
    expect(firstCert).toBeDefined();
    await tb.closePopup();
    await openPopup(tb);
    await tb.popupSetValue(POPUP.generatePassphrase, false);
    await tb.popupSetValue(POPUP.passphrase, passphrase);
    await tb.popupSetValue(POPUP.passphraseConfirm, passphrase);
    await tb.popupClick(POPUP.renew);
    const renewed = await waitForEnrollment(tb, user.email, undefined, 120_000, (first?.createdAt ?? 0) + 1);
    expect(renewed.error).toBeUndefined();
    expect(renewed.step).toBe('installed');
    expect(renewed.id).not.toBe(first?.id);
    expect(renewed.replaces).toBeDefined();
    expect(sandbox.challengesSent().filter((c) => c.identifier === user.email)).toHaveLength(2);
    expect(repliesFrom(sandbox, user.email).map((r) => r.verdict)).toEqual(['valid', 'valid']);
    const now = (await certificates(tb)).find((c) => c.email === user.email);
    expect(now?.enrollmentId).toBe(renewed.id);
    expect(now?.chainPem).not.toBe(firstCert?.chainPem);
  }, 180_000);

  it('revokes with a reason: the record and the popup say so', async () => {
    const { tb, user } = w();
    await tb.closePopup();
    await openPopup(tb);
    await tb.waitInPopup('const b = content.document.querySelector(arguments[0]); return !!b && !b.closest("[hidden]") && !b.disabled;', 15_000, [POPUP.revoke]);
    await tb.popupClick(POPUP.revoke);
    await tb.popupSetValue(POPUP.revokeReason, '4');
    await tb.popupClick(POPUP.revokeConfirm);
    const deadline = Date.now() + 60_000;
    let record = (await certificates(tb)).find((c) => c.email === user.email);
    while (record?.revoked === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      record = (await certificates(tb)).find((c) => c.email === user.email);
    }
    expect(record?.revoked?.reason).toBe(4);
    await tb.waitInPopup('const e = content.document.querySelector("#cert-revoked"); return !!e && !e.hidden;', 15_000);
    expect(await popupVisible(tb, '#cert-revoked')).toBe(true);
    expect(await tb.popup<boolean>('return content.document.querySelector(arguments[0]).disabled;', [POPUP.revoke])).toBe(true);
  }, 120_000);
});
