/**
 * The real peers a PKCS#12 file is tried against, in one test folder: OpenSSL's reader
 * (`openssl pkcs12 -info`) and NSS's importer (`pk12util` into a fresh database, the store
 * Thunderbird uses).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Non-ASCII on purpose: BMPString vs UTF-8 handling must agree with the peers. */
export const PASS = 'correct horse – bätterÿ';
/** OpenSSL's default count; the project's default itself is tested once, it is slow. */
export const FAST = 2048;

/** What a peer said: whether it succeeded, and its stdout and stderr. */
export interface PeerResult {
  readonly ok: boolean;
  readonly text: string;
}

export interface Peers {
  /** Writes `bytes` to `name` in the folder; returns the path. */
  readonly write: (name: string, bytes: Uint8Array) => string;
  /** `openssl pkcs12 -info -noout`: what OpenSSL reports about the protection (it prints to stderr). */
  readonly opensslInfo: (path: string, pass: string, legacy?: boolean) => PeerResult;
  /** An empty NSS database in the folder (`nss-<name>`). */
  readonly freshNssDb: (name: string) => string;
  /** `pk12util -i`: NSS imports the file into `db`. */
  readonly pk12Import: (db: string, path: string, pass: string) => PeerResult;
}

export function peersIn(dir: string): Peers {
  return {
    write: (name, bytes) => {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      return path;
    },
    opensslInfo: (path, pass, legacy = false) => {
      const r = spawnSync('openssl', ['pkcs12', '-info', '-noout', ...(legacy ? ['-legacy'] : []), '-in', path, '-passin', `pass:${pass}`], { encoding: 'utf8' });
      return { ok: r.status === 0, text: r.stdout + r.stderr };
    },
    freshNssDb: (name) => {
      const db = join(dir, `nss-${name}`);
      mkdirSync(db);
      execFileSync('certutil', ['-N', '--empty-password', '-d', `sql:${db}`]);
      return db;
    },
    pk12Import: (db, path, pass) => {
      const r = spawnSync('pk12util', ['-i', path, '-d', `sql:${db}`, '-W', pass, '-K', ''], { encoding: 'utf8' });
      return { ok: r.status === 0, text: r.stdout + r.stderr };
    },
  };
}
