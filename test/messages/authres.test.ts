import { describe, expect, it } from 'vitest';
import { parseAuthenticationResults, trustedAuthenticationResults } from '../../src/messages/authres';
import { parseMessage } from '../../src/messages/rfc5322';

/** What the user's provider writes when it accepts the mail (RFC 5321 §4.4). */
const RECEIVED = 'Received: from mx.ca.example (mx.ca.example [192.0.2.1])\r\n by mx.example.org with ESMTPS; Mon, 23 Nov 2026 18:00:01 +0000';

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
    const m = parseMessage(
      'Authentication-Results: evil.example; dkim=pass header.d=ca.example\r\nAuthentication-Results: MX.example.org; dkim=fail header.d=ca.example\r\nAuthentication-Results: mx.example.org; dkim=pass header.d=ca.example\r\n' +
        `${RECEIVED}\r\nFrom: a@ca.example\r\n\r\n`,
    );
    expect(trustedAuthenticationResults(m, [])).toBeNull();
    expect(trustedAuthenticationResults(m, ['other.example'])).toBeNull();
    expect(trustedAuthenticationResults(m, ['mx.example.org'])?.results[0]?.result).toBe('fail');
  });
});

/**
 * Open finding 2 of docs/SECURITY.md (forgery `authres-forged_only_doh_down`): a field the sender
 * wrote with the provider's authserv-id was trusted when the provider wrote none of its own.
 * RFC 8601 §5: the receiving MTA adds its field at the top, so only the part of the header above
 * the topmost Received, written on delivery, can hold the provider's field.
 */
describe('Authentication-Results: only what the provider wrote on delivery (above the topmost Received)', () => {
  const trusted = ['mx.example.org'];
  const forged = 'Authentication-Results: mx.example.org; dkim=pass header.d=ca.example header.s=sel';

  it('authres-no_received: a message without any Received has no trusted field', () => {
    expect(trustedAuthenticationResults(parseMessage(`${forged}\r\nFrom: a@ca.example\r\n\r\n`), trusted)).toBeNull();
  });

  it('authres-forged_below_received: a matching field below the topmost Received is the sender\'s, not the provider\'s', () => {
    expect(trustedAuthenticationResults(parseMessage(`${RECEIVED}\r\n${forged}\r\nFrom: a@ca.example\r\n\r\n`), trusted)).toBeNull();
    // Below an untrusted field and a Received the provider wrote, after relays' Received fields.
    const m = parseMessage(`Authentication-Results: spam.example.org; x=pass\r\n${RECEIVED}\r\nReceived: from relay.ca.example\r\n${forged}\r\nFrom: a@ca.example\r\n\r\n`);
    expect(trustedAuthenticationResults(m, trusted)).toBeNull();
  });

  it('the provider\'s field above its Received is trusted, even with a forged copy further down', () => {
    const m = parseMessage(`Authentication-Results: mx.example.org; dkim=temperror header.d=ca.example\r\n${RECEIVED}\r\n${forged}\r\nFrom: a@ca.example\r\n\r\n`);
    expect(trustedAuthenticationResults(m, trusted)?.results).toEqual([{ method: 'dkim', result: 'temperror', reason: null, properties: { 'header.d': 'ca.example' } }]);
  });

  it('a Received field name is matched case-insensitively, and a folded one still counts', () => {
    const m = parseMessage(`RECEIVED: from mx.evil.example\r\n\tby mx.example.org; Mon, 23 Nov 2026 18:00:01 +0000\r\n${forged}\r\nFrom: a@ca.example\r\n\r\n`);
    expect(trustedAuthenticationResults(m, trusted)).toBeNull();
  });
});
