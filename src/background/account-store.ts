/**
 * ACME account keys in IndexedDB, as CryptoKey objects (structured clone keeps them
 * non-extractable): the key can sign for the add-on and can never be read back, so it is
 * neither in storage.local nor anywhere in the clear. One record per directory URL.
 */
import type { AccountKey, JwsAlgorithm } from '../acme/index';
import type { AccountStore, StoredAccount } from '../enroll/adapters/acme';

const DB_NAME = 'one-click-smime';
const STORE = 'accounts';

interface Row {
  readonly directoryUrl: string;
  readonly alg: JwsAlgorithm;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JsonWebKey;
  readonly accountUrl?: string;
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(STORE, { keyPath: 'directoryUrl' });
    };
    request.onsuccess = () => {
      resolve(request.result);
    };
    request.onerror = () => {
      reject(request.error ?? new Error('IndexedDB open failed'));
    };
  });
}

function run<T>(mode: IDBTransactionMode, fn: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return open().then(
    (db) =>
      new Promise<T>((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        const request = fn(tx.objectStore(STORE));
        tx.oncomplete = () => {
          db.close();
          resolve(request.result);
        };
        tx.onerror = () => {
          db.close();
          reject(tx.error ?? new Error('IndexedDB transaction failed'));
        };
      }),
  );
}

export const indexedDbAccountStore: AccountStore = {
  async load(directoryUrl) {
    const row = (await run('readonly', (store) => store.get(directoryUrl) as IDBRequest<Row | undefined>));
    if (!row) return undefined;
    const key: AccountKey = { alg: row.alg, privateKey: row.privateKey, publicJwk: row.publicJwk };
    return row.accountUrl === undefined ? { key } : { key, accountUrl: row.accountUrl };
  },
  async save(directoryUrl, account: StoredAccount) {
    const row: Row = {
      directoryUrl,
      alg: account.key.alg,
      privateKey: account.key.privateKey,
      publicJwk: account.key.publicJwk,
      ...(account.accountUrl === undefined ? {} : { accountUrl: account.accountUrl }),
    };
    await run('readwrite', (store) => store.put(row));
  },
};
