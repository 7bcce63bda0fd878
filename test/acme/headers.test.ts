import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from '../../src/acme/retry-after';
import { linksWithRel, parseLinks } from '../../src/acme/link';

const NOW = Date.parse('2026-11-23T12:00:00Z');

describe('Retry-After (RFC 9110 §10.2.3)', () => {
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
  });

  it('reads the three HTTP-date forms of RFC 9110 §5.6.7', () => {
    expect(parseRetryAfter('Mon, 23 Nov 2026 12:00:30 GMT', NOW)).toBe(30_000); // IMF-fixdate
    expect(parseRetryAfter('Monday, 23-Nov-26 12:01:00 GMT', NOW)).toBe(60_000); // RFC 850
    expect(parseRetryAfter('Mon Nov 23 12:00:05 2026', NOW)).toBe(5_000); // asctime
  });

  it('gives 0 for a date in the past, and caps absurd values', () => {
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW)).toBe(0);
    expect(parseRetryAfter('99999999999999999999', NOW)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('Fri, 01 Jan 2100 00:00:00 GMT', NOW)).toBe(MAX_RETRY_AFTER_MS);
  });

  it('ignores what is neither', () => {
    for (const value of [null, undefined, '', '-5', '1.5', '5 minutes', 'soon', 'Mon, 99 Foo 2026 25:61:61 GMT']) {
      expect(parseRetryAfter(value, NOW)).toBeUndefined();
    }
  });

  it('never throws and never returns a negative or non-finite wait', () => {
    fc.assert(fc.property(fc.string(), (text) => {
      const ms = parseRetryAfter(text, NOW);
      return ms === undefined || (Number.isFinite(ms) && ms >= 0 && ms <= MAX_RETRY_AFTER_MS);
    }), { numRuns: Number(process.env['FUZZ_RUNS'] ?? 500) });
  });
});

describe('Link header (RFC 8288 §3)', () => {
  const base = 'https://acme.test/acme/cert/1';

  it('reads several links, relative targets, quoted and bare rel, several rels in one', () => {
    const links = parseLinks('<https://acme.test/acme/cert/1/1>;rel="alternate", </dir>; rel=index, <2>;rel="alternate up"', base);
    expect(links).toEqual([
      { url: 'https://acme.test/acme/cert/1/1', rels: ['alternate'] },
      { url: 'https://acme.test/dir', rels: ['index'] },
      { url: 'https://acme.test/acme/cert/2', rels: ['alternate', 'up'] },
    ]);
    expect(linksWithRel(links, 'alternate')).toEqual(['https://acme.test/acme/cert/1/1', 'https://acme.test/acme/cert/2']);
  });

  it('is not fooled by commas and semicolons inside quoted parameters', () => {
    const links = parseLinks('<https://acme.test/tos>;title="a, b; c";rel="terms-of-service"', base);
    expect(links).toEqual([{ url: 'https://acme.test/tos', rels: ['terms-of-service'] }]);
  });

  it('never throws on arbitrary input', () => {
    fc.assert(fc.property(fc.string(), (text) => Array.isArray(parseLinks(text, base))), { numRuns: Number(process.env['FUZZ_RUNS'] ?? 500) });
  });
});
