/**
 * The sandbox end to end with an independent test client (Node crypto, not src/acme): the
 * challenge mail is read over IMAP from the private Dovecot, the reply goes out through the
 * DKIM-signing submission MTA, and the issued certificate is checked with the real OpenSSL.
 * Also prints how long the whole sandbox takes to start and stop.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox, type SandboxUser } from '../../sandbox/index';
import { makeTempDir } from '../helpers/process';
import { fetchTrusting, openssl } from '../helpers/openssl';
import { makeCsr, responseValue, b64 } from './acme-test-client';
import { armour, sendReply, type InboxMessage } from './mailbox';
import { answer, mailFor, order, type Prepared } from './flow';
import { leftovers } from './leftovers';

let sandbox: Sandbox;
let alice: SandboxUser;
let startMs = 0;

beforeAll(async () => {
  const t0 = performance.now();
  sandbox = await startSandbox();
  startMs = performance.now() - t0;
  alice = sandbox.users.find((u) => u.email === 'alice@example.test')!;
});

afterAll(async () => {
  const t0 = performance.now();
  await sandbox.stop();
  const stopMs = performance.now() - t0;
  console.log(`sandbox start+stop ms=${Math.round(startMs + stopMs)} (start ${Math.round(startMs)}, stop ${Math.round(stopMs)})`);
  const ports = [sandbox.imap.port, sandbox.lmtp.port, sandbox.smtp.port, Number(new URL(sandbox.directoryUrl).port), Number(new URL(sandbox.dohUrl).port)];
  expect(await leftovers(sandbox.stateDir, sandbox.imap.port, ports)).toEqual({ processes: [], ports: [], stateDirExists: false });
});

/** Account, order for alice, authorization fetched (on-fetch sends the mail), mail read over IMAP. */
async function prepare(): Promise<Prepared & { mail: InboxMessage; tokenPart1: string }> {
  const p = await order(sandbox, alice);
  return { ...p, ...(await mailFor(sandbox, alice, p.authzUrl)) };
}

describe('sandbox issuance over IMAP and SMTP', () => {
  for (const tokenJoin of ['string', 'bytes'] as const) {
    it(`issues a strict-profile S/MIME certificate for alice (token halves joined as ${tokenJoin})`, async () => {
      sandbox.configure({ tokenJoin });
      const p = await prepare();
      expect(p.challenge.type).toBe('email-reply-00');
      expect(p.challenge.from).toBe(sandbox.caAddress);
      // ≥ 128 bits each: 16 bytes = 22 base64url characters.
      expect(Buffer.from(p.challenge.token, 'base64url').length).toBeGreaterThanOrEqual(16);
      expect(Buffer.from(p.tokenPart1, 'base64url').length).toBeGreaterThanOrEqual(16);

      await sendReply(sandbox, alice, p.mail, armour(responseValue(p.tokenPart1, p.challenge.token, p.client.thumbprint, tokenJoin)));
      const posted = await p.client.post(p.challenge.url, {});
      expect(posted.status, posted.text).toBe(200);
      const authz = await p.client.pollUntil(p.authzUrl, (a) => a['status'] !== 'pending');
      expect(authz['status'], JSON.stringify(authz)).toBe('valid');
      expect(sandbox.repliesReceived().at(-1)).toMatchObject({ verdict: 'valid', dkim: 'pass', from: alice.email });

      const ready = await p.client.pollUntil(p.orderUrl, (o) => o['status'] !== 'pending');
      expect(ready['status']).toBe('ready');
      const csr = await makeCsr({ emails: [alice.email] });
      const finalized = await p.client.post(p.finalizeUrl, { csr: b64(csr.der) });
      expect(finalized.status, finalized.text).toBe(200);
      const valid = await p.client.pollUntil(p.orderUrl, (o) => o['status'] === 'valid');
      const download = await p.client.get(valid['certificate'] as string);
      expect(download.status).toBe(200);
      expect(download.headers.get('content-type')).toBe('application/pem-certificate-chain');
      expect(download.headers.get('link')).toMatch(/rel="alternate"/);
      const pems = download.text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];
      expect(pems).toHaveLength(2);

      const text = openssl(['x509', '-noout', '-text'], pems[0]);
      expect(text).toMatch(/X509v3 Subject Alternative Name:\s*\n\s*email:alice@example\.test\s*\n/);
      expect(text).toMatch(/X509v3 Extended Key Usage:\s*\n\s*E-mail Protection\s*\n/);
      expect(text).toMatch(/X509v3 Key Usage: critical\s*\n\s*Digital Signature, Key Agreement\s*\n/);
      expect(text).toMatch(/2\.23\.140\.1\.5\.1\.3/);
      // Short-lived by default: 7 days (plus the minute of back-dating for clock skew).
      const notBefore = Date.parse(/Not Before: (.+)/.exec(text)![1]!);
      const notAfter = Date.parse(/Not After : (.+)/.exec(text)![1]!);
      expect(notAfter - notBefore).toBe(7 * 86_400_000 + 60_000);

      const dir = makeTempDir('sandbox-chain');
      try {
        writeFileSync(join(dir.path, 'leaf.pem'), pems[0]!);
        writeFileSync(join(dir.path, 'issuer.pem'), pems[1]!);
        const verified = openssl(['verify', '-CAfile', sandbox.mailboxRootPath, '-untrusted', join(dir.path, 'issuer.pem'), '-purpose', 'smimesign', join(dir.path, 'leaf.pem')]);
        expect(verified.trim()).toMatch(/leaf\.pem: OK$/);
      } finally {
        dir.remove();
      }
    });
  }

  it('keeps its TLS root and its mailbox root apart, as a public CA does', async () => {
    expect(sandbox.tlsRootPem).not.toBe(sandbox.mailboxRootPem);
    expect(readFileSync(sandbox.tlsRootPath, 'utf8')).toBe(sandbox.tlsRootPem);
    expect(readFileSync(sandbox.mailboxRootPath, 'utf8')).toBe(sandbox.mailboxRootPem);
    expect(readFileSync(sandbox.alternateMailboxRootPath, 'utf8')).toBe(sandbox.alternateMailboxRootPem);
    // The fingerprint as Thunderbird shows it, checked against OpenSSL's own.
    const fingerprint = /sha256 Fingerprint=(\S+)/i.exec(openssl(['x509', '-noout', '-fingerprint', '-sha256', '-in', sandbox.mailboxRootPath]))![1];
    expect(sandbox.mailboxRootSha256).toBe(fingerprint);
    expect(sandbox.mailboxRootSha256).toMatch(/^[0-9A-F]{2}(?::[0-9A-F]{2}){31}$/);

    // TLS: the ACME server chains to the TLS root only.
    const tlsOk = await fetchTrusting(sandbox.tlsRootPem)(sandbox.directoryUrl);
    expect(tlsOk.status).toBe(200);
    const tlsRefused = await fetchTrusting(sandbox.mailboxRootPem)(sandbox.directoryUrl).then(() => 'connected', (error: unknown) => String((error as { cause?: unknown }).cause ?? error));
    expect(tlsRefused).toMatch(/unable to (?:verify|get local issuer)/i);

    // E-mail: the issued certificate chains to the mailbox root (and through the cross-signed
    // intermediate to the alternate root), never to the TLS root.
    sandbox.configure({ tokenJoin: 'string' });
    const p = await order(sandbox, alice);
    expect((await answer(sandbox, alice, p))['status']).toBe('valid');
    const csr = await makeCsr({ emails: [alice.email] });
    expect((await p.client.post(p.finalizeUrl, { csr: b64(csr.der) })).status).toBe(200);
    const valid = await p.client.pollUntil(p.orderUrl, (o) => o['status'] === 'valid');
    const download = await p.client.get(valid['certificate'] as string);
    const alternateUrl = /<([^>]+)>;rel="alternate"/.exec(download.headers.get('link') ?? '')![1]!;
    const alternate = await p.client.get(alternateUrl);
    const dir = makeTempDir('sandbox-roots');
    try {
      const [leaf, issuer] = download.text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g)!;
      const crossSigned = alternate.text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g)![1]!;
      writeFileSync(join(dir.path, 'leaf.pem'), leaf);
      writeFileSync(join(dir.path, 'issuer.pem'), issuer!);
      writeFileSync(join(dir.path, 'cross.pem'), crossSigned);
      const verify = (root: string, intermediate: string): string => {
        try {
          return openssl(['verify', '-CAfile', root, '-untrusted', join(dir.path, intermediate), '-purpose', 'smimesign', join(dir.path, 'leaf.pem')]).trim();
        } catch (error) {
          return String((error as { stderr?: unknown }).stderr ?? error);
        }
      };
      expect(verify(sandbox.mailboxRootPath, 'issuer.pem')).toMatch(/leaf\.pem: OK$/);
      expect(verify(sandbox.alternateMailboxRootPath, 'cross.pem')).toMatch(/leaf\.pem: OK$/);
      expect(verify(sandbox.tlsRootPath, 'issuer.pem')).toMatch(/unable to get (?:local )?issuer certificate/);
    } finally {
      dir.remove();
    }
  });

  it('refuses a reply computed with the other token join, and says so', async () => {
    sandbox.configure({ tokenJoin: 'string' });
    const p = await prepare();
    await sendReply(sandbox, alice, p.mail, armour(responseValue(p.tokenPart1, p.challenge.token, p.client.thumbprint, 'bytes')));
    await p.client.post(p.challenge.url, {});
    const authz = await p.client.pollUntil(p.authzUrl, (a) => a['status'] !== 'pending');
    expect(authz['status']).toBe('invalid');
    const challenge = (authz['challenges'] as { error?: { type: string; detail: string } }[])[0]!;
    expect(challenge.error?.type).toBe('urn:ietf:params:acme:error:incorrectResponse');
    expect(challenge.error?.detail).toMatch(/other reading/);
  });
});
