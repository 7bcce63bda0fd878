/**
 * `acme-email cert --one-certificate` against the sandbox: alice and an alias of hers (delivered
 * into her mailbox, sendable only by her) in one certificate. One order with both identifiers,
 * each challenge mail answered from its own address (the CA checks the From), one .p12 named
 * after alice whose certificate names both (OpenSSL), one profile that `renew` uses to renew
 * both together; and the same by hand with --manual, one response per address in turn.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultUsers, startSandbox, type Sandbox, type SandboxUser } from '../../sandbox/index';
import { makeTempDir, type TempDir } from '../helpers/process';
import { openssl } from '../helpers/openssl';
import { readInbox, sendReply } from '../sandbox/mailbox';
import { parseArgs } from '../../src/cli/args';
import { CERT_FLAGS, CERT_VALUED, configOf, profileFor } from '../../src/cli/cert-options';
import { mailArgs, sandboxArgs, startCli } from './run-cli';

const ALIAS = 'alice.alias@example.test';

let sandbox: Sandbox;
let alice: SandboxUser;
const dirs: TempDir[] = [];

beforeAll(async () => {
  const [first, ...others] = defaultUsers();
  sandbox = await startSandbox({ users: [{ ...first!, aliases: [ALIAS] }, ...others], certValidityDays: 3, challengeTiming: 'on-fetch', tokenJoin: 'string' });
  alice = sandbox.users[0]!;
});

afterAll(async () => {
  await sandbox.stop();
  for (const dir of dirs) dir.remove();
});

function tempDir(): string {
  const dir = makeTempDir('cli-together');
  dirs.push(dir);
  return dir.path;
}

/** The mail addresses in the certificate's subjectAltName, as OpenSSL reads them. */
function sanEmails(pemPath: string): string[] {
  const text = openssl(['x509', '-in', pemPath, '-noout', '-ext', 'subjectAltName']);
  return [...text.matchAll(/email:([^,\s]+)/g)].map((m) => m[1]!).sort();
}

function serial(pemPath: string): string {
  return openssl(['x509', '-in', pemPath, '-noout', '-serial']).trim();
}

/** The orders created since `before`, by their identifiers (sorted). */
function ordersSince(before: number): { identifiers: string[]; status: string }[] {
  return sandbox.orders().slice(before).map((o) => ({ identifiers: [...o.identifiers].sort(), status: o.status }));
}

/**
 * Each address's challenge mail since `sentBefore` was answered once, From that address, and
 * the CA found the reply valid (DKIM pass for the From's domain).
 */
function expectAnsweredFromEach(sentBefore: number): void {
  const challenges = sandbox.challengesSent().slice(sentBefore);
  for (const address of [alice.email, ALIAS]) {
    const mine = challenges.filter((c) => c.identifier === address);
    expect(mine.length, `a challenge mail to ${address}`).toBeGreaterThanOrEqual(1);
    expect(mine.every((c) => c.mailbox === alice.email)).toBe(true);
    const replies = sandbox.repliesReceived().filter((r) => mine.some((c) => c.messageId === r.inReplyTo));
    expect(replies.map((r) => [r.from, r.verdict, r.dkim]), address).toEqual([[address, 'valid', 'pass']]);
  }
}

/** Both addresses, sorted as `ordersSince` and `sanEmails` give them. */
const both = (): string[] => [alice.email, ALIAS].sort();

describe('acme-email cert --one-certificate', () => {
  it('puts alice and her alias in one certificate: one order, each challenge answered from its address, one .p12; renew renews both together', async () => {
    const dir = tempDir();
    const out = join(dir, 'out');
    const orders = sandbox.orders().length;
    const sent = sandbox.challengesSent().length;
    // --user once per --email, as for separate certificates: both addresses are alice's mailbox.
    const aliasAsArg: SandboxUser = { email: ALIAS, password: alice.password };
    const args = [...sandboxArgs(sandbox, dir, [alice, aliasAsArg]), ...mailArgs(sandbox, dir, [alice, alice]), '--one-certificate', '--json'];
    const run = startCli(['cert', ...args]);
    expect(await run.exit, run.stderr()).toBe(0);

    expect(ordersSince(orders)).toEqual([{ identifiers: both(), status: 'valid' }]);
    expectAnsweredFromEach(sent);
    const summary = JSON.parse(run.stdout()) as { certificates: { email: string; addresses?: string[]; step: string; files?: { p12: string } }[] };
    expect(summary.certificates.map((c) => [c.email, c.addresses, c.step, c.files?.p12])).toEqual([[alice.email, [alice.email, ALIAS], 'installed', join(out, `${alice.email}.p12`)]]);

    // One set of files, named after the first address; the certificate names both.
    const chain = join(out, `${alice.email}.chain.pem`);
    const p12 = join(out, `${alice.email}.p12`);
    const pass = join(out, `${alice.email}.pass`);
    expect(sanEmails(chain)).toEqual(both());
    for (const ext of ['p12', 'pass', 'chain.pem']) expect(existsSync(join(out, `${ALIAS}.${ext}`)), ext).toBe(false);
    const leaf = openssl(['pkcs12', '-in', p12, '-passin', `file:${pass}`, '-nokeys', '-clcerts']);
    expect(openssl(['x509', '-noout', '-fingerprint', '-sha256'], leaf)).toBe(openssl(['x509', '-in', chain, '-noout', '-fingerprint', '-sha256']));

    // One profile for renew, for both addresses; none of the alias's own.
    const state = JSON.parse(readFileSync(join(dir, 'state', 'state.json'), 'utf8')) as Record<string, { config?: { emails: string[]; oneCertificate?: boolean } }>;
    expect(state[`cli-profile:${alice.email}`]?.config).toMatchObject({ emails: [alice.email, ALIAS], oneCertificate: true });
    expect(state[`cli-profile:${ALIAS}`]).toBeUndefined();

    // Revoked elsewhere with the key in the .p12: the CA's ARI window moves into the past, renew finds it due.
    const revoke = startCli(['revoke', '--server', sandbox.directoryUrl, '--trust', sandbox.tlsRootPath, '--cert', chain, '--p12', p12, '--passphrase-file', pass, '--reason', '4', '--state-dir', join(dir, 'elsewhere')]);
    expect(await revoke.exit, revoke.stderr()).toBe(0);
    const first = serial(chain);
    const renewOrders = sandbox.orders().length;
    const renewSent = sandbox.challengesSent().length;
    const renew = startCli(['renew', '--state-dir', join(dir, 'state'), '--json']);
    expect(await renew.exit, renew.stderr()).toBe(0);
    const renewed = JSON.parse(renew.stdout()) as { due: string[]; renewed: { email: string; addresses?: string[]; step: string }[] };
    expect(renewed.due).toEqual([alice.email]);
    expect(renewed.renewed.map((r) => [r.email, r.addresses, r.step])).toEqual([[alice.email, [alice.email, ALIAS], 'installed']]);
    expect(ordersSince(renewOrders)).toEqual([{ identifiers: both(), status: 'valid' }]);
    expectAnsweredFromEach(renewSent);
    expect(serial(chain)).not.toBe(first);
    expect(sanEmails(chain)).toEqual(both());
    // The passphrase kept beside the .p12 still opens the renewed one.
    expect(openssl(['pkcs12', '-in', p12, '-passin', `file:${pass}`, '-nokeys', '-clcerts'])).toContain('BEGIN CERTIFICATE');
  }, 240_000);

  it('--manual: one paste and one printed response per address, in turn, each sent from its own address', async () => {
    const dir = tempDir();
    const orders = sandbox.orders().length;
    const sent = sandbox.challengesSent().length;
    const run = startCli(['cert', ...sandboxArgs(sandbox, dir, [alice, { email: ALIAS, password: '' }]), '--one-certificate', '--manual', '--json']);
    const inbox = async (messageId: string) => (await readInbox(sandbox, alice)).find((m) => `<${m.messageId.replace(/^<|>$/g, '')}>` === messageId)!;
    let responses = 0;
    for (const address of [alice.email, ALIAS]) {
      await run.waitForStderr(new RegExp(`A challenge mail will come to ${address.replace(/\./g, '\\.')} from [\\s\\S]*Ctrl-D:\\n`));
      const challenge = sandbox.challengesSent().slice(sent).filter((c) => c.identifier === address).at(-1)!;
      run.child.stdin.write(`${challenge.subject}\n`);
      responses += 1;
      await run.waitForStdout(new RegExp(`("response"[\\s\\S]*){${responses}}`));
      const line = run.stdout().trim().split('\n')[responses - 1]!;
      const { response } = JSON.parse(line) as { response: { to: string; subject: string; body: string } };
      expect(response.subject).toBe(`Re: ${challenge.subject}`);
      await sendReply(sandbox, alice, await inbox(challenge.messageId), response.body, sandbox.caAddress, address);
      run.child.stdin.write('\n');
    }
    run.child.stdin.end();
    expect(await run.exit, run.stderr()).toBe(0);
    expect(ordersSince(orders)).toEqual([{ identifiers: both(), status: 'valid' }]);
    expectAnsweredFromEach(sent);
    expect(sanEmails(join(dir, 'out', `${alice.email}.chain.pem`))).toEqual(both());
  }, 120_000);
});

describe('acme-email cert --one-certificate: options and profile', () => {
  const base = ['--server', 'https://ca.test/directory', '--email', 'alice@example.test', '--email', ALIAS, '--out', '/tmp/out', '--imap-host', 'imap.test', '--user', 'alice@example.test', '--user', 'alice@example.test', '--password-file', '/tmp/alice.password'];

  it('one IMAP login for the addresses of one mailbox; the profile keeps every address of the certificate', () => {
    const config = configOf(parseArgs([...base, '--one-certificate', '--ask'], CERT_VALUED, CERT_FLAGS));
    expect(config.oneCertificate).toBe(true);
    expect(config.mail.mode === 'imap' ? config.mail.mailboxes.map((b) => [b.user, b.addresses]) : []).toEqual([['alice@example.test', ['alice@example.test', ALIAS]]]);
    const profile = profileFor(config, 'alice@example.test');
    expect(profile.config.emails).toEqual(['alice@example.test', ALIAS]);
    expect(profile.config.oneCertificate).toBe(true);
    expect(profile.config.mail).toEqual(config.mail);
    // renew runs unattended: never --ask.
    expect(profile.config.ask).toBeUndefined();
  });

  it('without it, a profile per address, for that address and its mailbox alone', () => {
    const config = configOf(parseArgs(base, CERT_VALUED, CERT_FLAGS));
    expect(config.oneCertificate).toBeUndefined();
    const profile = profileFor(config, ALIAS);
    expect(profile.config.emails).toEqual([ALIAS]);
    expect(profile.config.mail.mode === 'imap' ? profile.config.mail.mailboxes.map((b) => [b.user, b.addresses]) : []).toEqual([['alice@example.test', [ALIAS]]]);
  });

  it('is listed in --help', () => {
    const help = spawnSync(process.execPath, ['bin/acme-email.js', '--help'], { encoding: 'utf8' });
    expect(help.stderr).toMatch(/\[--one-certificate \(every --email in one certificate, owned by the first/);
  });
});
