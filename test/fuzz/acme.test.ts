/**
 * Fuzzing the ACME client's handling of what a server sends (src/acme, through its public
 * AcmeClient): directory, problem documents, orders, authorizations with their challenges
 * (email-reply-00 among them), certificate chains, and the headers around them (status,
 * Content-Type, Replay-Nonce, Retry-After, Link). Whatever the server sends, the client must
 * return a parsed resource or throw an AcmeError subclass — never a TypeError from deep inside,
 * never hang. Retries sleep on a fake clock, so none of this waits for real.
 */
import { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { AcmeClient, AcmeError, generateAccountKey, parseRetryAfter, type AccountKey } from '../../src/acme/index';
import { makeTestCa } from '../helpers/openssl';
import { makeTempDir } from '../helpers/process';
import { TEST_TIMEOUT_MS, fuzz, mailBytes, mutated, RUNS, type Tally } from './guard';

const crypto = webcrypto as unknown as Crypto;
const BASE = 'https://acme.fuzz.test';
const results: Tally[] = [];
let key: AccountKey;

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../fixtures/acme/${name}`, import.meta.url), 'utf8').replaceAll('{base}', BASE)) as Record<string, unknown>;
}

beforeAll(async () => {
  key = await generateAccountKey(crypto);
});

function clean(t: Tally): void {
  results.push(t);
  expect(t.examples, t.target).toEqual([]);
  expect(t.crashes).toBe(0);
  expect(t.hangs).toBe(0);
}

const clock = { now: () => Date.parse('2026-11-23T12:00:00Z'), sleep: (_ms: number, signal?: AbortSignal) => (signal?.aborted ? Promise.reject(signal.reason as Error) : Promise.resolve()) };

/** One server answer: status, a few headers, a body. */
interface Answer {
  readonly status: number;
  readonly contentType: string | null;
  readonly nonce: boolean;
  readonly retryAfter: string | null;
  readonly link: string | null;
  readonly location: string | null;
  readonly body: string;
}

/** Structural mutations of a JSON fixture: fields replaced, dropped or added, then maybe text-mutated. */
function jsonLike(sample: Record<string, unknown>): fc.Arbitrary<string> {
  const keys = [...Object.keys(sample), 'type', 'detail', 'status', 'subproblems', 'challenges', 'identifier', 'token', 'from', 'url', 'error', 'certificate', 'x'];
  const structural = fc
    .tuple(fc.dictionary(fc.constantFrom(...keys), fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant(undefined)), { maxKeys: 4 }), fc.boolean())
    .map(([changes, nestChallenges]) => {
      const out: Record<string, unknown> = { ...sample, ...changes };
      if (nestChallenges && Array.isArray(sample['challenges'])) out['challenges'] = [...(sample['challenges'] as unknown[]), { ...changes, type: 'email-reply-00' }];
      return JSON.stringify(out);
    });
  return fc.oneof({ weight: 3, arbitrary: fc.constant(JSON.stringify(sample)) }, { weight: 4, arbitrary: structural }, { weight: 2, arbitrary: mutated(JSON.stringify(sample), 4) }, { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) }, { weight: 1, arbitrary: mailBytes(200) });
}

function answers(sample: Record<string, unknown>, okType = 'application/json'): fc.Arbitrary<Answer> {
  return fc.record({
    status: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(200, 201) }, { weight: 1, arbitrary: fc.constantFrom(202, 204, 301, 400, 403, 404, 409, 429, 500, 503, 599) }),
    contentType: fc.oneof({ weight: 3, arbitrary: fc.constant(okType) }, { weight: 1, arbitrary: fc.constantFrom('application/problem+json', 'application/json; charset=utf-8', 'text/html', 'application/pem-certificate-chain', null) }),
    nonce: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    retryAfter: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, fc.constantFrom('0', '1', '-5', '86400', '99999999999', 'Mon, 23 Nov 2026 12:00:05 GMT', 'Wed, 21 Oct 2015 07:28:00 GMT', 'soon', ''), mailBytes(20)),
    link: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, fc.constantFrom(`<${BASE}/acme/directory>;rel="index"`, `<${BASE}/terms>;rel="terms-of-service"`, `<${BASE}/alt/1>;rel="alternate", <>;rel=up`, '<;rel=', '<http://evil.test/x>; rel="alternate"'), mailBytes(40)),
    location: fc.oneof(fc.constantFrom(`${BASE}/acme/order/1`, 'http://insecure.test/order/1', '/relative/order', 'not a url', '')),
    body: jsonLike(sample),
  });
}

let nonces = 0;

/** A server whose directory and nonces are fine and whose answer at `path` is `answer`, every time. */
function server(path: string, answer: Answer): typeof fetch {
  return (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers({ 'replay-nonce': `nonce-${++nonces}` });
    if (url.pathname === '/dir') return Promise.resolve(Response.json(fixture('directory.json')));
    if (url.pathname === '/acme/new-nonce') return Promise.resolve(new Response(null, { status: 200, headers }));
    if (url.pathname !== path) return Promise.resolve(Response.json({ type: 'urn:ietf:params:acme:error:malformed' }, { status: 404, headers }));
    if (!answer.nonce) headers.delete('replay-nonce');
    if (answer.contentType !== null) headers.set('content-type', answer.contentType);
    if (answer.retryAfter !== null) headers.set('retry-after', answer.retryAfter);
    if (answer.link !== null) headers.set('link', answer.link);
    if (answer.location !== null) headers.set('location', answer.location);
    const nullBody = [204, 304].includes(answer.status) || init?.method === 'HEAD';
    return Promise.resolve(new Response(nullBody ? null : answer.body, { status: answer.status, headers }));
  };
}

function client(fetchImpl: typeof fetch): AcmeClient {
  return new AcmeClient({ directoryUrl: `${BASE}/dir`, fetch: fetchImpl, crypto, accountKey: key, accountUrl: `${BASE}/acme/acct/1`, clock });
}

const isAcmeError = (e: unknown): boolean => e instanceof AcmeError;
const runs = Math.max(1, Math.floor(RUNS / 2));

describe('fuzz: src/acme server input', () => {
  it('authorization (RFC 8555 §7.1.4, RFC 8823 email-reply-00 challenges)', async () => {
    clean(await fuzz('acme authorization', answers(fixture('rfc8823-3-authz-pending-email-reply.json')), (a) => client(server('/acme/authz/1', a)).getAuthorization(`${BASE}/acme/authz/1`), isAcmeError, runs));
  }, TEST_TIMEOUT_MS);

  it('order (RFC 8555 §7.1.3), with problem documents in error', async () => {
    const order = { ...fixture('order-invalid.json'), ...fixture('order-pending-email.json') };
    clean(await fuzz('acme order', answers(order), (a) => client(server('/acme/order/1', a)).getOrder(`${BASE}/acme/order/1`), isAcmeError, runs));
  }, TEST_TIMEOUT_MS);

  it('new order: Location, status 201, problem documents (RFC 8555 §7.4, §6.7)', async () => {
    clean(await fuzz('acme new order', fc.oneof(answers(fixture('order-pending-email.json')), answers(fixture('rfc8555-6.7.1-problem-compound.json'), 'application/problem+json')), (a) => client(server('/acme/new-order', a)).newOrder([{ type: 'email', value: 'alice@example.test' }]), isAcmeError, runs));
  }, TEST_TIMEOUT_MS);

  it('directory (RFC 8555 §7.1.1)', async () => {
    const dir = fixture('directory.json');
    clean(await fuzz('acme directory', jsonLike(dir), (body) => {
      const f: typeof fetch = (input) => {
        const url = new URL(input instanceof Request ? input.url : String(input));
        return Promise.resolve(url.pathname === '/dir' ? new Response(body, { headers: { 'content-type': 'application/json' } }) : new Response(null, { status: 200, headers: { 'replay-nonce': `n${++nonces}` } }));
      };
      return client(f).directory();
    }, isAcmeError, runs));
  }, TEST_TIMEOUT_MS);

  it('certificate chain download (RFC 8555 §7.4.2)', async () => {
    const dir = makeTempDir('fuzz-acme-');
    const pem = makeTestCa(dir.path, 'Fuzz Chain').certPem;
    dir.remove();
    const chain = fc.record({
      status: fc.constantFrom(200, 200, 200, 500, 429),
      contentType: fc.constantFrom('application/pem-certificate-chain', 'application/pem-certificate-chain', 'text/plain', null),
      nonce: fc.boolean(),
      retryAfter: fc.constant(null),
      link: fc.oneof(fc.constant(null), mailBytes(40)),
      location: fc.constant(null),
      body: fc.oneof(fc.constant(pem + pem), mutated(pem + pem, 6), mailBytes(300)),
    });
    clean(await fuzz('acme certificate chain', chain, (a) => client(server('/acme/cert/1', a)).downloadCertificate(`${BASE}/acme/cert/1`), isAcmeError, runs));
  }, TEST_TIMEOUT_MS);

  it('parseRetryAfter: any header text → milliseconds or undefined', async () => {
    clean(await fuzz('retry-after', fc.oneof(mailBytes(40), fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()), fc.integer().map(String)), (v) => {
      const ms = parseRetryAfter(v, Date.parse('2026-11-23T12:00:00Z'));
      if (ms !== undefined && (!Number.isFinite(ms) || ms < 0)) throw new TypeError(`bad delay ${ms}`);
    }, () => false));
  }, TEST_TIMEOUT_MS);

  it('figure', () => {
    const inputs = results.reduce((a, t) => a + t.inputs, 0);
    console.log(`fuzz: inputs=${inputs} crashes=${results.reduce((a, t) => a + t.crashes, 0)} hangs=${results.reduce((a, t) => a + t.hangs, 0)} (src/acme, ${results.length} targets)`);
    expect(results.length).toBe(6);
  });
});
