/**
 * Runs `acme-email` as the real command (node bin/acme-email.js), asynchronously — the sandbox
 * runs in the test's own process and must keep answering — with stdin open for the manual mode
 * and a way to wait for a line on stderr.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sandbox, SandboxUser } from '../../sandbox/index';

export interface CliRun {
  readonly child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves when stderr matches `pattern` (rejects after `timeoutMs` or if the command ends first). */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves when stdout matches `pattern`. */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** The exit code once the command ended. */
  readonly exit: Promise<number | null>;
}

export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const child = spawn(process.execPath, ['bin/acme-email.js', ...args], { env: { ...process.env, ...env }, stdio: 'pipe' });
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  const poke = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    poke();
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
    poke();
  });
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => {
    poke();
    resolve(code);
  }));
  let ended = false;
  void exit.then(() => (ended = true));
  const waitFor = (read: () => string, pattern: RegExp, timeoutMs: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const deadline = setTimeout(() => { reject(new Error(`timed out waiting for ${pattern}; stderr:\n${err}\nstdout:\n${out}`)); }, timeoutMs);
      const check = (): void => {
        if (pattern.test(read())) {
          clearTimeout(deadline);
          resolve();
        } else if (ended) {
          clearTimeout(deadline);
          reject(new Error(`the command ended before ${pattern}; stderr:\n${err}\nstdout:\n${out}`));
        } else waiters.push(check);
      };
      check();
    });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitForStderr: (pattern, timeoutMs = 60_000) => waitFor(() => err, pattern, timeoutMs),
    waitForStdout: (pattern, timeoutMs = 60_000) => waitFor(() => out, pattern, timeoutMs),
    exit,
  };
}

/** What a command that ran to its end left: its exit code, stdout and stderr. */
export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `acme-email` to its end; asynchronous, so the cases of one file can run side by side. */
export async function runCli(args: readonly string[]): Promise<CliResult> {
  const run = startCli(args);
  const status = await run.exit;
  return { status, stdout: run.stdout(), stderr: run.stderr() };
}

/** Runs `acme-email` to its end, blocking: for commands that talk to no server of the test's own. */
export function runCliSync(args: readonly string[]): CliResult {
  const r = spawnSync(process.execPath, ['bin/acme-email.js', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The options a newcomer copies from `npm run sandbox`'s printout, for `user`. */
export function sandboxArgs(sandbox: Sandbox, dir: string, users: readonly SandboxUser[]): string[] {
  const args = ['--server', sandbox.directoryUrl, '--trust', sandbox.tlsRootPath, '--doh', sandbox.dohUrl, '--out', join(dir, 'out'), '--state-dir', join(dir, 'state'), '--agree-tos'];
  for (const user of users) args.push('--email', user.email);
  return args;
}

export function mailArgs(sandbox: Sandbox, dir: string, users: readonly SandboxUser[]): string[] {
  const args = ['--imap-host', sandbox.imap.host, '--imap-port', String(sandbox.imap.port), '--imap-tls', 'none', '--smtp-port', String(sandbox.smtp.port), '--smtp-tls', 'none'];
  for (const user of users) {
    const file = join(dir, `${user.email}.password`);
    writeFileSync(file, `${user.password}\n`, { mode: 0o600 });
    args.push('--user', user.email, '--password-file', file);
  }
  return args;
}
