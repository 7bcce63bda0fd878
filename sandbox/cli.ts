/**
 * `npm run sandbox`: starts the whole sandbox (CA, Dovecot, submission MTA, DoH) on loopback,
 * prints how to reach it, and stops everything on Ctrl-C (SIGINT) or SIGTERM.
 * Options: --personality default|rfc-example|bytes-join|mail-after-post|validate-on-post (a
 * bundle of the four challenge knobs, see sandbox/personalities.ts), and each knob alone, winning
 * over the personality: --timing on-create|on-fetch|after-post, --join string|bytes,
 * --token-encoding base64url|base64-padded, --validation on-reply|on-post; --forgery
 * none|unsigned|wrong-d|wrong-from, --eab (require external account binding),
 * --cert-lifetime SECONDS (short-lived certificates), --acme-port and --doh-port (default 14000
 * and 14001, where the add-on's "local sandbox" preset looks; 0 = any).
 */
import { parseArgs } from 'node:util';
import { CLI_DEFAULT_PORTS } from './types';
import { PERSONALITIES, PERSONALITY_NAMES, startSandbox, type ChallengeTiming, type Forgery, type SandboxOptions, type TokenEncoding, type TokenJoin, type Validation } from './index';

const TIMINGS: readonly ChallengeTiming[] = ['on-create', 'on-fetch', 'after-post'];
const JOINS: readonly TokenJoin[] = ['string', 'bytes'];
const ENCODINGS: readonly TokenEncoding[] = ['base64url', 'base64-padded'];
const VALIDATIONS: readonly Validation[] = ['on-reply', 'on-post'];
const FORGERIES: readonly Forgery[] = ['none', 'unsigned', 'wrong-d', 'wrong-from'];

function pick<T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    console.error(`--${flag} must be one of ${allowed.join(', ')}`);
    process.exit(2);
  }
  return value as T;
}

const { values } = parseArgs({
  options: {
    personality: { type: 'string' },
    timing: { type: 'string' },
    join: { type: 'string' },
    'token-encoding': { type: 'string' },
    validation: { type: 'string' },
    'cert-lifetime': { type: 'string' },
    forgery: { type: 'string' },
    eab: { type: 'boolean', default: false },
    // The add-on's "local sandbox" preset (src/enroll/settings.ts) points at these ports.
    'acme-port': { type: 'string', default: String(CLI_DEFAULT_PORTS.acme) },
    'doh-port': { type: 'string', default: String(CLI_DEFAULT_PORTS.doh) },
  },
});
function port(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`--${flag} must be a TCP port (0 for any free port)`);
    process.exit(2);
  }
  return n;
}
const options: SandboxOptions = { requireEab: values.eab, acmePort: port(values['acme-port'], 'acme-port'), dohPort: port(values['doh-port'], 'doh-port') };
const personality = pick(values.personality, PERSONALITY_NAMES, 'personality');
const timing = pick(values.timing, TIMINGS, 'timing');
const join = pick(values.join, JOINS, 'join');
const encoding = pick(values['token-encoding'], ENCODINGS, 'token-encoding');
const validation = pick(values.validation, VALIDATIONS, 'validation');
const forgery = pick(values.forgery, FORGERIES, 'forgery');
if (personality) options.personality = personality;
if (timing) options.challengeTiming = timing;
if (join) options.tokenJoin = join;
if (encoding) options.tokenEncoding = encoding;
if (validation) options.validation = validation;
if (forgery) options.forgery = forgery;
if (values['cert-lifetime'] !== undefined) {
  const seconds = Number(values['cert-lifetime']);
  if (!Number.isInteger(seconds) || seconds < 60) {
    console.error('--cert-lifetime must be a whole number of seconds, at least 60');
    process.exit(2);
  }
  options.certificateLifetimeSeconds = seconds;
}

const started = Date.now();
const sandbox = await startSandbox(options);
const knobs = sandbox.knobs();
console.log(`One-Click S/MIME sandbox is up (${Date.now() - started} ms). Everything listens on 127.0.0.1 only.

  ACME directory   ${sandbox.directoryUrl}
  Personality      ${sandbox.personality}: ${PERSONALITIES[sandbox.personality].summary}
  CA mail address  ${sandbox.caAddress}   (challenge timing ${knobs.challengeTiming}, token join ${knobs.tokenJoin}, token-part1 ${knobs.tokenEncoding}, validation ${knobs.validation}, forgery ${options.forgery ?? 'none'})
  Certificates     valid ${options.certificateLifetimeSeconds === undefined ? '7 days' : `${options.certificateLifetimeSeconds} s`}
  IMAP (no TLS)    ${sandbox.imap.host}:${sandbox.imap.port}
  SMTP submission  ${sandbox.smtp.host}:${sandbox.smtp.port}   (AUTH PLAIN/LOGIN, no TLS)
  DNS-over-HTTPS   ${sandbox.dohUrl}
  TLS root         ${sandbox.tlsRootPath}   (trust it for the ACME server and DoH)
  Mailbox root     ${sandbox.mailboxRootPath}   (issues the S/MIME certificates; trust it for e-mail)
                   SHA-256 ${sandbox.mailboxRootSha256}
  EAB              kid ${sandbox.eab?.kid ?? '-'}  hmacKey ${sandbox.eab?.hmacKey ?? '-'}${options.requireEab ? '  (required)' : '  (optional)'}

  Users (IMAP and SMTP login = address):
${sandbox.users.map((u) => `    ${u.email}  password ${u.password}`).join('\n')}

  State folder     ${sandbox.stateDir}
Press Ctrl-C to stop.`);

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping the sandbox…`);
  sandbox.stop().then(() => {
    console.log('stopped; nothing left running.');
    process.exit(0);
  }, (error: unknown) => {
    console.error('stop failed:', error);
    process.exit(1);
  });
};
process.on('SIGINT', () => {
  shutdown('SIGINT');
});
process.on('SIGTERM', () => {
  shutdown('SIGTERM');
});
