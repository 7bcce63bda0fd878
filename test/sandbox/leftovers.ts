/**
 * Proof that a stopped sandbox left nothing behind: no process whose command line names its state
 * folder or its Dovecot instance, nothing listening on its ports, no state folder.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';

/** PIDs of live processes whose command line contains `text` (Linux /proc). */
export function processesMentioning(text: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (cmdline.includes(text) && !stat.includes(') Z ')) out.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

export interface Leftovers {
  readonly processes: number[];
  readonly ports: number[];
  readonly stateDirExists: boolean;
}

export async function leftovers(stateDir: string, imapPort: number, ports: readonly number[]): Promise<Leftovers> {
  const open: number[] = [];
  for (const port of ports) if (await listening(port)) open.push(port);
  return {
    // Dovecot's children are named after the instance (`dovecot-sandbox-<imap port>/…`).
    processes: [...processesMentioning(stateDir), ...processesMentioning(`sandbox-${imapPort}/`)],
    ports: open,
    stateDirExists: existsSync(stateDir),
  };
}
