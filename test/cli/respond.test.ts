/** `acme-email respond`, run as the real command; expected values computed here with node:crypto. */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/process';
import { THUMBPRINT, TOKEN1, TOKEN2 } from '../messages/support';
import { runCli, type CliResult } from './run-cli';

const tmp = makeTempDir('cli-respond');
const path = (name: string): string => join(tmp.path, name);
let expectedThumbprint = '';

beforeAll(() => {
  // A test-only EC account key, in JWK (private) and PEM (public) form.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  writeFileSync(path('account.jwk'), JSON.stringify(jwk));
  writeFileSync(path('account.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(path('garbage.pem'), 'not a key');
  // RFC 7638 §3: required members in lexicographic order, no whitespace.
  const canonical = `{"crv":"P-256","kty":"EC","x":"${jwk.x!}","y":"${jwk.y!}"}`;
  expectedThumbprint = createHash('sha256').update(canonical).digest('base64url');
});
afterAll(() => {
  tmp.remove();
});

const acmeEmail = (...args: string[]): Promise<CliResult> => runCli(['respond', ...args]);

const block = (keyAuth: string): string =>
  `-----BEGIN ACME RESPONSE-----\n${createHash('sha256').update(keyAuth).digest('base64url')}\n-----END ACME RESPONSE-----\n`;

describe('acme-email respond', () => {
  it('prints the armoured response for a thumbprint, string joining by default', async () => {
    const r = await acmeEmail('--subject', `ACME: ${TOKEN1}`, '--token', TOKEN2, '--thumbprint', THUMBPRINT);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(block(`${TOKEN1}${TOKEN2}.${THUMBPRINT}`));
    expect(r.stderr).toMatch(/joined as string/);
  });

  it('joins bytes when asked, and reads folded or encoded subjects', async () => {
    const bytes = Buffer.concat([Buffer.from(TOKEN1, 'base64url'), Buffer.from(TOKEN2, 'base64url')]).toString('base64url');
    const encoded = `=?utf-8?B?${Buffer.from(`ACME: ${TOKEN1}`).toString('base64')}?=`;
    const [r, folded] = await Promise.all([
      acmeEmail('--subject', encoded, '--token', TOKEN2, '--thumbprint', THUMBPRINT, '--join', 'bytes'),
      acmeEmail('--subject', `ACME: ${TOKEN1.slice(0, 20)}\n ${TOKEN1.slice(20)}`, '--token', TOKEN2, '--thumbprint', THUMBPRINT),
    ]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(block(`${bytes}.${THUMBPRINT}`));
    expect(folded.stdout).toBe(block(`${TOKEN1}${TOKEN2}.${THUMBPRINT}`));
  });

  it('answers the RFC 8823 §3.1 example subject (padded token-part1) with acme4j\'s published value', async () => {
    // Vector: github.com/shred/acme4j, acme4j-smime/src/test/java/org/shredzone/acme4j/smime/SMIMETests.java.
    const subject = 'ACME: LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME=';
    const thumbprint = '1_nKJnlH9boVxdoO63T8zP7O2w42qZL4d6xj35Hy5aI';
    const [string, bytes] = await Promise.all([
      acmeEmail('--subject', subject, '--token', 'DGyRejmCefe7v4NfDGDKfA', '--thumbprint', thumbprint, '--join', 'string'),
      acmeEmail('--subject', subject, '--token', 'DGyRejmCefe7v4NfDGDKfA', '--thumbprint', thumbprint, '--join', 'bytes'),
    ]);
    expect(string.stderr).toMatch(/joined as string/);
    expect(string.status).toBe(0);
    expect(string.stdout).toBe('-----BEGIN ACME RESPONSE-----\nAjXW0h9_4YMP6Sv-9tKQNUrapI0us7ayBn0nCGOkUsk\n-----END ACME RESPONSE-----\n');
    expect(bytes.status).toBe(0);
    // Pinned in test/messages/response.test.ts, where its independent derivation is shown.
    expect(bytes.stdout).toBe('-----BEGIN ACME RESPONSE-----\nxyC6Z01DHFuV0pZgacdI2xN9nIKkPSARDv1gLbxY8Xk\n-----END ACME RESPONSE-----\n');
  });

  it('refuses a subject whose token mixes the base64 and base64url alphabets', async () => {
    const r = await acmeEmail('--subject', 'ACME: LgYemJLy3F1LDkiJrdIG+EzyFJyOyf6vBdyZ1T_3sME', '--token', TOKEN2, '--thumbprint', THUMBPRINT);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/mixes the base64 and base64url alphabets/);
  });

  it('computes the RFC 7638 thumbprint from a JWK or a PEM account key', async () => {
    const [jwk, pem] = await Promise.all([
      acmeEmail('--subject', `ACME: ${TOKEN1}`, '--token', TOKEN2, '--account-key', path('account.jwk')),
      acmeEmail('--subject', `ACME: ${TOKEN1}`, '--token', TOKEN2, '--account-key', path('account.pem')),
    ]);
    expect(jwk.status).toBe(0);
    expect(jwk.stdout).toBe(block(`${TOKEN1}${TOKEN2}.${expectedThumbprint}`));
    expect(pem.stdout).toBe(jwk.stdout);
  });

  it('usage errors exit 2 with a sentence and no stack trace', async () => {
    const runs = await Promise.all([
      acmeEmail('--subject', `ACME: ${TOKEN1}`, '--thumbprint', THUMBPRINT),
      acmeEmail('--subject', `ACME: ${TOKEN1}`, '--token', TOKEN2, '--thumbprint', THUMBPRINT, '--account-key', path('account.jwk')),
      acmeEmail('--subject', 'Hello', '--token', TOKEN2, '--thumbprint', THUMBPRINT),
      acmeEmail('--subject', `ACME: ${TOKEN1}`, '--token', TOKEN2, '--account-key', path('garbage.pem')),
      acmeEmail('--subject', `ACME: ${TOKEN1}`, '--token', TOKEN2, '--thumbprint', 'short'),
      acmeEmail('--subject', `ACME: ${TOKEN1}`, '--token', TOKEN2, '--thumbprint', THUMBPRINT, '--join', 'xor'),
    ]);
    const expected = [/--token is required/, /exactly one of/, /not start with "ACME:"/, /not a JWK or PEM key/, /43 base64url/, /--join is/];
    runs.forEach((r, i) => {
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(expected[i]!);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  });
});
