/**
 * `acme-email cert`'s options: parsed and checked into the run's configuration (directory URL,
 * addresses, key type and usage, join, EAB, trust, DoH, IMAP/SMTP servers per address, output and
 * state folders), with the standard ports when omitted. Wrong input is a UsageError (exit 2).
 */
import { resolve } from 'node:path';
import { single, UsageError, type ParsedArgs } from './args';
import { KEY_TYPES, USAGES, type KeyType, type Usage } from '../enroll/ports';
import { DEFAULT_SETTINGS } from '../enroll/settings';
import { TLS_MODES, type ServerSettings, type TlsMode } from './node/mail';
import type { MailboxConfig, RunConfig } from './run';

export const CERT_VALUED = [
  'server', 'email', 'key-type', 'usage', 'key', 'join', 'eab-kid', 'eab-hmac-key-file', 'trust', 'doh', 'out', 'passphrase-file',
  'imap-host', 'imap-port', 'imap-tls', 'smtp-host', 'smtp-port', 'smtp-tls', 'user', 'password-file', 'oauth2-token-file',
  'state-dir', 'timeout', 'post-after',
];
export const CERT_FLAGS = ['manual', 'json', 'verbose', 'agree-tos', 'plain', 'ask', 'one-certificate'];

/** Where the state of `renew` is kept for each certificate, under its (first) address. */
export const PROFILE_PREFIX = 'cli-profile:';
export interface Profile {
  readonly schema: 1;
  readonly config: RunConfig;
}

const DEFAULT_PORTS = { imap: { tls: 993, starttls: 143, none: 143 }, smtp: { tls: 465, starttls: 587, none: 587 } } as const;

function keyTypeOf(text: string | undefined): KeyType {
  if (text === undefined) return 'P-256';
  const found = KEY_TYPES.find((k) => k.toLowerCase() === text.toLowerCase());
  if (!found) throw new UsageError(`--key-type is one of ${KEY_TYPES.map((k) => k.toLowerCase()).join(', ')}`);
  return found;
}

function portOf(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) throw new UsageError(`--${name} is a port number`);
  return Number(text);
}

function tlsOf(text: string | undefined, name: string, fallback: TlsMode): TlsMode {
  if (text === undefined) return fallback;
  if (!(TLS_MODES as readonly string[]).includes(text)) throw new UsageError(`--${name} is tls, starttls or none`);
  return text as TlsMode;
}

function numberOf(text: string | undefined, name: string, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || value <= 0 || value > max) throw new UsageError(`--${name} takes a number from 0 to ${max}`);
  return value;
}

function httpsUrl(text: string, name: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--${name} is not a URL: ${text}`);
  }
  if (url.protocol !== 'https:') throw new UsageError(`--${name} must be an https URL (RFC 8555 §6.1)`);
  return url.href;
}

/** Pairs --user/--password-file/--oauth2-token-file with the addresses: once for all, or once per address. */
function mailboxesOf(parsed: ParsedArgs, emails: readonly string[]): MailboxConfig[] {
  const host = single(parsed, 'imap-host');
  if (host === undefined) throw new UsageError('--imap-host is required (or --manual to paste the challenge mail yourself)');
  const imapTls = tlsOf(single(parsed, 'imap-tls'), 'imap-tls', 'tls');
  const smtpTls = tlsOf(single(parsed, 'smtp-tls'), 'smtp-tls', 'starttls');
  const imap: ServerSettings = { host, port: portOf(single(parsed, 'imap-port'), 'imap-port', DEFAULT_PORTS.imap[imapTls]), tls: imapTls };
  const smtp: ServerSettings = { host: single(parsed, 'smtp-host') ?? host, port: portOf(single(parsed, 'smtp-port'), 'smtp-port', DEFAULT_PORTS.smtp[smtpTls]), tls: smtpTls };
  const users = parsed.options.get('user') ?? [];
  const passwords = (parsed.options.get('password-file') ?? []).map((p) => resolve(p));
  const tokens = (parsed.options.get('oauth2-token-file') ?? []).map((p) => resolve(p));
  if (passwords.length > 0 && tokens.length > 0) throw new UsageError('give --password-file or --oauth2-token-file, not both');
  const secrets = passwords.length > 0 ? passwords : tokens;
  if (secrets.length === 0) throw new UsageError('--password-file (or --oauth2-token-file) is required to log in to IMAP and SMTP');
  const logins = users.length === 0 ? [emails[0]!] : users;
  if (logins.length !== 1 && logins.length !== emails.length) throw new UsageError('give --user once (one mailbox for every --email) or once per --email, in the same order');
  if (secrets.length !== 1 && secrets.length !== logins.length) throw new UsageError('give --password-file once, or once per --user');
  // Addresses given the same login and secret are one mailbox (an alias lands in its owner's): one login watches it.
  const boxes = new Map<string, { user: string; secret: string; addresses: string[] }>();
  logins.forEach((user, i) => {
    const secret = secrets[secrets.length === 1 ? 0 : i]!;
    const addresses = logins.length === 1 ? emails : [emails[i]!];
    const key = JSON.stringify([user, secret]);
    const box = boxes.get(key);
    if (box) box.addresses.push(...addresses);
    else boxes.set(key, { user, secret, addresses: [...addresses] });
  });
  return [...boxes.values()].map(({ user, secret, addresses }) => ({
    addresses,
    imap,
    smtp,
    user,
    ...(passwords.length > 0 ? { passwordFile: secret } : { oauth2TokenFile: secret }),
  }));
}

/** The run's configuration from the command line (paths made absolute: `renew` runs it again from elsewhere). */
export function configOf(parsed: ParsedArgs): RunConfig {
  if (parsed.positional.length > 0) throw new UsageError(`unexpected argument "${parsed.positional[0]!}"`);
  const server = single(parsed, 'server');
  if (server === undefined) throw new UsageError('--server <ACME directory URL> is required');
  const emails = parsed.options.get('email') ?? [];
  if (emails.length === 0) throw new UsageError('--email is required (once per address)');
  for (const email of emails) if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw new UsageError(`--email "${email}" is not a mail address`);
  if (new Set(emails.map((e) => e.toLowerCase())).size !== emails.length) throw new UsageError('an address is given twice');
  const out = single(parsed, 'out');
  if (out === undefined) throw new UsageError('--out <folder> is required');
  const usage = (single(parsed, 'usage') ?? 'both') as Usage;
  if (!USAGES.includes(usage)) throw new UsageError('--usage is sign, encrypt or both');
  const join = single(parsed, 'join') ?? 'auto';
  if (join !== 'string' && join !== 'bytes' && join !== 'auto') throw new UsageError('--join is string, bytes or auto');
  const eabKid = single(parsed, 'eab-kid');
  const eabFile = single(parsed, 'eab-hmac-key-file');
  if ((eabKid === undefined) !== (eabFile === undefined)) throw new UsageError('--eab-kid and --eab-hmac-key-file go together');
  const keyFile = single(parsed, 'key');
  const passphraseFile = single(parsed, 'passphrase-file');
  return {
    directoryUrl: httpsUrl(server, 'server'),
    emails,
    keyType: keyTypeOf(single(parsed, 'key-type')),
    usage,
    // auto: the flow finds the CA's join (string first, the other after a refused reply) and remembers it.
    tokenJoin: join,
    ...(keyFile === undefined ? {} : { keyFile: resolve(keyFile) }),
    ...(eabKid === undefined ? {} : { eab: { kid: eabKid, hmacKeyFile: resolve(eabFile!) } }),
    trustFiles: (parsed.options.get('trust') ?? []).map((p) => resolve(p)),
    dohUrl: httpsUrl(single(parsed, 'doh') ?? DEFAULT_SETTINGS.dohUrl, 'doh'),
    outDir: resolve(out),
    ...(passphraseFile === undefined ? {} : { passphraseFile: resolve(passphraseFile) }),
    mail: parsed.flags.has('manual') ? { mode: 'manual' } : { mode: 'imap', mailboxes: mailboxesOf(parsed, emails) },
    postAfterSeconds: numberOf(single(parsed, 'post-after'), 'post-after', DEFAULT_SETTINGS.postChallengeAfterSeconds, 24 * 3600),
    timeoutMinutes: numberOf(single(parsed, 'timeout'), 'timeout', DEFAULT_SETTINGS.validationTimeoutMinutes, 7 * 24 * 60),
    ...(parsed.flags.has('ask') ? { ask: true } : {}),
    ...(parsed.flags.has('one-certificate') ? { oneCertificate: true } : {}),
  };
}

/**
 * The profile `renew` keeps for one certificate, stored under its first address: the same options,
 * for that address alone — or, for a certificate of several addresses (--one-certificate), for
 * all of them, so that they are renewed together.
 */
export function profileFor(config: RunConfig, email: string): Profile {
  const { ask: _ask, ...unattended } = config;
  if (config.oneCertificate === true) return { schema: 1, config: unattended };
  const mail = config.mail.mode === 'manual' ? config.mail : { mode: 'imap' as const, mailboxes: config.mail.mailboxes.filter((b) => b.addresses.includes(email)).map((b) => ({ ...b, addresses: [email] })) };
  return { schema: 1, config: { ...unattended, emails: [email], mail } };
}
