/**
 * Test-only helpers for the challenge-mail suites: challenge mails, DKIM keys made per run,
 * signing with independent signers (npm mailauth; OpenDKIM's opendkim-testmsg), DNS zones.
 * Every key here is generated at run time and is test-only.
 */
import { execFileSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dkimSign } from 'mailauth/lib/dkim/sign';
import { CHALLENGE_HEADERS, type DkimKey as TestKey } from '../fixtures/forgery/signers';

/** DKIM keys made per run and their TXT records: the forgery fixtures' own (one copy). */
export { CHALLENGE_HEADERS, ed25519Key, keyRecord, rsaKey, type DkimKey as TestKey } from '../fixtures/forgery/signers';

export const crypto = webcrypto as unknown as Crypto;

/** A 43-character token-part1 (256 bits), as CAs make them. */
export const TOKEN1 = 'LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME';
export const TOKEN2 = 'DGyRejmCefe7v4NfDGDKfA';
export const THUMBPRINT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
export const CA_FROM = 'acme-challenge@ca.example';
export const IDENTITY = 'alice@example.org';
/** Mail dates are fixed; the clock the tests inject is near them. */
export const MAIL_DATE = 'Mon, 23 Nov 2026 18:00:00 +0000';
export const ORDER_CREATED = new Date('2026-11-23T17:59:00Z');
export const NOW = new Date('2026-11-23T18:01:00Z');

export interface MailOptions {
  readonly subject?: string;
  readonly from?: string;
  readonly to?: string;
  readonly extraHeaders?: readonly string[];
  readonly autoSubmitted?: string | null;
  readonly body?: string;
  readonly date?: string;
}

/** An RFC 8823 challenge mail (CRLF), unsigned. */
export function challengeMail(options: MailOptions = {}): string {
  const lines = [
    `From: ACME CA <${options.from ?? CA_FROM}>`,
    `To: Alice <${options.to ?? IDENTITY}>`,
    `Subject: ${options.subject ?? `ACME: ${TOKEN1}`}`,
    `Date: ${options.date ?? MAIL_DATE}`,
    'Message-ID: <challenge-1@ca.example>',
    ...(options.autoSubmitted === null ? [] : [`Auto-Submitted: ${options.autoSubmitted ?? 'auto-generated; type=acme'}`]),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    ...(options.extraHeaders ?? []),
  ];
  const body = options.body ?? 'This is an automatically generated ACME challenge for alice@example.org.\r\nPlease do not   reply by hand.  \r\n\r\n';
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

export interface SignOptions {
  readonly key: TestKey;
  readonly domain?: string;
  readonly selector?: string;
  readonly canonicalization?: string;
  readonly headerList?: string;
  readonly maxBodyLength?: number;
  readonly signTime?: Date;
  readonly expires?: Date;
}

/** Signs with npm mailauth (an independent implementation) and prepends the signature. */
export async function signWithMailauth(message: string, options: SignOptions): Promise<string> {
  const result = await dkimSign(message, {
    canonicalization: options.canonicalization ?? 'relaxed/relaxed',
    headerList: options.headerList ?? CHALLENGE_HEADERS,
    signTime: options.signTime ?? new Date('2026-11-23T18:00:00Z'),
    ...(options.expires ? { expires: options.expires } : {}),
    signatureData: [
      {
        signingDomain: options.domain ?? 'ca.example',
        selector: options.selector ?? 'sel',
        privateKey: options.key.privatePem,
        algorithm: options.key.kind === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256',
        ...(options.maxBodyLength === undefined ? {} : { maxBodyLength: options.maxBodyLength }),
      },
    ],
    // mailauth's typings say headerList is string[] and lack signatureData; at run time an array is
    // silently replaced by a default list without Auto-Submitted, so the string form is required.
  } as unknown as Parameters<typeof dkimSign>[1]);
  if (result.errors.length > 0) throw new Error(`mailauth could not sign: ${String(result.errors[0])}`);
  return result.signatures + message;
}

/** Signs with OpenDKIM's opendkim-testmsg (rsa-sha1, relaxed/simple in this build). */
export function signWithOpendkim(message: string, key: TestKey, dir: string, domain = 'ca.example', selector = 'sel'): string {
  const keyPath = join(dir, `opendkim-${selector}.key`);
  writeFileSync(keyPath, key.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), { mode: 0o600 });
  return execFileSync('/usr/sbin/opendkim-testmsg', ['-C', '-d', domain, '-k', keyPath, '-s', selector, '-t', dir], { input: message, encoding: 'latin1' });
}
