/**
 * The sandbox CA refuses what a strict CA refuses (RFC 8555 §6, §7; RFC 8823 §3; the S/MIME BR
 * strict profile for CSRs), answers with the right problem types and statuses, and its fault
 * knobs do what they say. Driven by the independent test client, never by src/acme.
 */
import { createHmac, createPrivateKey, generateKeyPairSync, webcrypto, type KeyObject } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_FAULTS, startSandbox, type Sandbox, type SandboxUser } from '../../sandbox/index';
import { b64, makeCsr, responseValue, TestAcmeClient } from './acme-test-client';
import { answer, challengeOf, mailFor, order } from './flow';
import { armour, sendReply } from './mailbox';

let sandbox: Sandbox;
let alice: SandboxUser;
let bob: SandboxUser;

beforeAll(async () => {
  sandbox = await startSandbox({ replyTimeoutSeconds: 30 });
  alice = sandbox.users[0]!;
  bob = sandbox.users[1]!;
});

afterAll(async () => {
  await sandbox.stop();
});

const problemType = (json: Record<string, unknown> | undefined): unknown => json?.['type'];
const acmeError = (name: string): string => `urn:ietf:params:acme:error:${name}`;

describe('sandbox CA: JWS and account rules (RFC 8555 §6, §7.3)', () => {
  it('refuses a spoiled signature, a wrong url, a reused nonce and a missing nonce', async () => {
    const client = new TestAcmeClient(sandbox);
    const newAccount = await client.url('newAccount');
    const spoiled = await client.post(newAccount, { termsOfServiceAgreed: true }, { spoilSignature: true });
    expect([spoiled.status, problemType(spoiled.json)]).toEqual([400, acmeError('malformed')]);
    expect(spoiled.json?.['detail']).toMatch(/signature does not verify/);

    const wrongUrl = await client.post(newAccount, { termsOfServiceAgreed: true }, { headerUrl: `${newAccount}?x=1` });
    expect([wrongUrl.status, problemType(wrongUrl.json)]).toEqual([403, acmeError('unauthorized')]);

    expect((await client.newAccount()).status).toBe(201);
    const used = client.lastNonce;
    const replay = await client.post(client.kid!, undefined, { nonce: used });
    expect([replay.status, problemType(replay.json)]).toEqual([400, acmeError('badNonce')]);
    expect(replay.headers.get('replay-nonce'), 'a fresh nonce comes with badNonce').toBeTruthy();

    const header = { alg: 'ES256', kid: client.kid, url: client.kid };
    const unsignedNonce = await client.send(client.kid!, await client.jws(client.kid!, undefined, { nonce: 'x' }, client.key, { ...header }));
    expect(problemType(unsignedNonce.json)).toBe(acmeError('badNonce'));
  });

  it('insists on POST-as-GET, application/jose+json, and kid rather than jwk once an account exists', async () => {
    const client = new TestAcmeClient(sandbox);
    await client.newAccount();
    const p = await order(sandbox, alice, client);
    const get = await client.fetch(p.orderUrl);
    expect(get.status).toBe(405);
    const wrongType = await client.send(p.orderUrl, await client.jws(p.orderUrl, undefined), 'application/json');
    expect([wrongType.status, problemType(wrongType.json)]).toEqual([415, acmeError('malformed')]);
    const withJwk = await client.post(p.orderUrl, undefined, { useJwk: true });
    expect([withJwk.status, problemType(withJwk.json)]).toEqual([400, acmeError('malformed')]);
    const getWithBody = await client.post(p.orderUrl, {});
    expect(getWithBody.json?.['detail']).toMatch(/POST-as-GET/);
  });

  it('asks for the terms, finds existing accounts, refuses onlyReturnExisting for an unknown key, and shuts a deactivated account out', async () => {
    const client = new TestAcmeClient(sandbox);
    const noTerms = await client.post(await client.url('newAccount'), { contact: ['mailto:a@example.test'] });
    expect([noTerms.status, problemType(noTerms.json)]).toEqual([403, acmeError('userActionRequired')]);
    expect(noTerms.headers.get('link')).toMatch(/rel="terms-of-service"/);
    const unknown = await client.post(await client.url('newAccount'), { onlyReturnExisting: true });
    expect([unknown.status, problemType(unknown.json)]).toEqual([400, acmeError('accountDoesNotExist')]);
    const created = await client.newAccount();
    const again = await client.post(await client.url('newAccount'), { onlyReturnExisting: true }, { useJwk: true });
    expect(again.status).toBe(200);
    expect(again.headers.get('location')).toBe(created.headers.get('location'));
    const badContact = await client.post(client.kid!, { contact: ['tel:+1555'] });
    expect(problemType(badContact.json)).toBe(acmeError('unsupportedContact'));
    expect((await client.post(client.kid!, { status: 'deactivated' })).json?.['status']).toBe('deactivated');
    const afterwards = await client.get(client.kid!);
    expect([afterwards.status, problemType(afterwards.json)]).toEqual([403, acmeError('unauthorized')]);
    const lookup = await client.post(await client.url('newAccount'), { onlyReturnExisting: true }, { useJwk: true });
    expect(problemType(lookup.json)).toBe(acmeError('unauthorized'));
  });

  it('accepts an external account binding and refuses a wrong one', async () => {
    const eab = sandbox.eab!;
    const client = new TestAcmeClient(sandbox);
    const url = await client.url('newAccount');
    const binding = (key: string): unknown => {
      const protectedB64 = b64(JSON.stringify({ alg: 'HS256', kid: eab.kid, url }));
      const payloadB64 = b64(JSON.stringify(client.jwk));
      const signature = createHmac('sha256', Buffer.from(key, 'base64url')).update(`${protectedB64}.${payloadB64}`).digest();
      return { protected: protectedB64, payload: payloadB64, signature: b64(signature) };
    };
    const wrong = await client.post(url, { termsOfServiceAgreed: true, externalAccountBinding: binding(b64(Buffer.alloc(32, 1))) });
    expect([wrong.status, problemType(wrong.json)]).toEqual([403, acmeError('unauthorized')]);
    const right = await client.post(url, { termsOfServiceAgreed: true, externalAccountBinding: binding(eab.hmacKey) });
    expect(right.status, right.text).toBe(201);
  });
});

describe('sandbox CA: orders for email identifiers only (RFC 8823 §2)', () => {
  it('refuses dns identifiers with rejectedIdentifier and a subproblem', async () => {
    const client = new TestAcmeClient(sandbox);
    await client.newAccount();
    const reply = await client.post(await client.url('newOrder'), { identifiers: [{ type: 'dns', value: 'example.test' }] });
    expect([reply.status, problemType(reply.json)]).toEqual([400, acmeError('rejectedIdentifier')]);
    expect(reply.json?.['subproblems']).toEqual([expect.objectContaining({ type: acmeError('rejectedIdentifier'), identifier: { type: 'dns', value: 'example.test' } })]);
    const display = await client.post(await client.url('newOrder'), { identifiers: [{ type: 'email', value: 'Alice <alice@example.test>' }] });
    expect(problemType(display.json)).toBe(acmeError('rejectedIdentifier'));
  });

  it('offers exactly one email-reply-00 challenge with from and a 128-bit token', async () => {
    const p = await order(sandbox, alice);
    expect(p.challenge).toMatchObject({ type: 'email-reply-00', from: sandbox.caAddress, status: 'pending' });
    expect(Buffer.from(p.challenge.token, 'base64url').length).toBeGreaterThanOrEqual(16);
  });
});

describe('sandbox CA: replies (RFC 8823 §3.2)', () => {
  it('refuses an unsigned reply, even with the right value', async () => {
    const p = await order(sandbox, alice);
    const { mail, tokenPart1 } = await mailFor(sandbox, alice, p.authzUrl);
    const value = responseValue(tokenPart1, p.challenge.token, p.client.thumbprint, 'string');
    await sandbox.deliverToCa([
      `From: <${alice.email}>`, `To: <${sandbox.caAddress}>`, `Subject: Re: ${mail.subject}`,
      `Date: ${new Date().toUTCString()}`, 'Message-ID: <unsigned-1@example.test>',
      `In-Reply-To: ${mail.messageId}`, 'Content-Type: text/plain', '', armour(value),
    ].join('\r\n'));
    await p.client.post(p.challenge.url, {});
    const authz = await p.client.pollUntil(p.authzUrl, (a) => a['status'] !== 'pending');
    expect(authz['status']).toBe('invalid');
    expect(challengeOf(authz).error).toMatchObject({ type: acmeError('unauthorized'), detail: expect.stringMatching(/no passing DKIM signature from example\.test: no DKIM-Signature at all/) as unknown });
    expect(sandbox.repliesReceived().at(-1)).toMatchObject({ dkim: 'none', verdict: 'invalid' });
  });

  it('refuses a signed reply with the wrong value (reply after the POST)', async () => {
    const p = await order(sandbox, alice);
    const { mail } = await mailFor(sandbox, alice, p.authzUrl);
    const posted = await p.client.post(p.challenge.url, {});
    expect(posted.json?.['status']).toBe('processing');
    await sendReply(sandbox, alice, mail, armour(b64(Buffer.alloc(32, 7))));
    const authz = await p.client.pollUntil(p.authzUrl, (a) => a['status'] !== 'pending');
    expect(challengeOf(authz).error?.type).toBe(acmeError('incorrectResponse'));
    expect(sandbox.repliesReceived().at(-1)).toMatchObject({ dkim: 'pass', verdict: 'invalid' });
  });

  it('refuses a reply to an unknown challenge and leaves the real challenge untouched', async () => {
    const p = await order(sandbox, alice);
    const { mail } = await mailFor(sandbox, alice, p.authzUrl);
    await sendReply(sandbox, alice, { ...mail, messageId: '<not-a-challenge@ca.test>' }, armour(b64(Buffer.alloc(32))));
    expect(sandbox.repliesReceived().at(-1)).toMatchObject({ verdict: 'invalid', detail: expect.stringMatching(/not the Message-ID of any challenge/) as unknown });
    expect(challengeOf((await p.client.get(p.authzUrl)).json!).status).toBe('pending');
  });

  it('refuses a reply from another user of the same provider', async () => {
    const p = await order(sandbox, alice);
    const { mail, tokenPart1 } = await mailFor(sandbox, alice, p.authzUrl);
    await sendReply(sandbox, bob, mail, armour(responseValue(tokenPart1, p.challenge.token, p.client.thumbprint, 'string')));
    await p.client.post(p.challenge.url, {});
    const authz = await p.client.pollUntil(p.authzUrl, (a) => a['status'] !== 'pending');
    expect(challengeOf(authz).error).toMatchObject({ type: acmeError('unauthorized'), detail: expect.stringMatching(/not from the mailbox being validated/) as unknown });
  });
});

describe('sandbox CA: finalize, download, revocation, key change, ARI', () => {
  it('refuses CSRs with an extra extension, another SAN, a CA key usage or an organisation subject; then issues, offers the alternate chain, revokes and moves the ARI window', async () => {
    const p = await order(sandbox, alice);
    expect((await answer(sandbox, alice, p))['status']).toBe('valid');
    const finalize = async (csr: Uint8Array): Promise<Record<string, unknown> | undefined> => (await p.client.post(p.finalizeUrl, { csr: b64(csr) })).json;

    const extra = await makeCsr({ emails: [alice.email], extraExtensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.emailProtection])] });
    expect(await finalize(extra.der)).toMatchObject({ type: acmeError('badCSR'), status: 400, detail: expect.stringMatching(/extension 2\.5\.29\.37 is not allowed/) as unknown });
    const other = await makeCsr({ emails: [bob.email] });
    expect(await finalize(other.der)).toMatchObject({ type: acmeError('badCSR'), detail: expect.stringMatching(/lacks the ordered mailbox alice@example\.test/) as unknown });
    const both = await makeCsr({ emails: [alice.email, bob.email] });
    expect((await finalize(both.der))?.['detail']).toMatch(/bob@example\.test, which the order does not hold/);
    const certSign = await makeCsr({ emails: [alice.email], keyUsage: x509.KeyUsageFlags.keyCertSign });
    expect((await finalize(certSign.der))?.['type']).toBe(acmeError('badCSR'));
    const orgSubject = await makeCsr({ emails: [alice.email], subject: 'CN=alice@example.test, O=Example' });
    expect((await finalize(orgSubject.der))?.['detail']).toMatch(/subject attribute O is not allowed/);

    const good = await makeCsr({ emails: [alice.email], keyUsage: x509.KeyUsageFlags.digitalSignature });
    expect((await finalize(good.der))?.['status']).toBe('valid');
    const valid = await p.client.pollUntil(p.orderUrl, (o) => o['status'] === 'valid');
    const chain = await p.client.get(valid['certificate'] as string);
    const alternate = /<([^>]+)>;rel="alternate"/.exec(chain.headers.get('link') ?? '')?.[1];
    expect(alternate).toBeDefined();
    const altChain = await p.client.get(alternate!);
    expect(altChain.text.split('-----BEGIN CERTIFICATE-----')[1]).toBe(chain.text.split('-----BEGIN CERTIFICATE-----')[1]);
    expect(altChain.text).not.toBe(chain.text);

    const leaf = new x509.X509Certificate(chain.text.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!);
    const aki = leaf.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId!;
    const certId = `${b64(Buffer.from(aki, 'hex'))}.${b64(Buffer.from(leaf.serialNumber, 'hex'))}`;
    const ariBase = await p.client.url('renewalInfo');
    const before = (await (await p.client.fetch(`${ariBase}/${certId}`)).json()) as { suggestedWindow: { start: string; end: string } };
    expect(Date.parse(before.suggestedWindow.start)).toBeGreaterThan(Date.now());

    // Revocation by the certificate's own key (jwk), RFC 8555 §7.6.
    const certKeyJwk = await webcryptoToNode(good.keys);
    const revoker = new TestAcmeClient(sandbox, certKeyJwk);
    const revoke = await revoker.post(await revoker.url('revokeCert'), { certificate: b64(new Uint8Array(leaf.rawData)), reason: 4 });
    expect(revoke.status, revoke.text).toBe(200);
    const again = await p.client.post(await p.client.url('revokeCert'), { certificate: b64(new Uint8Array(leaf.rawData)) });
    expect(problemType(again.json)).toBe(acmeError('alreadyRevoked'));
    const after = (await (await p.client.fetch(`${ariBase}/${certId}`)).json()) as { suggestedWindow: { start: string; end: string } };
    expect(Date.parse(after.suggestedWindow.end)).toBeLessThan(Date.now());
  });

  it('rolls the account key over (RFC 8555 §7.3.5): the old key stops working', async () => {
    const client = new TestAcmeClient(sandbox);
    await client.newAccount();
    const newKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const fresh = new TestAcmeClient(sandbox, newKey);
    const url = await client.url('keyChange');
    const inner = JSON.parse(await fresh.jws(url, { account: client.kid, oldKey: client.jwk }, {}, newKey, { jwk: fresh.jwk })) as unknown;
    const changed = await client.post(url, inner);
    expect(changed.status, changed.text).toBe(200);
    const old = await client.get(client.kid!);
    expect(old.json?.['detail']).toMatch(/signature does not verify/);
    fresh.kid = client.kid;
    expect((await fresh.get(client.kid!)).status).toBe(200);
  });
});

describe('sandbox submission MTA: a careful provider', () => {
  const send = async (auth: { user: string; pass: string }, mail: { from: string; to: string; envelopeFrom?: string }): Promise<unknown> => {
    const transport = nodemailer.createTransport({ host: sandbox.smtp.host, port: sandbox.smtp.port, secure: false, ignoreTLS: true, auth });
    try {
      await transport.sendMail({
        from: mail.from, to: mail.to, subject: 'hello', text: 'hello',
        ...(mail.envelopeFrom === undefined ? {} : { envelope: { from: mail.envelopeFrom, to: mail.to } }),
      });
      return undefined;
    } catch (error) {
      return error;
    } finally {
      transport.close();
    }
  };

  it('refuses a wrong password, another sender, a forged From and relaying', async () => {
    expect(await send({ user: alice.email, pass: 'wrong' }, { from: alice.email, to: bob.email })).toMatchObject({ responseCode: 535 });
    expect(await send({ user: alice.email, pass: alice.password }, { from: alice.email, to: bob.email, envelopeFrom: bob.email })).toMatchObject({ responseCode: 553 });
    expect(await send({ user: alice.email, pass: alice.password }, { from: bob.email, to: bob.email, envelopeFrom: alice.email })).toMatchObject({ responseCode: 550 });
    expect(await send({ user: alice.email, pass: alice.password }, { from: alice.email, to: 'someone@elsewhere.test' })).toMatchObject({ responseCode: 550 });
    expect(await send({ user: alice.email, pass: alice.password }, { from: alice.email, to: bob.email })).toBeUndefined();
  });
});

describe('sandbox CA: fault knobs', () => {
  it('injects badNonce, 500, rateLimited with Retry-After in both forms, dropped connections and processing', async () => {
    const client = new TestAcmeClient(sandbox);
    await client.newAccount();
    try {
      sandbox.configure({ faults: { badNonceRate: 1 } });
      expect(problemType((await client.get(client.kid!)).json)).toBe(acmeError('badNonce'));
      sandbox.configure({ faults: { badNonceRate: 0, serverErrorRate: 1 } });
      const failed = await client.fetch(sandbox.directoryUrl);
      expect([failed.status, failed.headers.get('retry-after')]).toEqual([500, null]);
      sandbox.configure({ faults: { serverErrorRetryAfter: true, retryAfterSeconds: 3 } });
      const down = await client.fetch(sandbox.directoryUrl);
      expect([down.status, down.headers.get('retry-after')]).toEqual([500, '3']);
      sandbox.configure({ faults: { serverErrorRetryAfter: false } });
      sandbox.configure({ faults: { serverErrorRate: 0, rateLimitRate: 1, retryAfterSeconds: 7 } });
      const limited = await client.fetch(sandbox.directoryUrl);
      expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '7']);
      sandbox.configure({ faults: { retryAfterFormat: 'http-date' } });
      const dated = await client.fetch(sandbox.directoryUrl);
      expect(Date.parse(dated.headers.get('retry-after') ?? '')).toBeGreaterThan(Date.now());
      sandbox.configure({ faults: { rateLimitRate: 0, dropRate: 1 } });
      await expect(client.fetch(sandbox.directoryUrl)).rejects.toThrow();
      sandbox.configure({ faults: { dropRate: 0.5 } });
      const outcomes = await Promise.allSettled([0, 1, 2, 3].map(() => client.fetch(sandbox.directoryUrl)));
      expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(2);
    } finally {
      sandbox.configure({ faults: NO_FAULTS });
    }
    sandbox.configure({ faults: { processingSeconds: 1 } });
    try {
      const p = await order(sandbox, alice, client);
      await answer(sandbox, alice, p);
      const csr = await makeCsr({ emails: [alice.email] });
      const finalized = await client.post(p.finalizeUrl, { csr: b64(csr.der) });
      expect([finalized.json?.['status'], finalized.headers.get('retry-after')]).toEqual(['processing', '1']);
      expect((await client.pollUntil(p.orderUrl, (o) => o['status'] === 'valid'))['certificate']).toBeTruthy();
    } finally {
      sandbox.configure({ faults: NO_FAULTS });
    }
  });
});

/** The Node KeyObject of a WebCrypto private key (the test client signs with Node crypto). */
async function webcryptoToNode(keys: CryptoKeyPair): Promise<KeyObject> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
}
