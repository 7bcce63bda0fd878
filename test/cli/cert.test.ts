/**
 * `acme-email cert` against the sandbox CA and its real mail world (Dovecot over IMAP, the
 * DKIM-signing submission MTA over SMTP, DKIM keys over DNS-over-HTTPS): run as the real
 * command, with the options a newcomer copies from `npm run sandbox`. The certificate files are
 * checked with OpenSSL; forged challenge mails must be refused with the add-on's reasons and
 * never answered.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox, type SandboxUser } from '../../sandbox/index';
import { makeTempDir, type TempDir } from '../helpers/process';
import { readInbox, sendReply } from '../sandbox/mailbox';
import { mailArgs, sandboxArgs, startCli } from './run-cli';

let sandbox: Sandbox;
const dirs: TempDir[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({ certValidityDays: 3 });
});

afterAll(async () => {
  await sandbox.stop();
  for (const dir of dirs) dir.remove();
});

function tempDir(): string {
  const dir = makeTempDir('cli-cert');
  dirs.push(dir);
  return dir.path;
}

function openssl(args: readonly string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** The SHA-256 fingerprint OpenSSL reads of a PEM certificate. */
function fingerprint(pem: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256'], { input: pem, encoding: 'utf8' }).trim().replace(/^.*=/, '');
}

/** The files of a successful run: the .p12 opens with its passphrase, its certificate is the chain's leaf. */
function checkFiles(options: { dir: string; user: SandboxUser; passFile?: string; keyFiles?: readonly string[] }): void {
  const { dir, user } = options;
  const passFile = options.passFile ?? join(dir, 'out', `${user.email}.pass`);
  const p12 = join(dir, 'out', `${user.email}.p12`);
  const chain = readFileSync(join(dir, 'out', `${user.email}.chain.pem`), 'utf8');
  expect(statSync(p12).mode & 0o777).toBe(0o600);
  expect(statSync(passFile).mode & 0o077).toBe(0);
  const leaf = openssl(['pkcs12', '-in', p12, '-passin', `file:${passFile}`, '-nokeys', '-clcerts']);
  expect(fingerprint(leaf)).toBe(fingerprint(chain));
  // The key is in the .p12, encrypted: OpenSSL opens it only with the passphrase.
  expect(openssl(['pkcs12', '-in', p12, '-passin', `file:${passFile}`, '-nocerts', '-nodes'])).toMatch(/BEGIN PRIVATE KEY/);
  expect(() => openssl(['pkcs12', '-in', p12, '-passin', 'pass:wrong passphrase', '-nocerts', '-nodes'])).toThrow();
  expect(chain.match(/BEGIN CERTIFICATE/g)?.length).toBeGreaterThanOrEqual(2);
  // Never a clear key on disk: not in the output folder, not in the state folder.
  for (const folder of ['out', 'state', '.']) {
    for (const name of readdirSync(join(dir, folder)).filter((n) => !(options.keyFiles ?? []).includes(n) && statSync(join(dir, folder, n)).isFile())) {
      const text = readFileSync(join(dir, folder, name), 'latin1');
      expect(text, `${folder}/${name}`).not.toMatch(/BEGIN (RSA |EC )?PRIVATE KEY/);
    }
  }
  const pass = readFileSync(passFile, 'utf8').trim();
  expect(readFileSync(join(dir, 'state', 'state.json'), 'utf8')).not.toContain(pass);
}

function repliesFrom(user: SandboxUser): number {
  return sandbox.repliesReceived().filter((r) => r.from === user.email).length;
}

describe('acme-email cert over IMAP and SMTP', () => {
  it('gets a certificate for one address: catches the mail, checks it, answers once, writes .p12, passphrase and chain', async () => {
    sandbox.configure({ challengeTiming: 'on-fetch', tokenJoin: 'string', forgery: 'none' });
    const alice = sandbox.users[0]!;
    const dir = tempDir();
    const before = repliesFrom(alice);
    const run = startCli(['cert', ...sandboxArgs(sandbox, dir, [alice]), ...mailArgs(sandbox, dir, [alice])]);
    expect(await run.exit, run.stderr()).toBe(0);
    expect(run.stderr()).toMatch(/Waiting for the challenge mail/);
    expect(run.stderr()).toMatch(/alice@example.test: certificate written to .*alice@example.test\.p12 \(its passphrase is in .*\.pass\)/);
    expect(run.stdout()).toBe('');
    checkFiles({ dir, user: alice });
    const replies = sandbox.repliesReceived().filter((r) => r.from === alice.email);
    expect(replies).toHaveLength(before + 1);
    expect(replies.at(-1)).toMatchObject({ verdict: 'valid', dkim: 'pass' });
    // The lock is given back.
    expect(existsSync(join(dir, 'state', 'lock'))).toBe(false);
  }, 120_000);

  it('gets certificates for two addresses (two mailboxes) in one run, with a given passphrase and --json', async () => {
    sandbox.configure({ challengeTiming: 'after-post', tokenJoin: 'bytes', forgery: 'none' });
    const users = sandbox.users.slice(0, 2);
    const dir = tempDir();
    const passFile = join(dir, 'passphrase');
    execFileSync('sh', ['-c', `umask 077; printf 'a long enough passphrase\\n' > '${passFile}'`]);
    const run = startCli(['cert', ...sandboxArgs(sandbox, dir, users), ...mailArgs(sandbox, dir, users), '--join', 'bytes', '--post-after', '2', '--key-type', 'rsa-2048', '--usage', 'sign', '--passphrase-file', passFile, '--json']);
    expect(await run.exit, run.stderr()).toBe(0);
    const result = JSON.parse(run.stdout()) as { certificates: { email: string; step: string; files: { p12: string; passphraseGenerated: boolean } }[] };
    expect(result.certificates.map((c) => [c.email, c.step, c.files.passphraseGenerated])).toEqual(users.map((u) => [u.email, 'installed', false]));
    for (const user of users) {
      checkFiles({ dir, user, passFile });
      expect(existsSync(join(dir, 'out', `${user.email}.pass`))).toBe(false);
      const text = openssl(['x509', '-in', join(dir, 'out', `${user.email}.chain.pem`), '-noout', '-text']);
      expect(text).toContain(`email:${user.email}`);
      expect(text).toMatch(/Public-Key: \(2048 bit\)/);
      expect(text).toMatch(/Digital Signature/);
      expect(text).not.toMatch(/Key Encipherment/);
    }
  }, 150_000);

  it('finds a CA\'s token join by itself (--join auto, the default): a CA that joins bytes still issues', async () => {
    sandbox.configure({ challengeTiming: 'on-fetch', tokenJoin: 'bytes', forgery: 'none' });
    const bob = sandbox.users[1]!;
    const dir = tempDir();
    const run = startCli(['cert', ...sandboxArgs(sandbox, dir, [bob]), ...mailArgs(sandbox, dir, [bob]), '--verbose']);
    expect(await run.exit, run.stderr()).toBe(0);
    checkFiles({ dir, user: bob });
    expect(sandbox.repliesReceived().filter((r) => r.from === bob.email).at(-1)).toMatchObject({ verdict: 'valid' });
    sandbox.configure({ tokenJoin: 'string' });
  }, 180_000);

  it('refuses forged challenge mails (unsigned, signed by another domain, a From other than the challenge `from`) with the add-on\'s reasons and never answers them', async () => {
    sandbox.configure({ challengeTiming: 'on-fetch', tokenJoin: 'string', forgery: 'unsigned' });
    const alice = sandbox.users[0]!;
    const dir = tempDir();
    const before = repliesFrom(alice);
    const sent = sandbox.challengesSent().length;
    const run = startCli(['cert', ...sandboxArgs(sandbox, dir, [alice]), ...mailArgs(sandbox, dir, [alice]), '--post-after', '3600']);
    await run.waitForStderr(/Mail not answered <[^>]+> \(dkim-missing\): The mail carries no DKIM signature/);
    // Waiting in IMAP IDLE (Dovecot's process title says so), not polling.
    for (let i = 0; i < 100 && !sandbox.imapSessions().some((s) => s.user === alice.email && s.command === 'IDLE'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(sandbox.imapSessions()).toContainEqual({ user: alice.email, command: 'IDLE' });
    const authzUrl = sandbox.challengesSent()[sent]!.authzUrl;
    sandbox.configure({ forgery: 'wrong-d' });
    await sandbox.resendChallenge(authzUrl);
    await run.waitForStderr(/Mail not answered <[^>]+> \(dkim-unaligned\): The mail is signed by another domain/);
    sandbox.configure({ forgery: 'wrong-from' });
    await sandbox.resendChallenge(authzUrl);
    await run.waitForStderr(/Mail not answered <[^>]+> \(from-mismatch\): The mail did not come from your certificate authority's address/);
    // The three forgeries are in the mailbox, and nothing went out.
    expect((await readInbox(sandbox, alice)).filter((m) => m.subject.startsWith('ACME: ')).length).toBeGreaterThanOrEqual(3);
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(130);
    expect(repliesFrom(alice)).toBe(before);
    expect(existsSync(join(dir, 'out', `${alice.email}.p12`))).toBe(false);
    expect(run.stderr()).toMatch(/alice@example.test: Stopped/);
    sandbox.configure({ forgery: 'none' });
  }, 120_000);
});

describe('acme-email cert --ask', () => {
  it('asks before each reply: "no" leaves the mail unanswered, "yes" to the next one answers it', async () => {
    sandbox.configure({ challengeTiming: 'on-fetch', tokenJoin: 'string', forgery: 'none' });
    const bob = sandbox.users[1]!;
    const dir = tempDir();
    const before = repliesFrom(bob);
    const sent = sandbox.challengesSent().length;
    const run = startCli(['cert', ...sandboxArgs(sandbox, dir, [bob]), ...mailArgs(sandbox, dir, [bob]), '--ask', '--post-after', '3600']);
    await run.waitForStderr(/A challenge mail for bob@example.test arrived from acme@ca.test[\s\S]*authentic: dkim ca.test[\s\S]*Answer it\? \[y\/N\] $/);
    run.child.stdin.write('n\n');
    await run.waitForStderr(/Mail not answered <[^>]+> \(user-declined\)/);
    expect(repliesFrom(bob)).toBe(before);
    await sandbox.resendChallenge(sandbox.challengesSent()[sent]!.authzUrl);
    await run.waitForStderr(/Answer it\? \[y\/N\] [\s\S]*Answer it\? \[y\/N\] $/);
    run.child.stdin.write('y\n');
    expect(await run.exit, run.stderr()).toBe(0);
    expect(repliesFrom(bob)).toBe(before + 1);
    checkFiles({ dir, user: bob });
  }, 120_000);
});

describe('acme-email cert --manual', () => {
  it('prints what to expect, takes the pasted subject on stdin, prints the response block to send', async () => {
    sandbox.configure({ challengeTiming: 'on-fetch', tokenJoin: 'string', forgery: 'none' });
    const bob = sandbox.users[1]!;
    const dir = tempDir();
    const sent = sandbox.challengesSent().length;
    const run = startCli(['cert', ...sandboxArgs(sandbox, dir, [bob]), '--manual']);
    await run.waitForStderr(/A challenge mail will come to bob@example.test from acme@ca.test[\s\S]*Paste its subject line/);
    const challenge = sandbox.challengesSent()[sent]!;
    run.child.stdin.write(`${challenge.subject}\n`);
    await run.waitForStdout(/-----END ACME RESPONSE-----/);
    const body = run.stdout();
    expect(body).toMatch(/^-----BEGIN ACME RESPONSE-----\n[A-Za-z0-9_-]{43}\n-----END ACME RESPONSE-----\n$/);
    expect(run.stderr()).toContain(`Reply to acme@ca.test with the subject "Re: ${challenge.subject}"`);
    // The user sends the reply from their own mail program, then says so.
    const mail = (await readInbox(sandbox, bob)).find((m) => `<${m.messageId.replace(/^<|>$/g, '')}>` === challenge.messageId)!;
    await sendReply(sandbox, bob, mail, body);
    run.child.stdin.end('\n');
    expect(await run.exit, run.stderr()).toBe(0);
    checkFiles({ dir, user: bob });
  }, 120_000);

  it('checks a whole pasted raw mail (DKIM through DoH) before printing the response', async () => {
    sandbox.configure({ challengeTiming: 'on-fetch', tokenJoin: 'string', forgery: 'none' });
    const alice = sandbox.users[0]!;
    const dir = tempDir();
    const sent = sandbox.challengesSent().length;
    const run = startCli(['cert', ...sandboxArgs(sandbox, dir, [alice]), '--manual', '--json']);
    await run.waitForStderr(/Paste its subject line/);
    const challenge = sandbox.challengesSent()[sent]!;
    const mail = (await readInbox(sandbox, alice)).find((m) => `<${m.messageId.replace(/^<|>$/g, '')}>` === challenge.messageId)!;
    run.child.stdin.write(`${mail.raw.replace(/\r?\n$/, '')}\n.\n`);
    await run.waitForStdout(/"response"/);
    const response = JSON.parse(run.stdout().split('\n')[0]!) as { response: { to: string; subject: string; body: string } };
    expect(response.response.to).toBe('acme@ca.test');
    expect(response.response.subject).toBe(`Re: ${challenge.subject}`);
    await sendReply(sandbox, alice, mail, response.response.body);
    run.child.stdin.end('\n');
    expect(await run.exit, run.stderr()).toBe(0);
    const result = JSON.parse(run.stdout().trim().split('\n').at(-1)!) as { certificates: { step: string }[] };
    expect(result.certificates[0]!.step).toBe('installed');
    checkFiles({ dir, user: alice });
  }, 120_000);

  it('refuses a pasted forged raw mail, prints no response, and exits 1', async () => {
    sandbox.configure({ challengeTiming: 'on-fetch', tokenJoin: 'string', forgery: 'unsigned' });
    const bob = sandbox.users[1]!;
    const dir = tempDir();
    const sent = sandbox.challengesSent().length;
    const run = startCli(['cert', ...sandboxArgs(sandbox, dir, [bob]), '--manual']);
    await run.waitForStderr(/Paste its subject line/);
    const challenge = sandbox.challengesSent()[sent]!;
    const mail = (await readInbox(sandbox, bob)).find((m) => `<${m.messageId.replace(/^<|>$/g, '')}>` === challenge.messageId)!;
    run.child.stdin.end(mail.raw);
    expect(await run.exit).toBe(1);
    expect(run.stdout()).toBe('');
    expect(run.stderr()).toMatch(/\(dkim-missing\)/);
    expect(sandbox.repliesReceived().filter((r) => r.inReplyTo === challenge.messageId)).toEqual([]);
    sandbox.configure({ forgery: 'none' });
  }, 120_000);
  it('ends with exit 2 on a pasted subject that is not a challenge\'s, cancelling the request (regression: the run used to hang)', async () => {
    sandbox.configure({ challengeTiming: 'on-fetch', tokenJoin: 'string', forgery: 'none' });
    const dir = tempDir();
    const run = startCli(['cert', ...sandboxArgs(sandbox, dir, [sandbox.users[0]!]), '--manual']);
    await run.waitForStderr(/Paste its subject line/);
    run.child.stdin.end('ACME: not-a-token!\n');
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toMatch(/alice@example.test: Stopped/);
    expect(run.stderr()).toContain('the pasted subject is not an ACME challenge subject');
    expect(run.stdout()).toBe('');
  }, 60_000);

  it('stops cleanly on Ctrl-C while waiting for the paste: the request is cancelled, exit 130', async () => {
    sandbox.configure({ challengeTiming: 'on-fetch', tokenJoin: 'string', forgery: 'none' });
    const dir = tempDir();
    const run = startCli(['cert', ...sandboxArgs(sandbox, dir, [sandbox.users[0]!]), '--manual']);
    await run.waitForStderr(/Paste its subject line/);
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(130);
    expect(run.stderr()).toMatch(/alice@example.test: Stopped/);
    expect(existsSync(join(dir, 'state', 'lock'))).toBe(false);
  }, 60_000);
});

describe('acme-email cert: an existing key, and what ends a run early', () => {
  it('--key certifies an existing key (its public key is the certificate\'s); the key file is only read', async () => {
    sandbox.configure({ challengeTiming: 'on-fetch', tokenJoin: 'string', forgery: 'none' });
    const bob = sandbox.users[1]!;
    const dir = tempDir();
    const keyPath = join(dir, 'existing.key.pem');
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', keyPath]);
    const run = startCli(['cert', ...sandboxArgs(sandbox, dir, [bob]), ...mailArgs(sandbox, dir, [bob]), '--key', keyPath]);
    expect(await run.exit, run.stderr()).toBe(0);
    checkFiles({ dir, user: bob, keyFiles: ['existing.key.pem'] });
    const certKey = openssl(['x509', '-in', join(dir, 'out', `${bob.email}.chain.pem`), '-noout', '-pubkey']);
    expect(certKey).toBe(openssl(['pkey', '-in', keyPath, '-pubout']));
  }, 120_000);

  it('binds the account to the CA\'s EAB key when the CA requires one, and says so when it is missing (exit 2)', async () => {
    const strict = await startSandbox({ requireEab: true });
    try {
      const dir = tempDir();
      const alice = strict.users[0]!;
      const missing = startCli(['cert', ...sandboxArgs(strict, dir, [alice]), '--manual']);
      expect(await missing.exit).toBe(2);
      expect(missing.stderr()).toContain('this CA requires external account binding: give --eab-kid and --eab-hmac-key-file');
      const hmacFile = join(dir, 'eab.key');
      writeFileSync(hmacFile, `${strict.eab!.hmacKey}\n`, { mode: 0o600 });
      const bound = startCli(['cert', ...sandboxArgs(strict, dir, [alice]), '--manual', '--eab-kid', strict.eab!.kid, '--eab-hmac-key-file', hmacFile]);
      // The account exists and the order is placed: the challenge is waiting for its mail.
      await bound.waitForStderr(/Paste its subject line/);
      bound.child.kill('SIGINT');
      expect(await bound.exit).toBe(130);
      expect(strict.challengesSent()).toHaveLength(1);
    } finally {
      await strict.stop();
    }
  }, 60_000);

  it('exit 4 when the IMAP server refuses the login, before anything is asked of the CA', async () => {
    const alice = sandbox.users[0]!;
    const dir = tempDir();
    const orders = sandbox.challengesSent().length;
    const args = mailArgs(sandbox, dir, [alice]);
    writeFileSync(args[args.indexOf('--password-file') + 1]!, 'not the password\n');
    const run = startCli(['cert', ...sandboxArgs(sandbox, dir, [alice]), ...args]);
    expect(await run.exit).toBe(4);
    expect(run.stderr()).toMatch(/acme-email cert: cannot open the INBOX of alice@example.test at 127.0.0.1:\d+: .*Authentication failed/);
    expect(sandbox.challengesSent().length).toBe(orders);
  }, 60_000);

  it('exit 2 without --agree-tos when the CA has terms and no one can be asked, and on bad options', async () => {
    const alice = sandbox.users[0]!;
    const dir = tempDir();
    const noTerms = startCli(['cert', ...sandboxArgs(sandbox, dir, [alice]).filter((a) => a !== '--agree-tos'), '--manual']);
    noTerms.child.stdin.end();
    expect(await noTerms.exit).toBe(2);
    expect(noTerms.stderr()).toMatch(/the CA has terms of service \(https:\/\/[^)]+\): read them, then add --agree-tos/);
    const cases: [string[], RegExp][] = [
      [['--server', 'http://127.0.0.1/directory', '--email', 'a@b.c', '--out', dir, '--manual'], /must be an https URL/],
      [['--server', sandbox.directoryUrl, '--email', 'a@b.c', '--out', dir], /--imap-host is required/],
      [['--server', sandbox.directoryUrl, '--email', 'a@b.c', '--out', dir, '--manual', '--key-type', 'rsa-1024'], /--key-type is one of rsa-2048, rsa-3072, rsa-4096, p-256, p-384/],
      [['--server', sandbox.directoryUrl, '--email', 'a@b.c', '--email', 'd@b.c', '--out', dir, '--imap-host', 'h', '--user', 'x', '--user', 'y', '--user', 'z', '--password-file', 'p'], /give --user once/],
    ];
    for (const [args, message] of cases) {
      const run = startCli(['cert', ...args]);
      expect(await run.exit, args.join(' ')).toBe(2);
      expect(run.stderr()).toMatch(message);
      expect(run.stderr()).not.toMatch(/\n\s+at /);
    }
  }, 60_000);
});
