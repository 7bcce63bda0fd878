/**
 * The flow's storage for the command line: the same flat key-value records as the add-on's
 * storage.local, kept as one JSON file in the state folder (0600; written to a temp file and
 * renamed, so a crash never leaves half a file). Nothing secret goes in: the certificate key only
 * ever as encrypted PKCS#8 (the flow's own rule), passphrases never (they live in the session,
 * which is memory only).
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, closeSync, openSync, fsyncSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { SessionPort, StoragePort } from '../../enroll/ports';

export class StateFileError extends Error {
  override readonly name = 'StateFileError';
}

/** Writes `data` to `path` through a temp file in the same folder and a rename. */
export function writeAtomically(path: string, data: string | Uint8Array, mode: number): void {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, data, { mode, flag: 'wx' });
    const fd = openSync(temp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new StateFileError(`cannot write "${path}" (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
}

/** The state folder, made private if it is new. */
export function ensureStateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new StateFileError(`cannot create the state folder "${dir}" (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
}

/** Called after every write with the keys written: the progress display watches the records. */
export type StorageObserver = (items: Record<string, unknown>) => void;

export class FileStorage implements StoragePort {
  private readonly path: string;
  private data: Record<string, unknown>;
  private readonly observers: StorageObserver[] = [];

  constructor(stateDir: string) {
    ensureStateDir(stateDir);
    this.path = join(stateDir, 'state.json');
    this.data = FileStorage.read(this.path);
  }

  private static read(path: string): Record<string, unknown> {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new StateFileError(`cannot read the state file "${path}" (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
      return parsed as Record<string, unknown>;
    } catch (error) {
      throw new StateFileError(`the state file "${path}" is damaged (${error instanceof Error ? error.message : String(error)}); move it away to start afresh`, { cause: error });
    }
  }

  observe(observer: StorageObserver): void {
    this.observers.push(observer);
  }

  get(keys: readonly string[]): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const key of keys) if (key in this.data) out[key] = structuredClone(this.data[key]);
    return Promise.resolve(out);
  }

  getAll(): Promise<Record<string, unknown>> {
    return Promise.resolve(structuredClone(this.data));
  }

  set(items: Record<string, unknown>): Promise<void> {
    const next = { ...this.data, ...structuredClone(items) };
    writeAtomically(this.path, `${JSON.stringify(next, null, 1)}\n`, 0o600);
    this.data = next;
    for (const observer of this.observers) observer(items);
    return Promise.resolve();
  }

  remove(keys: readonly string[]): Promise<void> {
    const next = Object.fromEntries(Object.entries(this.data).filter(([key]) => !keys.includes(key)));
    writeAtomically(this.path, `${JSON.stringify(next, null, 1)}\n`, 0o600);
    this.data = next;
    return Promise.resolve();
  }
}

/** storage.session for one run of the command: memory only, gone when the process ends. */
export class MemorySession implements SessionPort {
  private data = new Map<string, unknown>();

  get(keys: readonly string[]): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const key of keys) if (this.data.has(key)) out[key] = this.data.get(key);
    return Promise.resolve(out);
  }

  getAll(): Promise<Record<string, unknown>> {
    return Promise.resolve(Object.fromEntries(this.data));
  }

  set(items: Record<string, unknown>): Promise<void> {
    for (const [key, value] of Object.entries(items)) this.data.set(key, value);
    return Promise.resolve();
  }

  remove(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.data.delete(key);
    return Promise.resolve();
  }
}
