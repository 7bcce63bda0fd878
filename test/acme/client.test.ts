import { webcrypto } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AccountDoesNotExistError,
  AcmeClient,
  AcmeProtocolError,
  AcmeResourceFailedError,
  AcmeUsageError,
  generateAccountKey,
  isEmailReplyChallenge,
  type AccountKey,
} from '../../src/acme';
import { REVOCATION_REASONS } from '../../src/common/vocabulary';
import { base64UrlDecode, base64UrlEncode } from '../../src/common/encoding';
import { BASE, FakeAcme, FakeClock, fixture, verifyJws } from './fake-acme';

const crypto = webcrypto as unknown as Crypto;

let server: FakeAcme;
let clock: FakeClock;
let key: AccountKey;

function client(extra: Partial<ConstructorParameters<typeof AcmeClient>[0]> = {}): AcmeClient {
  return new AcmeClient({ directoryUrl: `${BASE}/dir`, fetch: server.fetch, crypto, accountKey: key, clock, ...extra });
}

/** The order/authz/challenge/finalize/cert routes of one email issuance. */
function scriptIssuance(): void {
  server
    .on('POST', '/acme/new-order', { status: 201, json: fixture('order-pending-email.json'), location: `${BASE}/acme/order/1` })
    .once('POST', '/acme/authz/1', { json: fixture('rfc8823-3-authz-pending-email-reply.json') })
    .on('POST', '/acme/authz/1', { json: fixture('authz-valid.json') })
    .on('POST', '/acme/chall/1', { json: fixture('challenge-processing.json'), headers: { Link: `<${BASE}/acme/authz/1>;rel="up"` } })
    .on('POST', '/acme/order/1/finalize', { json: fixture('order-processing.json'), headers: { 'Retry-After': '2' } })
    .on('POST', '/acme/order/1', { json: fixture('order-valid.json') })
    .on('POST', '/acme/cert/1', {
      body: '-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nBAUG\n-----END CERTIFICATE-----\n',
      contentType: 'application/pem-certificate-chain',
      headers: { Link: '</acme/cert/1/1>;rel="alternate", <https://acme.test/dir>;rel="index"' },
    });
}

beforeEach(async () => {
  server = new FakeAcme(crypto);
  clock = new FakeClock();
  key = await generateAccountKey(crypto);
});

afterEach(() => {
  // Every request the client made must have passed the server's RFC 8555 §6 checks.
  expect(server.violations).toEqual([]);
});

describe('an email issuance against a scripted CA (RFC 8555 §7, RFC 8823)', () => {
  it('takes 10 requests: one directory GET, one newNonce HEAD, every later nonce reused', async () => {
    scriptIssuance();
    const acme = client();
    expect(await acme.termsOfService()).toBe(`${BASE}/terms/v1`);
    const account = await acme.createAccount({ termsOfServiceAgreed: true, contact: ['mailto:alice@example.test'] });
    expect(account.url).toBe(`${BASE}/acme/acct/1`);
    expect(acme.accountUrl).toBe(account.url);
    expect(server.seen('/acme/new-account')[0]?.payload).toEqual({ termsOfServiceAgreed: true, contact: ['mailto:alice@example.test'] });

    const order = await acme.newOrder([{ type: 'email', value: 'alice@example.test' }]);
    expect(order).toMatchObject({ url: `${BASE}/acme/order/1`, status: 'pending', identifiers: [{ type: 'email', value: 'alice@example.test' }] });
    expect(server.seen('/acme/new-order')[0]?.payload).toEqual({ identifiers: [{ type: 'email', value: 'alice@example.test' }] });

    const authz = await acme.getAuthorization(order.authorizations[0]!);
    const challenge = authz.challenges.find(isEmailReplyChallenge);
    expect(challenge).toMatchObject({ token: 'DGyRejmCefe7v4NfDGDKfA', from: 'acme-challenge@ca.example.test', url: `${BASE}/acme/chall/1`, known: true });
    // The unknown challenge type is kept as data, not dropped and not an error.
    const unknown = authz.challenges[1]!;
    expect(unknown).toMatchObject({ type: 'x-future-challenge-07', known: false, status: 'pending' });
    expect(unknown.raw['depth']).toBe(3);

    const answered = await acme.respondToChallenge(challenge!.url);
    expect(answered.status).toBe('processing');
    expect(server.seen('/acme/chall/1')[0]?.payload).toEqual({});

    const progress: string[] = [];
    const valid = await acme.waitForAuthorization(authz.url, { initial: authz, onProgress: (p) => progress.push(p.state.status) });
    expect(valid.status).toBe('valid');
    expect(progress).toEqual(['pending', 'valid']);

    const csr = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]);
    const finalized = await acme.finalize(order, csr);
    expect(server.seen('/acme/order/1/finalize')[0]?.payload).toEqual({ csr: base64UrlEncode(csr) });
    expect(finalized).toMatchObject({ status: 'processing', retryAfterMs: 2000 });

    const done = await acme.waitForOrder(order.url, 'valid', { initial: finalized });
    expect(done.certificate).toBe(`${BASE}/acme/cert/1`);
    const cert = await acme.downloadCertificate(done.certificate!);
    expect(cert.certificates.map((c) => [...c])).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(cert.alternates).toEqual([`${BASE}/acme/cert/1/1`]);
    expect(server.seen('/acme/cert/1')[0]?.headers.get('Accept')).toBe('application/pem-certificate-chain');

    // The authz poll waited the default first 0.5 s, then Retry-After: 2 on the finalize answer was honoured.
    expect(clock.sleeps).toEqual([500, 2000]);
    expect(server.seen('/dir')).toHaveLength(1);
    expect(server.seen('/acme/new-nonce')).toHaveLength(1);
    expect(acme.requestCount).toBe(10);
    expect(server.requests.filter((r) => r.method === 'POST' && r.postAsGet).map((r) => r.path)).toEqual([
      '/acme/authz/1', '/acme/authz/1', '/acme/order/1', '/acme/cert/1',
    ]);
  });

  it('re-attaches to an account and order after a restart, by URL alone', async () => {
    scriptIssuance();
    const first = client();
    await first.createAccount({ termsOfServiceAgreed: true });
    const order = await first.newOrder([{ type: 'email', value: 'alice@example.test' }]);

    const revived = client({ accountUrl: first.accountUrl! });
    const again = await revived.getOrder(order.url);
    expect(again.status).toBe('valid');
    const kids = server.seen('/acme/order/1').map((r) => r.protected?.['kid']);
    expect(kids).toEqual([`${BASE}/acme/acct/1`]);
  });

  it('refuses resource calls before an account is known', async () => {
    await expect(client().newOrder([{ type: 'dns', value: 'x.test' }])).rejects.toBeInstanceOf(AcmeUsageError);
    expect(server.requests).toHaveLength(0);
  });
});

describe('accounts (RFC 8555 §7.3)', () => {
  it('finds an existing account with onlyReturnExisting, and says so when there is none', async () => {
    await expect(client().findAccount()).rejects.toBeInstanceOf(AccountDoesNotExistError);
    expect(server.seen('/acme/new-account')[0]?.payload).toEqual({ onlyReturnExisting: true });
    await client().createAccount({ termsOfServiceAgreed: true });
    const found = await client().findAccount();
    expect(found.url).toBe(`${BASE}/acme/acct/1`);
  });

  it('updates contact, agrees to terms, and deactivates with kid-signed POSTs', async () => {
    const acme = client();
    await acme.createAccount({ termsOfServiceAgreed: false });
    server.on('POST', '/acme/acct/1', (req) => {
      const payload = req.payload as Record<string, unknown> | undefined;
      const status = payload?.['status'] === 'deactivated' ? 'deactivated' : 'valid';
      return { json: { ...fixture('account-valid.json'), ...payload, status } };
    });
    const updated = await acme.updateContact(['mailto:bob@example.test']);
    expect(updated.contact).toEqual(['mailto:bob@example.test']);
    await acme.agreeToTerms();
    const gone = await acme.deactivateAccount();
    expect(gone.status).toBe('deactivated');
    expect(server.seen('/acme/acct/1').map((r) => r.payload)).toEqual([
      { contact: ['mailto:bob@example.test'] },
      { termsOfServiceAgreed: true },
      { status: 'deactivated' },
    ]);
  });

  it('binds an external account with HS256, HS384 and HS512 (RFC 8555 §7.3.4)', async () => {
    const macKey = new Uint8Array(32).map((_, i) => i * 7);
    for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
      server = new FakeAcme(crypto);
      key = await generateAccountKey(crypto);
      await client().createAccount({ termsOfServiceAgreed: true, externalAccountBinding: { kid: 'kid-1', hmacKey: base64UrlEncode(macKey), alg } });
      const payload = server.seen('/acme/new-account')[0]?.payload as { externalAccountBinding: { protected: string; payload: string; signature: string } };
      const eab = payload.externalAccountBinding;
      expect(JSON.parse(new TextDecoder().decode(base64UrlDecode(eab.protected)))).toEqual({ alg, kid: 'kid-1', url: `${BASE}/acme/new-account` });
      expect(JSON.parse(new TextDecoder().decode(base64UrlDecode(eab.payload)))).toEqual(key.publicJwk);
      const hash = { HS256: 'SHA-256', HS384: 'SHA-384', HS512: 'SHA-512' }[alg];
      const hmac = await crypto.subtle.importKey('raw', macKey, { name: 'HMAC', hash }, false, ['verify']);
      const ok = await crypto.subtle.verify('HMAC', hmac, base64UrlDecode(eab.signature), new TextEncoder().encode(`${eab.protected}.${eab.payload}`));
      expect(ok).toBe(true);
    }
  });

  it('asks for an EAB before sending anything when the directory requires one', async () => {
    server.on('GET', '/dir', { json: { ...fixture('directory.json'), meta: { externalAccountRequired: true } }, nonce: false });
    await expect(client().createAccount({ termsOfServiceAgreed: true })).rejects.toThrow(/External Account Binding/);
    expect(server.seen('/acme/new-account')).toHaveLength(0);
  });

  it('rolls the key over (§7.3.5): inner JWS by the new key, outer by the old, then uses the new key', async () => {
    const acme = client();
    await acme.createAccount({ termsOfServiceAgreed: true });
    const newKey = await generateAccountKey(crypto, 'ES384');
    let innerProblem: string | undefined = 'not checked';
    server.on('POST', '/acme/key-change', async (req) => {
      const inner = req.payload as { protected: string; payload: string; signature: string };
      const header = JSON.parse(new TextDecoder().decode(base64UrlDecode(inner.protected))) as Record<string, unknown>;
      const body = JSON.parse(new TextDecoder().decode(base64UrlDecode(inner.payload))) as Record<string, unknown>;
      innerProblem = await verifyJws(crypto, inner, header['jwk'] as JsonWebKey);
      expect(header).toEqual({ alg: 'ES384', jwk: newKey.publicJwk, url: `${BASE}/acme/key-change` });
      expect(body).toEqual({ account: `${BASE}/acme/acct/1`, oldKey: key.publicJwk });
      server.accounts.set(`${BASE}/acme/acct/1`, newKey.publicJwk);
      return { json: fixture('account-valid.json') };
    });
    await acme.changeAccountKey(newKey);
    expect(innerProblem).toBeUndefined();
    expect(server.seen('/acme/key-change')[0]?.protected?.['kid']).toBe(`${BASE}/acme/acct/1`);
    expect(acme.accountKey).toBe(newKey);
    server.on('POST', '/acme/acct/1', { json: fixture('account-valid.json') });
    await acme.getAccount(); // verified by the fake with the new key only
    expect(server.seen('/acme/acct/1')[0]?.protected?.['alg']).toBe('ES384');
  });
});

describe('orders, authorizations, challenges', () => {
  beforeEach(async () => {
    await client().createAccount({ termsOfServiceAgreed: true });
  });

  it('turns an invalid authorization into an error carrying the challenge problem', async () => {
    server.on('POST', '/acme/authz/1', { json: fixture('authz-invalid.json') });
    const error = await client({ accountUrl: `${BASE}/acme/acct/1` }).waitForAuthorization(`${BASE}/acme/authz/1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeResourceFailedError);
    const failed = error as AcmeResourceFailedError;
    expect(failed.problem).toMatchObject({ type: 'urn:ietf:params:acme:error:incorrectResponse', detail: "the reply's DKIM signature did not verify", status: 403 });
  });

  it('maps an unknown order status to "unknown", keeps the raw one, and polls on', async () => {
    server.once('POST', '/acme/order/1', { json: fixture('rfc8555-7.1.6-order-status-unknown.json') });
    server.on('POST', '/acme/order/1', { json: fixture('order-valid.json') });
    const acme = client({ accountUrl: `${BASE}/acme/acct/1` });
    const seen: string[] = [];
    const order = await acme.waitForOrder(`${BASE}/acme/order/1`, 'valid', { onProgress: (p) => seen.push(`${p.state.status}/${p.state.rawStatus}`) });
    expect(order.status).toBe('valid');
    expect(seen).toEqual(['unknown/queued-for-audit', 'valid/valid']);
  });

  it('stops waiting for "valid" at "ready" (only finalize moves it on) and at "invalid"', async () => {
    const acme = client({ accountUrl: `${BASE}/acme/acct/1` });
    server.once('POST', '/acme/order/1', { json: fixture('order-ready.json') }, { json: fixture('order-invalid.json') });
    await expect(acme.waitForOrder(`${BASE}/acme/order/1`, 'valid')).rejects.toThrow(/"ready", not "valid"/);
    const error = (await acme.waitForOrder(`${BASE}/acme/order/1`, 'ready').catch((e: unknown) => e)) as AcmeResourceFailedError;
    expect(error).toBeInstanceOf(AcmeResourceFailedError);
    expect(error.problem?.type).toBe('urn:ietf:params:acme:error:unauthorized');
  });

  it('finalizes at a bare finalize URL, learning the order URL from Location, with no extra request', async () => {
    server.on('POST', '/acme/order/1/finalize', { json: fixture('order-valid.json'), location: `${BASE}/acme/order/1` });
    const acme = client({ accountUrl: `${BASE}/acme/acct/1` });
    const done = await acme.finalize(`${BASE}/acme/order/1/finalize`, new Uint8Array([1]));
    expect(done).toMatchObject({ url: `${BASE}/acme/order/1`, status: 'valid' });
    expect(server.requests.filter((r) => r.method === 'POST').map((r) => r.path)).toEqual(['/acme/new-account', '/acme/order/1/finalize']);
    // Without Location and without the order URL, nobody can say which order this is.
    server.on('POST', '/acme/order/1/finalize', { json: fixture('order-valid.json') });
    const error = (await acme.finalize({ finalize: `${BASE}/acme/order/1/finalize` }, new Uint8Array([1])).catch((e: unknown) => e)) as AcmeProtocolError;
    expect(error.violation).toBe('missing-location');
  });

  it('refuses a finalize answer that is some other order', async () => {
    server.on('POST', '/acme/order/1/finalize', { json: { ...fixture('order-valid.json'), finalize: `${BASE}/acme/order/2/finalize` } });
    const acme = client({ accountUrl: `${BASE}/acme/acct/1` });
    const order = { url: `${BASE}/acme/order/1`, finalize: `${BASE}/acme/order/1/finalize` };
    await expect(acme.finalize(order, new Uint8Array([1]))).rejects.toThrow(/finalized at .*order\/2/);
  });

  it('rejects an email-reply-00 challenge whose "from" is not a bare address', async () => {
    const authz = fixture('rfc8823-3-authz-pending-email-reply.json');
    const challenges = authz['challenges'] as Record<string, unknown>[];
    challenges[0] = { ...challenges[0], from: 'CA <ca@example.test>, evil@example.test' };
    server.on('POST', '/acme/authz/1', { json: authz });
    const error = await client({ accountUrl: `${BASE}/acme/acct/1` }).getAuthorization(`${BASE}/acme/authz/1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeProtocolError);
    expect((error as AcmeProtocolError).violation).toBe('invalid-field');
  });

  it('sends notBefore, notAfter and the RFC 9773 §5 replaces certID when asked', async () => {
    server.on('POST', '/acme/new-order', { status: 201, json: fixture('order-pending-email.json'), location: `${BASE}/acme/order/1` });
    await client({ accountUrl: `${BASE}/acme/acct/1` }).newOrder([{ type: 'email', value: 'alice@example.test' }], {
      replaces: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE', notBefore: '2026-12-01T00:00:00Z', notAfter: '2027-12-01T00:00:00Z',
    });
    expect(server.seen('/acme/new-order')[0]?.payload).toEqual({
      identifiers: [{ type: 'email', value: 'alice@example.test' }],
      notBefore: '2026-12-01T00:00:00Z',
      notAfter: '2027-12-01T00:00:00Z',
      replaces: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE',
    });
  });

  it('refuses a new order for identifiers other than those asked for', async () => {
    const order = fixture('order-pending-email.json');
    server.on('POST', '/acme/new-order', { status: 201, json: { ...order, identifiers: [{ type: 'email', value: 'mallory@example.test' }] }, location: `${BASE}/acme/order/1` });
    const error = await client({ accountUrl: `${BASE}/acme/acct/1` }).newOrder([{ type: 'email', value: 'Alice@example.test' }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeProtocolError);
    expect((error as AcmeProtocolError).message).toMatch(/email:mallory@example.test, not email:alice@example.test/);
  });

  it('deactivates an authorization (§7.5.2)', async () => {
    server.on('POST', '/acme/authz/1', { json: { ...fixture('authz-valid.json'), status: 'deactivated' } });
    const authz = await client({ accountUrl: `${BASE}/acme/acct/1` }).deactivateAuthorization(`${BASE}/acme/authz/1`);
    expect(authz.status).toBe('deactivated');
    expect(server.seen('/acme/authz/1')[0]?.payload).toEqual({ status: 'deactivated' });
  });
});

describe('revocation (RFC 8555 §7.6)', () => {
  it('signs with kid by account and with jwk by certificate key, with the reason code', async () => {
    const acme = client();
    await acme.createAccount({ termsOfServiceAgreed: true });
    server.on('POST', '/acme/revoke-cert', { status: 200, nonce: true });
    const der = new Uint8Array([0x30, 0x00]);
    await acme.revoke(der, REVOCATION_REASONS.superseded);
    const certKey = await generateAccountKey(crypto, 'ES256');
    await acme.revoke(der, REVOCATION_REASONS.keyCompromise, { by: 'certificateKey', key: certKey });
    await acme.revoke(der, undefined);
    const [byAccount, byCertKey, noReason] = server.seen('/acme/revoke-cert');
    expect(byAccount?.protected).toMatchObject({ kid: `${BASE}/acme/acct/1` });
    expect(byAccount?.payload).toEqual({ certificate: 'MAA', reason: 4 });
    expect(byCertKey?.protected).toMatchObject({ jwk: certKey.publicJwk });
    expect(byCertKey?.protected?.['kid']).toBeUndefined();
    expect(byCertKey?.payload).toEqual({ certificate: 'MAA', reason: 1 });
    expect(noReason?.payload).toEqual({ certificate: 'MAA' });
  });
});
