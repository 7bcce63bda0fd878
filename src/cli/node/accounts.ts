/**
 * ACME account keys for the command line, one per directory URL, in `account-keys.json` in the
 * state folder (0600, apart from the flow's records). Unlike the add-on, which keeps a
 * non-extractable CryptoKey in IndexedDB, a command run from cron has nowhere else to keep it and
 * no one to ask for a passphrase: the file's permissions protect it, as certbot's do.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportAccountKey, generateAccountKey, importAccountKey } from '../../acme/index';
import type { AccountStore, StoredAccount } from '../../enroll/adapters/acme';
import { StateFileError, writeAtomically } from './storage';

interface StoredEntry {
  readonly jwk: JsonWebKey;
  readonly accountUrl?: string;
}

export class FileAccountStore implements AccountStore {
  private readonly path: string;

  constructor(
    stateDir: string,
    private readonly crypto: Crypto,
  ) {
    this.path = join(stateDir, 'account-keys.json');
  }

  private read(): Record<string, StoredEntry> {
    try {
      return JSON.parse(readFileSync(this.path, 'utf8')) as Record<string, StoredEntry>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new StateFileError(`cannot read the account keys "${this.path}" (${error instanceof Error ? error.message : String(error)})`, { cause: error });
    }
  }

  /** Makes and keeps an extractable key when there is none, so the adapter never makes one it could not save. */
  async load(directoryUrl: string): Promise<StoredAccount> {
    const entry = this.read()[directoryUrl];
    if (entry) {
      const key = await importAccountKey(entry.jwk, this.crypto);
      return entry.accountUrl === undefined ? { key } : { key, accountUrl: entry.accountUrl };
    }
    const key = await generateAccountKey(this.crypto);
    await this.save(directoryUrl, { key });
    return { key };
  }

  async save(directoryUrl: string, account: StoredAccount): Promise<void> {
    const all = this.read();
    const jwk = await exportAccountKey(account.key, this.crypto);
    all[directoryUrl] = account.accountUrl === undefined ? { jwk } : { jwk, accountUrl: account.accountUrl };
    writeAtomically(this.path, `${JSON.stringify(all, null, 1)}\n`, 0o600);
  }

  /** Whether an account key for this CA exists (revoke --account needs one). */
  has(directoryUrl: string): boolean {
    return this.read()[directoryUrl] !== undefined;
  }
}
