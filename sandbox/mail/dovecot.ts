/**
 * A private Dovecot (Debian dovecot-imapd + dovecot-lmtpd) for the sandbox: its own config, base
 * and state folders, log file and maildirs under the sandbox's temp folder; IMAP (with IDLE, which
 * Dovecot always offers) and LMTP on loopback ports; no other listeners. Users come from a
 * passwd-file with plain passwords — acceptable only because everything is on 127.0.0.1 and
 * made per run. Everything runs as the current user (root on CI), so no system account is needed.
 *
 * Started in the foreground (`dovecot -F`) and stopped by PID: SIGTERM to the master and to each
 * of its children, then a wait until all are gone; any that outlive 3 s get SIGKILL (by PID).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import type { ImapSession } from '../types';

export interface DovecotUser {
  readonly email: string;
  readonly password: string;
}

export interface Dovecot {
  readonly imapPort: number;
  readonly lmtpPort: number;
  readonly configPath: string;
  readonly logPath: string;
  readonly pid: number;
  log(): string;
  /**
   * The IMAP sessions open now, from each imap process's title (`verbose_proctitle`): the user
   * and what the session is doing — `IDLE` while a client waits in IMAP IDLE (RFC 2177).
   */
  imapSessions(): ImapSession[];
  stop(): Promise<void>;
}

export class DovecotError extends Error {
  override readonly name = 'DovecotError';
  constructor(message: string, readonly log: string, options?: ErrorOptions) {
    super(`${message}\n--- dovecot log ---\n${log}`, options);
  }
}

export async function startDovecot(dir: string, users: readonly DovecotUser[], ports: { imap: number; lmtp: number }): Promise<Dovecot> {
  const root = join(dir, 'dovecot');
  for (const sub of ['run', 'state', 'mail']) mkdirSync(join(root, sub), { recursive: true });
  // Login processes run as the current user but must reach base_dir; mkdtemp made the parents 0700.
  chmodSync(dir, 0o755);
  chmodSync(root, 0o755);
  const { uid: myUid, gid: myGid, username } = userInfo();
  const group = groupName(myGid);
  // Dovecot never opens mail as root, nor runs its login processes as root: under root (CI) both
  // run as Debian's unprivileged `dovenull`, which then owns the maildirs.
  const asRoot = myUid === 0;
  const mailUser = asRoot ? systemUser('dovenull') : { uid: myUid, gid: myGid };
  const { uid, gid } = mailUser;
  if (asRoot) chownSync(join(root, 'mail'), uid, gid);
  const usersPath = join(root, 'users');
  // passwd-file: user:password:uid:gid:gecos:home:shell:extra — uid/gid come from userdb static.
  writeFileSync(usersPath, users.map((u) => `${u.email}:{PLAIN}${u.password}::::::`).join('\n') + '\n', { mode: 0o600 });
  const logPath = join(root, 'dovecot.log');
  const configPath = join(root, 'dovecot.conf');
  writeFileSync(configPath, `# Private sandbox instance; generated per run.
base_dir = ${root}/run
state_dir = ${root}/state
log_path = ${logPath}
instance_name = sandbox-${ports.imap}
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
# Process titles name each IMAP session's user and command: how the benchmarks see that the
# client is in IDLE (imapSessions()).
verbose_proctitle = yes
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = ${username}
default_internal_group = ${group}
default_login_user = ${asRoot ? 'dovenull' : username}
first_valid_uid = ${uid}
last_valid_uid = ${uid}
first_valid_gid = ${gid}
mail_location = maildir:${root}/mail/%d/%n
mail_uid = ${uid}
mail_gid = ${gid}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${usersPath}
}
userdb {
  driver = passwd-file
  args = username_format=%u ${usersPath}
  default_fields = home=${root}/mail/%d/%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${ports.imap}
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${ports.lmtp}
  }
  unix_listener lmtp {
    mode = 0600
  }
}
protocol lmtp {
  postmaster_address = postmaster@sandbox.test
}
`);
  const child: ChildProcess = spawn('dovecot', ['-F', '-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const pid = child.pid;
  if (pid === undefined) throw new DovecotError('could not spawn dovecot', output);
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    resolve();
  }));
  const log = (): string => output + safeRead(logPath);
  // Last resort when the Node process exits without stop() (a test runner tearing a worker
  // down): Dovecot is not our child process group's fate, so signal it by PID, synchronously.
  const onExit = (): void => {
    for (const p of [pid, ...childrenOf(pid)]) {
      try { process.kill(p, 'SIGTERM'); } catch { /* already gone */ }
    }
  };
  process.once('exit', onExit);
  const stop = async (): Promise<void> => {
    process.removeListener('exit', onExit);
    const descendants = childrenOf(pid);
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(pid, 'SIGTERM');
      // Left alone, the master waits about a second for its log process to drain; signalling
      // every child at once stops the whole instance in about 0.1 s.
      for (const p of descendants) {
        try { process.kill(p, 'SIGTERM'); } catch { /* gone meanwhile */ }
      }
      const timer = setTimeout(() => {
        try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
      }, 3000);
      await exited;
      clearTimeout(timer);
    }
    // The master stops its children on SIGTERM; make sure none outlived it.
    for (let i = 0; i < 60 && descendants.some(alive); i++) await new Promise((r) => setTimeout(r, 50));
    for (const p of descendants.filter(alive)) {
      try { process.kill(p, 'SIGKILL'); } catch { /* gone meanwhile */ }
    }
  };
  try {
    await Promise.race([
      Promise.all([waitForListen(ports.imap), waitForListen(ports.lmtp)]),
      exited.then(() => {
        throw new DovecotError('dovecot exited during start', log());
      }),
    ]);
  } catch (error) {
    await stop();
    throw error instanceof DovecotError ? error : new DovecotError(`dovecot did not start: ${String(error)}`, log(), { cause: error });
  }
  const imapSessions = (): ImapSession[] => childrenOf(pid).flatMap((p) => {
    let title: string;
    try {
      title = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
    } catch {
      return [];
    }
    // "dovecot-sandbox-<port>/imap [alice@example.test 127.0.0.1 IDLE]" (the instance name first);
    // a session between commands has no third word.
    const match = /^\S*\/imap \[(\S+) \S+(?: ([A-Z]+))?/.exec(title);
    return match ? [{ user: match[1]!, command: match[2] ?? '' }] : [];
  });
  return { imapPort: ports.imap, lmtpPort: ports.lmtp, configPath, logPath, pid, log, stop, imapSessions };
}

function groupName(gid: number): string {
  try {
    const line = readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.split(':')[2] === String(gid));
    if (line) return line.split(':')[0]!;
  } catch { /* fall through */ }
  return execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
}

function systemUser(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  const fields = line?.split(':');
  if (!fields || fields.length < 4) throw new DovecotError(`system user ${name} is missing (is dovecot-core installed?)`, '');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

function safeRead(path: string): string {
  try { return readFileSync(path, 'utf8'); } catch { return ''; }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0; it is gone for our purposes.
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

/** PIDs whose parent is `pid` (Linux /proc). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch { /* exited meanwhile */ }
  }
  return out;
}

/** Polls until something accepts on 127.0.0.1:port (Dovecot binds after reading its config). */
async function waitForListen(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => { resolve(false); });
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
