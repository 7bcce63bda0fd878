/**
 * S/MIME-signed challenges (RFC 8551), signed by the real OpenSSL (`openssl smime -sign`), with
 * a test CA and certificates made per run (test-only keys in a temp folder).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectChallengeMail, type CheckEnvironment } from '../../src/messages/check';
import { createZoneResolver } from '../../src/messages/dns';
import { parseMessage } from '../../src/messages/rfc5322';
import { verifySmime } from '../../src/messages/smime';
import { makeTestCa, openssl, type TestCa } from '../helpers/openssl';
import { makeTempDir, type TempDir } from '../helpers/process';
import { CA_FROM, crypto, IDENTITY, MAIL_DATE, ORDER_CREATED, TOKEN1 } from './support';

let dir: TempDir;
let ca: TestCa;
let otherCa: TestCa;

/** An S/MIME signing certificate for `email`, issued by `issuer`. */
function issueSmimeCert(issuer: TestCa, email: string, name: string): { cert: string; key: string } {
  const key = join(dir.path, `${name}.key`);
  const csr = join(dir.path, `${name}.csr`);
  const cert = join(dir.path, `${name}.pem`);
  const ext = join(dir.path, `${name}.ext`);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  writeFileSync(ext, `subjectAltName=email:${email}\nextendedKeyUsage=emailProtection\nkeyUsage=critical,digitalSignature\n`);
  openssl(['x509', '-req', '-in', csr, '-CA', issuer.certPath, '-CAkey', issuer.keyPath, '-CAcreateserial', '-out', cert, '-days', '1', '-extfile', ext]);
  return { cert, key };
}

const PROTECTED_ENTITY = [
  'Content-Type: text/plain; charset=us-ascii',
  `From: ACME CA <${CA_FROM}>`,
  `To: <${IDENTITY}>`,
  `Subject: ACME: ${TOKEN1}`,
  '',
  'This is an automatically generated ACME challenge.',
  '',
].join('\r\n');

/** Signs `entity` with openssl and adds the outer header a CA would send. */
function signedChallenge(signer: { cert: string; key: string }, options: { entity?: string; opaque?: boolean } = {}): string {
  const input = join(dir.path, 'entity.txt');
  writeFileSync(input, options.entity ?? PROTECTED_ENTITY);
  const out = join(dir.path, 'signed.eml');
  openssl(['smime', '-sign', '-in', input, '-signer', signer.cert, '-inkey', signer.key, '-out', out, '-from', CA_FROM, '-to', IDENTITY,
    '-subject', `ACME: ${TOKEN1}`, ...(options.opaque ? ['-nodetach'] : [])]);
  const signed = readFileSync(out, 'latin1');
  return `Date: ${MAIL_DATE}\r\nMessage-ID: <smime-1@ca.example>\r\nAuto-Submitted: auto-generated; type=acme\r\n${signed}`;
}

beforeAll(() => {
  dir = makeTempDir('smime');
  mkdirSync(join(dir.path, 'root'));
  mkdirSync(join(dir.path, 'other'));
  ca = makeTestCa(join(dir.path, 'root'), 'SMIME Test Root');
  otherCa = makeTestCa(join(dir.path, 'other'), 'Untrusted Root');
});
afterAll(() => {
  dir.remove();
});

// The certificates are issued during the run, so the S/MIME clock is the real one (nothing asserts it).
const env = (): CheckEnvironment => ({ resolver: createZoneResolver({}), crypto, now: () => new Date(), trustAnchors: [ca.certPem] });
const expectation = { identity: IDENTITY, challengeFrom: CA_FROM, orderCreatedAt: ORDER_CREATED };

describe('S/MIME-signed challenges (RFC 8551)', () => {
  it('openssl-smime-detached-genuine: answers, authenticated by S/MIME', async () => {
    const signer = issueSmimeCert(ca, CA_FROM, 'good');
    const v = await inspectChallengeMail(signedChallenge(signer), expectation, env());
    expect(v.reasons).toEqual([]);
    expect(v.verdict).toBe('answer');
    expect(v.verdict === 'answer' && v.authenticatedBy).toBe('smime');
  });

  it('openssl-smime-opaque-genuine: application/pkcs7-mime signed-data also passes', async () => {
    const signer = issueSmimeCert(ca, CA_FROM, 'opaque');
    const raw = signedChallenge(signer, { opaque: true });
    expect(raw).toMatch(/application\/(x-)?pkcs7-mime/);
    expect((await inspectChallengeMail(raw, expectation, env())).verdict).toBe('answer');
  });

  it('openssl-smime-detached-wrong_signer_address: smime-signer-mismatch', async () => {
    const signer = issueSmimeCert(ca, 'someone-else@ca.example', 'wrong');
    const v = await inspectChallengeMail(signedChallenge(signer), expectation, env());
    expect(v.reasons.map((r) => r.code)).toEqual(['smime-signer-mismatch']);
  });

  it('openssl-smime-detached-untrusted_chain: smime-untrusted', async () => {
    const signer = issueSmimeCert(otherCa, CA_FROM, 'untrusted');
    const v = await inspectChallengeMail(signedChallenge(signer), expectation, env());
    expect(v.reasons.map((r) => r.code)).toEqual(['smime-untrusted']);
    const direct = await verifySmime(parseMessage(signedChallenge(signer)), { crypto, trustAnchors: [], now: () => new Date() });
    expect(direct.status).toBe('untrusted');
  });

  it('openssl-smime-detached-expired_certificate: smime-untrusted once the injected clock passes notAfter', async () => {
    const signer = issueSmimeCert(ca, CA_FROM, 'expiring');
    const later = new Date(Date.now() + 3 * 24 * 3600 * 1000); // the certificates live one day
    const v = await inspectChallengeMail(signedChallenge(signer), expectation, { ...env(), now: () => later });
    expect(v.reasons.map((r) => r.code)).toEqual(['smime-untrusted']);
  });

  it('a trust anchor that cannot be read makes the mail untrusted, not the check throw', async () => {
    const signer = issueSmimeCert(ca, CA_FROM, 'badanchor');
    const broken = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    const v = await inspectChallengeMail(signedChallenge(signer), expectation, { ...env(), trustAnchors: [broken] });
    expect(v.reasons.map((r) => r.code)).toEqual(['smime-untrusted']);
  });

  it('openssl-smime-detached-body_modified: smime-invalid', async () => {
    const signer = issueSmimeCert(ca, CA_FROM, 'tampered');
    const raw = signedChallenge(signer).replace('automatically generated', 'hand-written');
    const v = await inspectChallengeMail(raw, expectation, env());
    expect(v.reasons.map((r) => r.code)).toEqual(['smime-invalid']);
  });

  it('openssl-smime-detached-headers_unprotected: a signature over the body alone is not enough', async () => {
    const signer = issueSmimeCert(ca, CA_FROM, 'bare');
    const raw = signedChallenge(signer, { entity: 'Content-Type: text/plain\r\n\r\nchallenge\r\n' });
    const v = await inspectChallengeMail(raw, expectation, env());
    expect(v.reasons.map((r) => r.code)).toEqual(['smime-headers-unprotected']);
  });

  it('openssl-smime-detached-outer_subject_changed: the signed Subject must match the outer one', async () => {
    const signer = issueSmimeCert(ca, CA_FROM, 'resubject');
    const other = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const raw = signedChallenge(signer).replace(`Subject: ACME: ${TOKEN1}`, `Subject: ACME: ${other}`);
    const v = await inspectChallengeMail(raw, expectation, env());
    expect(v.tokenPart1).toBe(other);
    expect(v.reasons.map((r) => r.code)).toEqual(['smime-headers-unprotected']);
  });
});
