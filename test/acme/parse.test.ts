/**
 * Whatever JSON a server sends, parsing yields a resource or an AcmeProtocolError — never a
 * TypeError from deep inside, never a hang. Property tests over random and mutated documents.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AcmeProtocolError } from '../../src/acme';
import { webcrypto } from 'node:crypto';
import { defaultChallengeRegistry } from '../../src/acme/client';
import { AcmeHttp } from '../../src/acme/http';
import { parseAccount, parseAuthorization, parseDirectory, parseOrder, parseProblem, parseRenewalInfo } from '../../src/acme/parse';
import { BASE, fixture } from './fake-acme';

const runs = Number(process.env['FUZZ_RUNS'] ?? 300);
const request = { method: 'POST', url: `${BASE}/x` };
// The wire layer's own URL check, as the resources use it.
const http = new AcmeHttp({ directoryUrl: `${BASE}/dir`, fetch: () => Promise.reject(new Error('no network here')), crypto: webcrypto as unknown as Crypto });
const checkUrl = (value: string, what: string): string => http.checkUrl(value, what, request, request.url);
const registry = defaultChallengeRegistry();

const parsers: Record<string, (obj: Record<string, unknown>) => unknown> = {
  directory: (o) => parseDirectory(o, request, checkUrl),
  account: (o) => parseAccount(o, `${BASE}/acct/1`, request, checkUrl),
  order: (o) => parseOrder(o, `${BASE}/order/1`, request, checkUrl, undefined),
  authorization: (o) => parseAuthorization(o, `${BASE}/authz/1`, request, checkUrl, registry, undefined),
  renewalInfo: (o) => parseRenewalInfo(o, request, undefined),
  problem: (o) => parseProblem(o),
};

const seeds: Record<string, string> = {
  directory: 'directory.json',
  account: 'account-valid.json',
  order: 'order-valid.json',
  authorization: 'rfc8823-3-authz-pending-email-reply.json',
  renewalInfo: 'rfc9773-4.2-renewal-info.json',
  problem: 'rfc8555-6.7.1-problem-compound.json',
};

/** Calls `parse`; fine if it returns or throws AcmeProtocolError; anything else fails the property. */
function safely(parse: (obj: Record<string, unknown>) => unknown, obj: Record<string, unknown>): boolean {
  try {
    parse(obj);
    return true;
  } catch (error) {
    if (error instanceof AcmeProtocolError) return true;
    throw error;
  }
}

/** A fixture with one member replaced by an arbitrary JSON value, or removed. */
function mutated(seed: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(seed);
  return fc.tuple(fc.constantFrom(...keys), fc.option(fc.jsonValue(), { nil: undefined })).map(([key, value]) => {
    const rest = Object.fromEntries(Object.entries(seed).filter(([k]) => k !== key));
    return value === undefined ? rest : { ...rest, [key]: value };
  });
}

describe('parsing server JSON never crashes', () => {
  for (const [name, parse] of Object.entries(parsers)) {
    it(`${name}: seeds parse, and random or mutated documents give a resource or AcmeProtocolError`, () => {
      expect(() => parse(fixture(seeds[name]!))).not.toThrow();
      fc.assert(fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => safely(parse, obj)), { numRuns: runs });
      fc.assert(fc.property(mutated(fixture(seeds[name]!)), (obj) => safely(parse, obj)), { numRuns: runs });
    });
  }

  it('authorization: a challenge member replaced by anything is kept, refused, or typed — never a crash', () => {
    const seed = fixture('rfc8823-3-authz-pending-email-reply.json');
    const challenge = (seed['challenges'] as Record<string, unknown>[])[0]!;
    fc.assert(fc.property(mutated(challenge), (c) => safely(parsers['authorization']!, { ...seed, challenges: [c] })), { numRuns: runs });
  });
});
