/** `acme-email respond`, run as the real command; expected values computed here with node:crypto. */
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/process';
import { THUMBPRINT, TOKEN1, TOKEN2 } from '../messages/support';

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

function acmeEmail(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('node', ['bin/acme-email.js', 'respond', ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (status) => {
      resolve({ status, stdout, stderr });
    });
  });
}

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
