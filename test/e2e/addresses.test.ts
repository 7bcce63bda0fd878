/**
 * Several addresses in one certificate, in a real Thunderbird against the sandbox CA: alice has an
 * alias at her provider (delivered to her Inbox, allowed as her From) and an identity for it in
 * the same account. One click with the alias ticked under "Also for these addresses" makes one
 * order with both identifiers; the two challenge mails are answered, each from its own identity;
 * the certificate names both, is set on both identities, and Thunderbird signs with it from the
 * alias too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertificateRecord, Enrollment } from '../../src/enroll/state';
import { ALICE_ALIAS, addAliasIdentity } from '../../scripts/harness/accounts';
import { certSummary, cmsVerify, contentType, mimeText } from '../../scripts/harness/checks';
import { sendOrThrow } from '../../scripts/harness/compose';
import { answerTrustQuestion, certificates, openPopup, popupVisible, repliesFrom, startInPopup, waitForEnrollment, waitForVerdict } from '../../scripts/harness/drive';
import { deliveredMail } from '../../scripts/harness/mail';
import { IDENTITY_KEY, type Thunderbird } from '../../scripts/harness/thunderbird';
import { startWorld, type World } from '../../scripts/harness/world';

/** The certificate Thunderbird has set on an identity for signing and for encryption: SHA-256 fingerprints. */
function identityCerts(tb: Thunderbird, identityKey: string): Promise<{ signing: string | null; encryption: string | null }> {
  return tb.chrome(`
    const { MailServices } = ChromeUtils.importESModule('resource:///modules/MailServices.sys.mjs');
    const identity = MailServices.accounts.getIdentity(arguments[0]);
    const certdb = Cc['@mozilla.org/security/x509certdb;1'].getService(Ci.nsIX509CertDB);
    const of = (attr) => {
      const dbKey = identity.getCharAttribute(attr);
      const cert = dbKey ? certdb.findCertByDBKey(dbKey) : null;
      return cert ? cert.sha256Fingerprint : null;
    };
    return { signing: of('signing_cert_dbkey'), encryption: of('encryption_cert_dbkey') };
  `, [identityKey]);
}

const leafPem = (chainPem: string): string => /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(chainPem)![0];

describe('two addresses in one certificate', () => {
  let world: World | undefined;
  let aliasId = '';
  let enrollment: Enrollment | undefined;
  let records: CertificateRecord[] = [];

  function w(): World {
    if (!world) throw new Error('the world did not start');
    return world;
  }

  beforeAll(async () => {
    world = await startWorld({ userAliases: [ALICE_ALIAS] });
    aliasId = await addAliasIdentity(world.tb, world.user, ALICE_ALIAS);
    await startInPopup(world.tb, { email: world.user.email, alsoFor: [aliasId] });
    enrollment = await waitForEnrollment(world.tb, world.user.email, undefined, 150_000);
    records = await certificates(world.tb);
  }, 240_000);

  afterAll(async () => {
    await world?.dispose();
  });

  it('two addresses: one order with both identifiers, two challenge mails, each answered from its own identity', () => {
    const { sandbox, user } = w();
    expect(enrollment?.error).toBeUndefined();
    expect(enrollment?.step).toBe('installed');
    expect(enrollment?.addresses).toEqual([{ identityId: IDENTITY_KEY, email: user.email }, { identityId: aliasId, email: ALICE_ALIAS }]);
    expect(enrollment?.confirmed?.map((c) => c.email)).toEqual([user.email, ALICE_ALIAS]);
    expect(enrollment?.confirmed?.every((c) => c.answeredMail !== undefined)).toBe(true);
    // The CA saw one order, for both mailboxes, and it was issued.
    const orders = sandbox.orders();
    expect(orders).toHaveLength(1);
    expect([...orders[0]!.identifiers].sort()).toEqual([ALICE_ALIAS, user.email].sort());
    expect(orders[0]!.status).toBe('valid');
    // One challenge mail per address, both into alice's mailbox; one valid reply from each address.
    const sent = sandbox.challengesSent();
    expect(sent.map((c) => c.identifier).sort()).toEqual([ALICE_ALIAS, user.email].sort());
    expect(repliesFrom(sandbox, user.email).map((r) => r.verdict)).toEqual(['valid']);
    expect(repliesFrom(sandbox, ALICE_ALIAS).map((r) => r.verdict)).toEqual(['valid']);
  });

  it('two addresses: the certificate names both and is set on both identities', async () => {
    const { tb, user } = w();
    const owner = records.find((r) => r.identityId === IDENTITY_KEY);
    const covered = records.find((r) => r.identityId === aliasId);
    expect(owner?.identities?.map((a) => a.email)).toEqual([user.email, ALICE_ALIAS]);
    expect(covered?.coveredBy).toBe(IDENTITY_KEY);
    expect(covered?.sha256Fingerprint).toBe(owner?.sha256Fingerprint);
    // OpenSSL reads both addresses in the subjectAltName.
    const summary = certSummary(leafPem(owner!.chainPem));
    expect([...summary.emails].sort()).toEqual([ALICE_ALIAS, user.email].sort());
    // Thunderbird has the one certificate on both identities, for signing and encryption.
    const fingerprint = owner!.sha256Fingerprint.toUpperCase();
    for (const identityKey of [IDENTITY_KEY, aliasId]) {
      const set = await identityCerts(tb, identityKey);
      expect(set.signing?.toUpperCase()).toBe(fingerprint);
      expect(set.encryption?.toUpperCase()).toBe(fingerprint);
    }
  });

  it('two addresses: once the root is trusted, Thunderbird signs from the alias, and the popup on the alias says whose certificate it shares', async () => {
    const { tb, user, sandbox } = w();
    await answerTrustQuestion(tb, 'accept');
    expect((await waitForVerdict(tb, (v) => v !== 'untrusted-root')).verdict).toBe('ready');
    const subject = `signed from the alias ${Date.now()}`;
    const sent = await sendOrThrow(tb, { identityKey: aliasId, to: user.email, subject, body: 'Signed as my alias.\n', sign: true, encrypt: false });
    expect(sent).toMatchObject({ signed: true });
    const raw = await deliveredMail(sandbox, user, subject);
    expect(contentType(raw)).toBe('multipart/signed');
    expect(mimeText(cmsVerify(raw, sandbox.mailboxRootPem))).toContain('Signed as my alias.');

    await tb.closePopup();
    await openPopup(tb);
    await tb.popupSetValue('#identity-select', aliasId);
    await tb.waitInPopup('const el = content.document.querySelector("#cert-covered-by"); return !!el && !el.closest("[hidden]");', 15_000);
    expect(await popupVisible(tb, '#cert-covered-by')).toBe(true);
  }, 180_000);
});
