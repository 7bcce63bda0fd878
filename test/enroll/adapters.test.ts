import { createHash, webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AcmeNetworkError, BadNonceError, MalformedError, RateLimitedError, ServerInternalError, UserActionRequiredError } from '../../src/acme/index';
import { toPortError } from '../../src/enroll/adapters/acme';
import { createKeysAdapter, usageOf } from '../../src/enroll/adapters/keys';
import { createMailCheckAdapter } from '../../src/enroll/adapters/mail-check';
import { PortError } from '../../src/enroll/ports';
import { DEFAULT_SETTINGS } from '../../src/enroll/settings';

const crypto = webcrypto as unknown as Crypto;
const request = { method: 'POST', url: 'https://ca.test/new-order' };

describe('ACME adapter: what each error makes the flow do', () => {
  it('waits for a rate limit as long as the CA says', () => {
    const error = toPortError(new RateLimitedError({ type: 'urn:ietf:params:acme:error:rateLimited', detail: 'slow down', raw: {} }, request, { httpStatus: 429, retryAfterMs: 7_000 }));
    expect(error).toMatchObject({ kind: 'rateLimited', retryAfterMs: 7_000, problem: { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'slow down' } });
  });

  it('keeps the Retry-After of a 5xx (a CA down for maintenance), and has none when the CA gave none', () => {
    const problem = { type: 'urn:ietf:params:acme:error:serverInternal', raw: {} };
    expect(toPortError(new ServerInternalError(problem, request, { httpStatus: 503, retryAfterMs: 90_000 }))).toMatchObject({ kind: 'transient', retryAfterMs: 90_000 });
    expect(toPortError(new ServerInternalError(problem, request, { httpStatus: 500 })).retryAfterMs).toBeUndefined();
  });

  it('sends the user to the page the CA names', () => {
    const error = toPortError(new UserActionRequiredError({ type: 'urn:ietf:params:acme:error:userActionRequired', instance: 'https://ca.test/tos/2', raw: {} }, request, { httpStatus: 403 }));
    expect(error).toMatchObject({ kind: 'userAction', link: 'https://ca.test/tos/2' });
  });

  it('retries network loss and exhausted nonce retries later; reports refusals with the whole problem', () => {
    expect(toPortError(new AcmeNetworkError('ECONNREFUSED', request)).kind).toBe('transient');
    expect(toPortError(new BadNonceError({ type: 'urn:ietf:params:acme:error:badNonce', raw: {} }, request, { httpStatus: 400 })).kind).toBe('transient');
    const refused = toPortError(new MalformedError({ type: 'urn:ietf:params:acme:error:malformed', detail: 'bad CSR', subproblems: [{ type: 'urn:ietf:params:acme:error:badCSR', detail: 'SAN', raw: {} }], raw: {} }, request, { httpStatus: 400 }));
    expect(refused).toMatchObject({ kind: 'problem', problem: { detail: 'bad CSR', subproblems: [{ type: 'urn:ietf:params:acme:error:badCSR', detail: 'SAN' }] } });
    expect(toPortError(new TypeError('boom')).kind).toBe('fatal');
  });
});

describe('mail-check adapter', () => {
  const adapter = createMailCheckAdapter({ fetch, crypto, settings: () => Promise.resolve(DEFAULT_SETTINGS), now: () => Date.now() });

  it('reads who a mail is addressed to, including Thunderbird\'s status lines and odd forms', () => {
    const raw = new TextEncoder().encode('X-Mozilla-Status: 0001\nX-Mozilla-Status2: 00000000\nFrom: CA <acme@ca.test>\nTo: "Alice" <Alice@Example.test>\nSubject: ACME: x\n\nbody\n');
    expect(adapter.addressedTo(raw)).toEqual(['Alice@example.test']);
    expect(adapter.addressedTo(new TextEncoder().encode('\u0000garbage'))).toEqual([]);
  });

  it('manual mode: the RFC 8823 §3.2 response for a pasted subject, or a clear refusal', async () => {
    const token1 = 'AAAAAAAAAAAAAAAAAAAAAA';
    const token2 = 'BBBBBBBBBBBBBBBBBBBBBB';
    const value = createHash('sha256').update(`${token1}${token2}.THUMB`).digest('base64url');
    expect(await adapter.respond(`ACME: ${token1}`, token2, 'THUMB', 'string')).toBe(`-----BEGIN ACME RESPONSE-----\n${value}\n-----END ACME RESPONSE-----\n`);
    await expect(adapter.respond('Re: lunch', token2, 'THUMB', 'string')).rejects.toBeInstanceOf(PortError);
  });
});

describe('keys adapter', () => {
  it('stores only an encrypted key, and a wrong passphrase is reported as such', async () => {
    const keys = createKeysAdapter({ crypto, iterations: 1_000 });
    const { csrDer, encryptedKey } = await keys.generate(['alice@example.test'], 'P-256', 'both', 'correct horse battery');
    expect(csrDer[0]).toBe(0x30);
    expect(Buffer.from(encryptedKey).toString('latin1')).not.toContain('correct horse');
    await expect(keys.buildPkcs12(encryptedKey, 'wrong passphrase', '', 'x')).rejects.toMatchObject({ kind: 'wrongPassphrase' });
  });

  it('names the usage of a certificate from its key usage bits', () => {
    expect(usageOf(['digitalSignature'])).toBe('sign');
    expect(usageOf(['keyAgreement'])).toBe('encrypt');
    expect(usageOf(['digitalSignature', 'keyEncipherment'])).toBe('both');
  });
});
