import { describe, expect, it } from 'vitest';
import { parseAuthenticationResults, trustedAuthenticationResults } from '../../src/messages/authres';
import { parseMessage } from '../../src/messages/rfc5322';

describe('Authentication-Results (RFC 8601)', () => {
  it('parses the RFC 8601 §B.4 style: several methods, comments, properties, reasons', () => {
    const ar = parseAuthenticationResults(
      ' mx.example.org 1; (a comment)\r\n spf=pass smtp.mailfrom=ca.example;\r\n dkim=pass (2048-bit key; secure) reason="good sig" header.d=ca.example header.s=sel header.b=AbCdEfGh;\r\n dmarc=none',
    );
    expect(ar).toEqual({
      authservId: 'mx.example.org',
      results: [
        { method: 'spf', result: 'pass', reason: null, properties: { 'smtp.mailfrom': 'ca.example' } },
        { method: 'dkim', result: 'pass', reason: 'good sig', properties: { 'header.d': 'ca.example', 'header.s': 'sel', 'header.b': 'AbCdEfGh' } },
        { method: 'dmarc', result: 'none', reason: null, properties: {} },
      ],
    });
  });

  it('reads "none" and quoted authserv-ids; unreadable fields give null', () => {
    expect(parseAuthenticationResults('"mx.example.org"; none')).toEqual({ authservId: 'mx.example.org', results: [] });
    expect(parseAuthenticationResults('   ')).toBeNull();
  });

  it('trusts only the configured authserv-ids, topmost field first, and nothing when none are configured', () => {
    const m = parseMessage('Authentication-Results: evil.example; dkim=pass header.d=ca.example\r\nAuthentication-Results: MX.example.org; dkim=fail header.d=ca.example\r\nAuthentication-Results: mx.example.org; dkim=pass header.d=ca.example\r\nFrom: a@ca.example\r\n\r\n');
    expect(trustedAuthenticationResults(m, [])).toBeNull();
    expect(trustedAuthenticationResults(m, ['other.example'])).toBeNull();
    expect(trustedAuthenticationResults(m, ['mx.example.org'])?.results[0]?.result).toBe('fail');
  });
});
