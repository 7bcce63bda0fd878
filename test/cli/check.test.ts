/** `acme-email check`, run as the real command: JSON on stdout, exit 0 answer / 1 refuse / 2 error. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/messages/rfc5322';
import { makeTempDir } from '../helpers/process';
import { startZoneDohServer } from '../messages/doh-server';
import { CA_FROM, challengeMail, IDENTITY, keyRecord, NOW, rsaKey, signWithMailauth } from '../messages/support';
import { runCli, type CliResult } from './run-cli';

/** RFC 8823 §3.1's example token-part1: padded base64. */
const RFC8823_TOKEN1 = 'LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME=';
const tmp = makeTempDir('cli-check');
const path = (name: string): string => join(tmp.path, name);
const now = String(NOW.getTime() / 1000);

let zone: Record<string, string[]> = {};

beforeAll(async () => {
  const key = rsaKey();
  zone = { 'sel._domainkey.ca.example': [keyRecord(key)], 'sel._domainkey.other.example': [keyRecord(key)] };
  writeFileSync(path('zone.json'), JSON.stringify(zone));
  writeFileSync(path('mailauth-rsa-relaxed-genuine.eml'), await signWithMailauth(challengeMail(), { key }));
  writeFileSync(path('mailauth-rsa-relaxed-rfc8823_3.1_padded_token.eml'), await signWithMailauth(challengeMail({ subject: `ACME: ${RFC8823_TOKEN1}` }), { key }));
  writeFileSync(path('mailauth-rsa-relaxed-unaligned_d.eml'), await signWithMailauth(challengeMail(), { key, domain: 'other.example' }));
  writeFileSync(path('malformed.eml'), 'this is not a mail header\r\n\r\nbody');
  writeFileSync(path('oversized.eml'), Buffer.alloc(LIMITS.maxMessageBytes + 1, 0x61));
  writeFileSync(path('bad-zone.json'), '{"a": 1');
});
afterAll(() => {
  tmp.remove();
});

const acmeEmail = (...args: string[]): Promise<CliResult> => runCli(['check', ...args]);

const noStackTrace = (r: CliResult): void => {
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).toBe('');
};

describe('acme-email check', () => {
  it('answer: exit 0 and the JSON verdict with token and DKIM results', async () => {
    const r = await acmeEmail(path('mailauth-rsa-relaxed-genuine.eml'), '--dns', path('zone.json'), '--expect-from', CA_FROM, '--to', IDENTITY, '--now', now);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({ verdict: 'answer', tokenPart1: 'LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME', reasons: [] });
    expect(out['dkim']).toEqual([{ domain: 'ca.example', selector: 'sel', algorithm: 'rsa-sha256', result: 'pass', reason: 'signature by ca.example verified' }]);
  });

  it('answer: a DKIM-signed mail whose subject carries the RFC 8823 §3.1 padded token, kept verbatim', async () => {
    const r = await acmeEmail(path('mailauth-rsa-relaxed-rfc8823_3.1_padded_token.eml'), '--dns', path('zone.json'), '--expect-from', CA_FROM, '--to', IDENTITY, '--now', now);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({ verdict: 'answer', tokenPart1: RFC8823_TOKEN1, reasons: [] });
    expect(out['dkim']).toEqual([{ domain: 'ca.example', selector: 'sel', algorithm: 'rsa-sha256', result: 'pass', reason: 'signature by ca.example verified' }]);
  });

  it('refuse: exit 1 with reason codes and sentences', async () => {
    const [unaligned, wrongTo] = await Promise.all([
      acmeEmail(path('mailauth-rsa-relaxed-unaligned_d.eml'), '--dns', path('zone.json'), '--now', now),
      acmeEmail(path('mailauth-rsa-relaxed-genuine.eml'), '--dns', path('zone.json'), '--to', 'bob@example.org', '--now', now),
    ]);
    expect(unaligned.status).toBe(1);
    const out = JSON.parse(unaligned.stdout) as { verdict: string; reasons: { code: string; message: string }[]; dkim: { result: string }[] };
    expect(out.verdict).toBe('refuse');
    expect(out.reasons.map((x) => x.code)).toEqual(['dkim-unaligned']);
    expect(out.reasons[0]!.message).toMatch(/other\.example/);
    expect(wrongTo.status).toBe(1);
    expect((JSON.parse(wrongTo.stdout) as { reasons: { code: string }[] }).reasons.map((x) => x.code)).toEqual(['to-mismatch']);
  });

  it('--doh: looks keys up over DNS-over-HTTPS (a loopback RFC 8484 server)', async () => {
    const doh = await startZoneDohServer(zone);
    try {
      const r = await acmeEmail(path('mailauth-rsa-relaxed-genuine.eml'), '--doh', doh.url, '--expect-from', CA_FROM, '--now', now);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect((JSON.parse(r.stdout) as { verdict: string }).verdict).toBe('answer');
    } finally {
      await doh.close();
    }
  });

  it('malformed, oversized or missing input, bad zone files and bad options: exit 2, a clear sentence, no stack trace', async () => {
    const runs = await Promise.all([
      acmeEmail(path('malformed.eml')),
      acmeEmail(path('oversized.eml')),
      acmeEmail(path('absent.eml')),
      acmeEmail(path('mailauth-rsa-relaxed-genuine.eml'), '--dns', path('bad-zone.json')),
      acmeEmail(path('mailauth-rsa-relaxed-genuine.eml'), '--now', 'yesterday'),
      acmeEmail(path('mailauth-rsa-relaxed-genuine.eml'), '--bogus', 'x'),
      acmeEmail(),
    ]);
    const expected = [/not a "Name: value" field/, /bytes; the limit is/, /cannot read message .*ENOENT/, /zone file is not JSON/, /--now takes a time/, /unknown option --bogus/, /exactly one message file/];
    runs.forEach((r, i) => {
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^acme-email check: /);
      expect(r.stderr).toMatch(expected[i]!);
      noStackTrace(r);
    });
  });
});
