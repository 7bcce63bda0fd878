/**
 * What `acme-email cert` and `renew` both run in: the state folder (created, locked, its
 * enrollments shown on the progress line as they change), the progress display on stderr, stdin
 * for pasted input, and Ctrl-C / SIGTERM, which end the run cleanly.
 */
import { resolve } from 'node:path';
import { single, type ParsedArgs } from './args';
import type { Enrollment } from '../enroll/state';
import { acquireLock } from './node/lock';
import { Progress } from './node/progress';
import { FileStorage, ensureStateDir } from './node/storage';
import { EXIT, type RunContext } from './run';
import { StdinLines, defaultStateDir } from './terminal';

export interface CommandIo {
  readonly progress: Progress;
  readonly json: boolean;
  readonly lines: StdinLines;
  readonly stopped: () => boolean;
}

/** Ctrl-C and SIGTERM end the run cleanly: unfinished requests are cancelled, the lock released. */
export function interruptible(onStop: () => void): { stopped: () => boolean; dispose: () => void } {
  let stopped = false;
  const onSignal = (): void => {
    // A second Ctrl-C does not wait for the clean end.
    if (stopped) process.exit(EXIT.interrupted);
    stopped = true;
    onStop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    stopped: () => stopped,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

export interface CommandSession {
  /** `--state-dir`, or the default one. */
  readonly stateDir: string;
  readonly io: CommandIo;
  /**
   * Creates the state folder if need be and locks it for this run (a second `acme-email` there
   * fails with LockedError); what the flow stores about an enrollment shows on the progress line.
   */
  openState(): FileStorage;
  /**
   * Ends the session in this order: signals no longer caught, stdin let go, the run's context
   * stopped (it may still write to the state folder), and last the lock released.
   */
  close(ctx?: RunContext): Promise<void>;
}

/** The session for the parsed `--state-dir`, `--json`, `--verbose` and `--plain` (--json implies plain). */
export function commandSession(parsed: ParsedArgs): CommandSession {
  const stateDir = resolve(single(parsed, 'state-dir') ?? defaultStateDir());
  const json = parsed.flags.has('json');
  const progress = new Progress({ stream: process.stderr, verbose: parsed.flags.has('verbose'), plain: json || parsed.flags.has('plain') });
  const lines = new StdinLines();
  // Stopping ends a wait for pasted input, too.
  const signals = interruptible(() => {
    lines.close();
  });
  let release: (() => void) | undefined;
  return {
    stateDir,
    io: { progress, json, lines, stopped: signals.stopped },
    openState() {
      ensureStateDir(stateDir);
      release = acquireLock(stateDir);
      const storage = new FileStorage(stateDir);
      storage.observe((items) => {
        for (const [key, value] of Object.entries(items)) if (key.startsWith('enrollment:')) progress.record(value as Enrollment);
      });
      return storage;
    },
    async close(ctx) {
      signals.dispose();
      lines.close();
      await ctx?.stop().catch(() => undefined);
      release?.();
    },
  };
}
