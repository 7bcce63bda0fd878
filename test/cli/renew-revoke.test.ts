/**
 * `acme-email renew` and `acme-email revoke` against the sandbox CA, as the real command: a
 * certificate from `cert`, then renew (nothing due; due once the CA's ARI window says so; idempotent;
 * one run at a time), and revocation by the certificate's key (from the .p12) and by the account.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../sandbox/index';
import { makeTempDir, type TempDir } from '../helpers/process';
import { mailArgs, sandboxArgs, startCli } from './run-cli';

let sandbox: Sandbox;
let tmp: TempDir;

beforeAll(async () => {
  sandbox = await startSandbox({ certValidityDays: 3 });
  tmp = makeTempDir('cli-renew');
});

afterAll(async () => {
  await sandbox.stop();
  tmp.remove();
});

function serial(pemPath: string): string {
  return execFileSync('openssl', ['x509', '-in', pemPath, '-noout', '-serial'], { encoding: 'utf8' }).trim();
}

describe('acme-email renew and revoke', () => {
  it('renews only what is due, once, and revokes by certificate key and by account', async () => {
    const alice = sandbox.users[0]!;
    const dir = tmp.path;
    const state = ['--state-dir', join(dir, 'state')];
    const chain = join(dir, 'out', `${alice.email}.chain.pem`);
    const p12 = join(dir, 'out', `${alice.email}.p12`);
    const cert = startCli(['cert', ...sandboxArgs(sandbox, dir, [alice]), ...mailArgs(sandbox, dir, [alice])]);
    expect(await cert.exit, cert.stderr()).toBe(0);
    const first = serial(chain);

    // Just issued: not due (ARI window in the future), nothing changes.
    const idle = startCli(['renew', ...state, '--json']);
    expect(await idle.exit, idle.stderr()).toBe(0);
    expect(JSON.parse(idle.stdout())).toMatchObject({ due: [], renewed: [] });
    expect(serial(chain)).toBe(first);

    // Another acme-email holds the state folder: exit 5, nothing done.
    writeFileSync(join(dir, 'state', 'lock'), `${process.pid}\n`);
    const locked = startCli(['renew', ...state]);
    expect(await locked.exit).toBe(5);
    expect(locked.stderr()).toMatch(/another acme-email \(PID \d+\) is working/);
    execFileSync('rm', [join(dir, 'state', 'lock')]);

    // Revoked elsewhere (the key in the .p12, another state folder): the CA moves the ARI window into the past.
    const passFile = join(dir, 'out', `${alice.email}.pass`);
    const passphraseBefore = readFileSync(passFile, 'utf8');
    const revoke = startCli(['revoke', '--server', sandbox.directoryUrl, '--trust', sandbox.tlsRootPath, '--cert', chain, '--p12', p12, '--passphrase-file', passFile, '--reason', '4', '--state-dir', join(dir, 'elsewhere')]);
    expect(await revoke.exit, revoke.stderr()).toBe(0);
    expect(revoke.stderr()).toContain('revoked: alice@example.test');

    // Due, but the mail server refuses the login (the password changed): exit 4 for cron, nothing replaced.
    const passwordFile = join(dir, `${alice.email}.password`);
    writeFileSync(passwordFile, 'an old password\n');
    const refused = startCli(['renew', ...state, '--json']);
    expect(await refused.exit).toBe(4);
    expect(JSON.parse(refused.stdout())).toMatchObject({ due: [alice.email], renewed: [{ email: alice.email, step: 'failed', error: { code: 'mailServer' } }] });
    expect(serial(chain)).toBe(first);
    writeFileSync(passwordFile, `${alice.password}\n`);

    const due = startCli(['renew', ...state, '--json']);
    expect(await due.exit, due.stderr()).toBe(0);
    const result = JSON.parse(due.stdout()) as { due: string[]; renewed: { email: string; step: string }[] };
    expect(result.due).toEqual([alice.email]);
    expect(result.renewed.map((r) => [r.email, r.step])).toEqual([[alice.email, 'installed']]);
    const second = serial(chain);
    expect(second).not.toBe(first);
    // The same passphrase file still opens the renewed .p12 (it was kept, not made anew).
    expect(readFileSync(passFile, 'utf8')).toBe(passphraseBefore);
    expect(execFileSync('openssl', ['pkcs12', '-in', p12, '-passin', `file:${passFile}`, '-nokeys', '-clcerts'], { encoding: 'utf8' })).toContain('BEGIN CERTIFICATE');

    // Idempotent: a second run right after finds nothing due.
    const again = startCli(['renew', ...state, '--json']);
    expect(await again.exit, again.stderr()).toBe(0);
    expect(JSON.parse(again.stdout())).toMatchObject({ due: [] });
    expect(serial(chain)).toBe(second);

    // Revoked by the account that ordered it: the state folder's record is marked, renew leaves it alone.
    const byAccount = startCli(['revoke', '--server', sandbox.directoryUrl, '--trust', sandbox.tlsRootPath, '--cert', chain, '--account', ...state]);
    expect(await byAccount.exit, byAccount.stderr()).toBe(0);
    const stateFile = JSON.parse(readFileSync(join(dir, 'state', 'state.json'), 'utf8')) as Record<string, { revoked?: { reason: number } }>;
    expect(stateFile[`certificate:${alice.email}`]?.revoked?.reason).toBe(0);
    const after = startCli(['renew', ...state, '--json']);
    expect(await after.exit, after.stderr()).toBe(0);
    expect(JSON.parse(after.stdout())).toMatchObject({ due: [] });

    // Revoking it again: the CA says it is already revoked (exit 1, its problem on stderr).
    const twice = startCli(['revoke', '--server', sandbox.directoryUrl, '--trust', sandbox.tlsRootPath, '--cert', chain, '--account', ...state]);
    expect(await twice.exit).toBe(1);
    expect(twice.stderr()).toMatch(/already revoked|alreadyRevoked/i);
  }, 240_000);

  it('refuses a key that is not the certificate\'s, and bad options, with exit 2', async () => {
    const dir = tmp.path;
    const other = join(dir, 'other.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', other]);
    const chain = join(dir, 'out', `${sandbox.users[0]!.email}.chain.pem`);
    const wrong = startCli(['revoke', '--server', sandbox.directoryUrl, '--trust', sandbox.tlsRootPath, '--cert', chain, '--key', other]);
    expect(await wrong.exit).toBe(2);
    expect(wrong.stderr()).toContain('the key is not the key of --cert');
    const both = startCli(['revoke', '--server', sandbox.directoryUrl, '--cert', chain, '--key', other, '--account']);
    expect(await both.exit).toBe(2);
    const reason = startCli(['revoke', '--server', sandbox.directoryUrl, '--cert', chain, '--account', '--reason', '2']);
    expect(await reason.exit).toBe(2);
    expect(reason.stderr()).toContain('--reason is one of 0, 1, 3, 4, 5, 9');
  }, 60_000);
});
