/**
 * One `acme-email` at a time per state folder (cron may start `renew` while a `cert` runs): a
 * lock file made with O_EXCL holding the owner's PID. A lock left by a process that no longer
 * exists (killed, machine restarted) is taken over.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class LockedError extends Error {
  override readonly name = 'LockedError';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else — still alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock of `stateDir`; the returned function gives it back. */
export function acquireLock(stateDir: string): () => void {
  const path = join(stateDir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let owner = NaN;
      try {
        owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
      } catch {
        // Vanished in between: try again.
      }
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
        throw new LockedError(`another acme-email (PID ${owner}) is working in "${stateDir}"; try again when it has finished`);
      }
      rmSync(path, { force: true });
    }
  }
  throw new LockedError(`could not take the lock "${path}"`);
}
