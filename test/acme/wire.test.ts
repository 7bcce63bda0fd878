/**
 * The wire layer's promises: bounded retries, typed errors carrying the whole problem document,
 * and bad server input turned into AcmeProtocolError — never a hang, never a crash.
 */
import { webcrypto } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AcmeAbortError,
  AcmeClient,
  AcmeNetworkError,
  AcmeProblemError,
  AcmeProtocolError,
  AcmeTimeoutError,
  BadNonceError,
  generateAccountKey,
  MalformedError,
  RateLimitedError,
  ServerInternalError,
  UnauthorizedError,
  UserActionRequiredError,
  type AccountKey,
  type AcmeClientOptions,
} from '../../src/acme';
import { BASE, FakeAcme, FakeClock, fixture } from './fake-acme';

const crypto = webcrypto as unknown as Crypto;
const ACCOUNT = `${BASE}/acme/acct/1`;
const ORDER = `${BASE}/acme/order/1`;

let server: FakeAcme;
let clock: FakeClock;
let key: AccountKey;

function client(extra: Partial<AcmeClientOptions> = {}): AcmeClient {
  return new AcmeClient({ directoryUrl: `${BASE}/dir`, fetch: server.fetch, crypto, accountKey: key, accountUrl: ACCOUNT, clock, ...extra });
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

const badNonce = { status: 400, json: { type: 'urn:ietf:params:acme:error:badNonce', detail: 'stale' } };
const server500 = { status: 500, json: { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'db down' } };

beforeEach(async () => {
  server = new FakeAcme(crypto);
  clock = new FakeClock();
  key = await generateAccountKey(crypto);
  server.accounts.set(ACCOUNT, key.publicJwk);
  server.on('POST', '/acme/order/1', { json: fixture('order-pending-email.json') });
});

afterEach(() => {
  expect(server.violations).toEqual([]);
});

describe('nonces (RFC 8555 §6.5)', () => {
  it('asks newNonce once, then lives on the nonces of every answer, error answers included', async () => {
    server.once('POST', '/acme/order/1', { status: 403, json: { type: 'urn:ietf:params:acme:error:unauthorized', detail: 'no' } });
    const acme = client();
    await expect(acme.getOrder(ORDER)).rejects.toBeInstanceOf(UnauthorizedError);
    await acme.getOrder(ORDER);
    await acme.getOrder(ORDER);
    expect(server.seen('/acme/new-nonce')).toHaveLength(1);
    expect(acme.requestCount).toBe(5);
  });

  it('never hands one nonce to two requests running at the same time', async () => {
    const acme = client();
    await acme.getOrder(ORDER);
    const orders = await Promise.all(Array.from({ length: 6 }, () => acme.getOrder(ORDER)));
    expect(orders.every((o) => o.status === 'pending')).toBe(true);
    const nonces = server.seen('/acme/order/1').map((r) => r.protected?.['nonce']);
    expect(new Set(nonces).size).toBe(7);
  });

  it('retries a badNonce at once with the nonce of the error answer', async () => {
    server.once('POST', '/acme/order/1', badNonce, badNonce);
    const events: { path: string; attempt: number }[] = [];
    const acme = client({ onRequest: (e) => events.push({ path: new URL(e.url).pathname, attempt: e.attempt }) });
    const order = await acme.getOrder(ORDER);
    expect(order.status).toBe('pending');
    expect(server.seen('/acme/order/1')).toHaveLength(3);
    expect(server.seen('/acme/new-nonce')).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
    expect(events.filter((e) => e.path === '/acme/order/1').map((e) => e.attempt)).toEqual([0, 1, 2]);
  });

  it('gives up after the configured number of badNonce retries, with the problem', async () => {
    server.on('POST', '/acme/order/1', badNonce);
    const error = await failure(client({ retry: { badNonce: 3 } }).getOrder(ORDER));
    expect(error).toBeInstanceOf(BadNonceError);
    expect((error as BadNonceError).problem.detail).toBe('stale');
    expect(server.seen('/acme/order/1')).toHaveLength(4);
  });

  it('fetches a new nonce when an answer carried none, and fails typed when newNonce has none', async () => {
    server.once('POST', '/acme/order/1', { json: fixture('order-pending-email.json'), nonce: false });
    const acme = client();
    await acme.getOrder(ORDER);
    await acme.getOrder(ORDER);
    expect(server.seen('/acme/new-nonce')).toHaveLength(2);

    server.on('HEAD', '/acme/new-nonce', { status: 200, nonce: false });
    const error = await failure(client().getOrder(ORDER));
    expect(error).toBeInstanceOf(AcmeProtocolError);
    expect((error as AcmeProtocolError).violation).toBe('missing-nonce');
  });

  it('retries a failing newNonce like any 5xx, then reports it as a server failure', async () => {
    server.on('HEAD', '/acme/new-nonce', { status: 503, nonce: false });
    const error = await failure(client({ retry: { serverError: 1 } }).getOrder(ORDER));
    expect(error).toBeInstanceOf(ServerInternalError);
    expect(server.seen('/acme/new-nonce')).toHaveLength(2);
    expect(clock.sleeps).toEqual([1000]);
  });
});

describe('problem documents (RFC 8555 §6.7)', () => {
  it('keeps the whole document: subproblems, instance, extension members, request URL', async () => {
    server.on('POST', '/acme/order/1', { status: 400, json: fixture('rfc8555-6.7.1-problem-compound.json') });
    const error = (await failure(client().getOrder(ORDER))) as MalformedError;
    expect(error).toBeInstanceOf(MalformedError);
    expect(error.request).toEqual({ method: 'POST', url: ORDER });
    expect(error.httpStatus).toBe(400);
    expect(error.problem.instance).toBe(`${BASE}/problems/1`);
    expect(error.problem.subproblems?.map((s) => [s.type, s.identifier?.value])).toEqual([
      ['urn:ietf:params:acme:error:malformed', '_example.org'],
      ['urn:ietf:params:acme:error:rejectedIdentifier', 'example.net'],
    ]);
    expect(error.problem.raw['algorithms']).toEqual(['ES256']);
  });

  it('rateLimited carries Retry-After and is not retried', async () => {
    server.on('POST', '/acme/order/1', { status: 429, json: { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'slow down' }, headers: { 'Retry-After': '3600' } });
    const error = (await failure(client().getOrder(ORDER))) as RateLimitedError;
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.retryAfterMs).toBe(3_600_000);
    expect(server.seen('/acme/order/1')).toHaveLength(1);
  });

  it('userActionRequired points at the page to visit (instance, else Link terms-of-service)', async () => {
    server.once('POST', '/acme/order/1', { status: 403, json: fixture('rfc8555-7.3.3-problem-user-action-required.json'), headers: { Link: `<${BASE}/terms/v2>;rel="terms-of-service"` } });
    const error = (await failure(client().getOrder(ORDER))) as UserActionRequiredError;
    expect(error).toBeInstanceOf(UserActionRequiredError);
    expect(error.actionUrl).toBe(`${BASE}/agreement/v2`);
    expect(error.termsOfService).toBe(`${BASE}/terms/v2`);
  });

  it('retries serverInternal with doubling back-off, bounded, then throws it', async () => {
    server.once('POST', '/acme/order/1', server500, server500);
    await client().getOrder(ORDER);
    expect(clock.sleeps).toEqual([1000, 2000]);

    clock.sleeps.length = 0;
    server.on('POST', '/acme/order/1', server500);
    const error = await failure(client().getOrder(ORDER));
    expect(error).toBeInstanceOf(ServerInternalError);
    expect(clock.sleeps).toEqual([1000, 2000, 4000]);
  });

  it('treats a bare HTML 502 as a retryable server failure, and an HTML 4xx as a protocol violation', async () => {
    server.once('POST', '/acme/order/1', { status: 502, body: '<html>Bad gateway</html>', contentType: 'text/html', headers: { 'Retry-After': '5' } });
    await client().getOrder(ORDER);
    expect(clock.sleeps).toEqual([5000]);
    server.on('POST', '/acme/order/1', { status: 404, body: '<html>not here</html>', contentType: 'text/html' });
    const error = (await failure(client().getOrder(ORDER))) as AcmeProtocolError;
    expect(error).toBeInstanceOf(AcmeProtocolError);
    expect(error.violation).toBe('wrong-content-type');
    expect(error.httpStatus).toBe(404);
  });

  it('gives a 5xx whose Retry-After exceeds the cap straight to the caller', async () => {
    server.on('POST', '/acme/order/1', { ...server500, headers: { 'Retry-After': '86400' } });
    const error = (await failure(client().getOrder(ORDER))) as ServerInternalError;
    expect(error.retryAfterMs).toBe(86_400_000);
    expect(clock.sleeps).toEqual([]);
  });
});

describe('network failures', () => {
  it('retries a failed fetch with back-off, bounded, keeping the cause, re-signed with a fresh nonce (regression: a retry reused the spent nonce)', async () => {
    const cause = new TypeError('fetch failed: ECONNRESET');
    server.once('POST', '/acme/order/1', { networkError: cause });
    await client().getOrder(ORDER);
    expect(clock.sleeps).toEqual([1000]);

    server.on('POST', '/acme/order/1', { networkError: cause });
    const error = (await failure(client({ retry: { network: 2 } }).getOrder(ORDER))) as AcmeNetworkError;
    expect(error).toBeInstanceOf(AcmeNetworkError);
    expect(error.cause).toBe(cause);
    expect(error.request?.url).toBe(ORDER);
  });

  it('does not hang on a server that never answers: the request timeout fires', async () => {
    server.on('POST', '/acme/order/1', { hang: true });
    const error = await failure(client({ retry: { network: 0, requestTimeoutMs: 50 } }).getOrder(ORDER));
    expect(error).toBeInstanceOf(AcmeNetworkError);
  });

  it('stops at once when the caller aborts, without retrying', async () => {
    server.on('POST', '/acme/order/1', { hang: true });
    const controller = new AbortController();
    const pending = client().getOrder(ORDER, controller.signal);
    // Abort once the request is in flight (not after a fixed delay: the directory and nonce
    // come first, and on a loaded machine they can take longer than any guess).
    await vi.waitFor(() => {
      expect(server.seen('/acme/order/1')).toHaveLength(1);
    });
    controller.abort(new Error('user cancelled'));
    const error = (await failure(pending)) as AcmeAbortError;
    expect(error).toBeInstanceOf(AcmeAbortError);
    expect((error.cause as Error).message).toBe('user cancelled');
    expect(server.seen('/acme/order/1')).toHaveLength(1);
  });
});

describe('bad input from the server is a typed error', () => {
  it('non-JSON body on 200', async () => {
    server.on('POST', '/acme/order/1', { body: '{"status": "valid",', contentType: 'application/json' });
    const error = (await failure(client().getOrder(ORDER))) as AcmeProtocolError;
    expect(error.violation).toBe('not-json');
  });

  it('JSON that is not an object', async () => {
    server.on('POST', '/acme/order/1', { json: ['pending'] });
    expect(((await failure(client().getOrder(ORDER))) as AcmeProtocolError).violation).toBe('not-json');
  });

  it('wrong content type for JSON and for the certificate chain', async () => {
    server.on('POST', '/acme/order/1', { body: JSON.stringify(fixture('order-valid.json')), contentType: 'text/plain' });
    expect(((await failure(client().getOrder(ORDER))) as AcmeProtocolError).violation).toBe('wrong-content-type');
    server.on('POST', '/acme/cert/1', { body: '-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n', contentType: 'application/json' });
    expect(((await failure(client().downloadCertificate(`${BASE}/acme/cert/1`))) as AcmeProtocolError).violation).toBe('wrong-content-type');
  });

  it('a redirect, refused rather than followed', async () => {
    server.on('POST', '/acme/order/1', { status: 302, location: 'https://elsewhere.test/steal' });
    const error = (await failure(client().getOrder(ORDER))) as AcmeProtocolError;
    expect(error.violation).toBe('unexpected-status');
    expect(error.httpStatus).toBe(302);
    expect(server.requests.filter((r) => r.url.startsWith('https://elsewhere.test'))).toHaveLength(0);
    expect(clock.sleeps).toEqual([]);
  });

  it('missing Location on a new order', async () => {
    server.on('POST', '/acme/new-order', { status: 201, json: fixture('order-pending-email.json') });
    const error = (await failure(client().newOrder([{ type: 'dns', value: 'a.test' }]))) as AcmeProtocolError;
    expect(error.violation).toBe('missing-location');
  });

  it('oversized bodies, announced or streamed', async () => {
    const big = 'x'.repeat(70_000);
    server.once('POST', '/acme/order/1', { body: big, contentType: 'application/json' });
    const announced = (await failure(client({ maxResponseBytes: 65_536 }).getOrder(ORDER))) as AcmeProtocolError;
    expect(announced.violation).toBe('body-too-large');
    server.once('POST', '/acme/order/1', { body: big, contentType: 'application/json', streamed: true });
    const streamed = (await failure(client({ maxResponseBytes: 65_536 }).getOrder(ORDER))) as AcmeProtocolError;
    expect(streamed.violation).toBe('body-too-large');
    expect(streamed.message).toMatch(/exceeds 65536 bytes/);
  });

  it('a field of the wrong type or a missing required one', async () => {
    server.on('POST', '/acme/order/1', { json: { ...fixture('order-pending-email.json'), authorizations: 'not-a-list' } });
    expect(((await failure(client().getOrder(ORDER))) as AcmeProtocolError).violation).toBe('invalid-field');
    server.on('POST', '/acme/order/1', { json: { ...fixture('order-valid.json'), certificate: undefined } });
    expect(((await failure(client().getOrder(ORDER))) as AcmeProtocolError).message).toMatch(/"certificate" is missing from a valid order/);
  });

  it('plain-http or credential-bearing resource URLs', async () => {
    server.on('POST', '/acme/order/1', { json: { ...fixture('order-pending-email.json'), finalize: 'http://acme.test/acme/order/1/finalize' } });
    expect(((await failure(client().getOrder(ORDER))) as AcmeProtocolError).violation).toBe('invalid-field');
    server.on('GET', '/dir', { json: { ...fixture('directory.json'), newOrder: 'https://user:pw@acme.test/x' }, nonce: false });
    expect(((await failure(client().directory())) as AcmeProtocolError).violation).toBe('invalid-field');
  });

  it('a directory that failed is fetched again next time, not cached', async () => {
    server.once('GET', '/dir', { status: 404, json: { type: 'about:blank', detail: 'no' } });
    const acme = client();
    await expect(acme.directory()).rejects.toBeInstanceOf(AcmeProblemError);
    expect((await acme.directory()).newOrder).toBe(`${BASE}/acme/new-order`);
    await acme.directory();
    expect(server.seen('/dir')).toHaveLength(2);
  });
});

describe('polling (RFC 8555 §7.5.1, Retry-After)', () => {
  it('waits exactly what Retry-After says, in seconds and as an HTTP-date', async () => {
    const later = new Date(clock.now() + 7000).toUTCString();
    server.once('POST', '/acme/order/1',
      { json: fixture('order-processing.json'), headers: { 'Retry-After': '3' } },
      { json: fixture('order-processing.json'), headers: { 'Retry-After': later } },
      { json: fixture('order-processing.json') },
      { json: fixture('order-processing.json') });
    server.on('POST', '/acme/order/1', { json: fixture('order-valid.json') });
    await client().waitForOrder(ORDER, 'valid');
    // 3 s, then until the date (7 s from the start, 4 s after the first wait), then the back-off
    // of the third and fourth wait (0.5 s doubled twice, three times): waits on Retry-After count.
    expect(clock.sleeps).toEqual([3000, 4000, 2000, 4000]);
  });

  it('caps its own back-off at the maximum interval and floors a zero Retry-After', async () => {
    server.once('POST', '/acme/order/1', ...Array.from({ length: 6 }, () => ({ json: fixture('order-processing.json') })), { json: fixture('order-processing.json'), headers: { 'Retry-After': '0' } });
    server.on('POST', '/acme/order/1', { json: fixture('order-valid.json') });
    await client({ poll: { maxIntervalMs: 5000 } }).waitForOrder(ORDER, 'valid');
    expect(clock.sleeps).toEqual([500, 1000, 2000, 4000, 5000, 5000, 500]);
  });

  it('backs off 0.5, 1, 2, 4, 8, then 15 s by default, and waits at most 10 minutes whatever Retry-After says', async () => {
    server.once('POST', '/acme/order/1',
      ...Array.from({ length: 7 }, () => ({ json: fixture('order-processing.json') })),
      { json: fixture('order-processing.json'), headers: { 'Retry-After': '3600' } });
    server.on('POST', '/acme/order/1', { json: fixture('order-valid.json') });
    await client().waitForOrder(ORDER, 'valid', { timeoutMs: 2 * 3600_000 });
    expect(clock.sleeps).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000, 600_000]);
  });

  it('gives up when the next wait would pass the deadline, with the last state', async () => {
    server.on('POST', '/acme/order/1', { json: fixture('order-processing.json'), headers: { 'Retry-After': '120' } });
    const error = (await failure(client().waitForOrder(ORDER, 'valid', { timeoutMs: 60_000 }))) as AcmeTimeoutError;
    expect(error).toBeInstanceOf(AcmeTimeoutError);
    expect((error.lastState as { status: string }).status).toBe('processing');
    expect(clock.sleeps).toEqual([]);
    expect(server.seen('/acme/order/1')).toHaveLength(1);
  });

  it('reports progress with the next wait, and stops when aborted while waiting', async () => {
    server.on('POST', '/acme/authz/1', { json: fixture('rfc8823-3-authz-pending-email-reply.json'), headers: { 'Retry-After': '10' } });
    const controller = new AbortController();
    const progress: (number | undefined)[] = [];
    const error = await failure(client().waitForAuthorization(`${BASE}/acme/authz/1`, {
      signal: controller.signal,
      onProgress: (p) => {
        progress.push(p.nextPollInMs);
        if (p.polls === 2) controller.abort(new Error('closed the popup'));
      },
    }));
    expect(error).toBeInstanceOf(AcmeAbortError);
    expect(progress).toEqual([10_000, 10_000]);
    expect(server.seen('/acme/authz/1')).toHaveLength(2);
  });
});
