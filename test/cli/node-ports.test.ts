/**
 * The command line's Node ports on their own: the fetch that trusts an extra root, the state
 * file (private, written whole), the account-key file, and the state folder's lock.
 */
import { createServer, type Server } from 'node:https';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueServerCert, makeTestCa, type TestCa } from '../helpers/openssl';
import { makeTempDir } from '../helpers/process';
import { fetchTrusting } from '../../src/cli/node/fetch';
import { FileStorage, MemorySession } from '../../src/cli/node/storage';
import { FileAccountStore } from '../../src/cli/node/accounts';
import { acquireLock, LockedError } from '../../src/cli/node/lock';
import { accountKeyThumbprint } from '../../src/acme/index';

const tmp = makeTempDir('cli-ports');
let ca: TestCa;
let server: Server;
let url = '';

beforeAll(async () => {
  ca = makeTestCa(tmp.path, 'CLI Test Root');
  const cert = issueServerCert(ca, tmp.path);
  server = createServer({ cert: readFileSync(cert.certPath), key: readFileSync(cert.keyPath) }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/empty') {
        res.writeHead(204, { 'Replay-Nonce': 'abc' }).end();
        return;
      }
      res.writeHead(201, { 'Content-Type': 'application/json', Location: 'https://127.0.0.1/acct/1', Link: '<https://x/a>;rel="up"' });
      res.end(JSON.stringify({ method: req.method, body, contentType: req.headers['content-type'] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  tmp.remove();
});

describe('fetchTrusting', () => {
  it('reaches a server whose certificate chains to the extra root, with method, body, status and headers intact', async () => {
    const response = await fetchTrusting([ca.certPem])(`${url}/x`, { method: 'POST', headers: { 'Content-Type': 'application/jose+json' }, body: '{"a":1}' });
    expect(response.status).toBe(201);
    expect(response.headers.get('location')).toBe('https://127.0.0.1/acct/1');
    expect(response.headers.get('link')).toBe('<https://x/a>;rel="up"');
    expect(await response.json()).toEqual({ method: 'POST', body: '{"a":1}', contentType: 'application/jose+json' });
    const empty = await fetchTrusting([ca.certPem])(`${url}/empty`, { method: 'HEAD' });
    expect(empty.status).toBe(204);
    expect(empty.headers.get('replay-nonce')).toBe('abc');
  });

  it('refuses the same server without the root, as a network error (TypeError) that names the cause', async () => {
    mkdirSync(join(tmp.path, 'other'));
    const other = makeTestCa(join(tmp.path, 'other'), 'Another Root');
    const error = await fetchTrusting([other.certPem])(`${url}/x`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(String((error as Error).cause)).toMatch(/certificate/i);
  });

  it('gives up on abort', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(fetchTrusting([ca.certPem])(`${url}/x`, { signal: controller.signal })).rejects.toThrow(/abort/i);
  });
});

describe('FileStorage', () => {
  it('keeps the records in one private JSON file, written whole, read back by a new instance', async () => {
    const dir = join(tmp.path, 'state');
    const storage = new FileStorage(dir);
    const seen: string[] = [];
    storage.observe((items) => seen.push(...Object.keys(items)));
    await storage.set({ 'enrollment:a': { step: 'new' }, other: 1 });
    await storage.set({ 'enrollment:a': { step: 'account' } });
    await storage.remove(['other']);
    expect(statSync(join(dir, 'state.json')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o077).toBe(0);
    expect(readdirSync(dir)).toEqual(['state.json']);
    expect(await new FileStorage(dir).getAll()).toEqual({ 'enrollment:a': { step: 'account' } });
    expect(seen).toEqual(['enrollment:a', 'other', 'enrollment:a']);
  });

  it('refuses a damaged state file with a clear message instead of starting afresh over it', () => {
    const dir = join(tmp.path, 'damaged');
    new FileStorage(dir);
    writeFileSync(join(dir, 'state.json'), '{"half": ');
    expect(() => new FileStorage(dir)).toThrow(/state file .* is damaged .*move it away/);
  });

  it('keeps the session in memory only', async () => {
    const session = new MemorySession();
    await session.set({ 'passphrase:x': 'secret' });
    expect(await session.get(['passphrase:x'])).toEqual({ 'passphrase:x': 'secret' });
    await session.remove(['passphrase:x']);
    expect(await session.getAll()).toEqual({});
  });
});

describe('FileAccountStore', () => {
  it('makes one account key per CA, keeps it (0600) and gives the same key back', async () => {
    const crypto = webcrypto as unknown as Crypto;
    const dir = join(tmp.path, 'accounts');
    new FileStorage(dir);
    const store = new FileAccountStore(dir, crypto);
    expect(store.has('https://ca/dir')).toBe(false);
    const first = await store.load('https://ca/dir');
    await store.save('https://ca/dir', { key: first.key, accountUrl: 'https://ca/acct/7' });
    const again = await new FileAccountStore(dir, crypto).load('https://ca/dir');
    expect(again.accountUrl).toBe('https://ca/acct/7');
    expect(await accountKeyThumbprint(again.key, crypto)).toBe(await accountKeyThumbprint(first.key, crypto));
    expect(await accountKeyThumbprint((await store.load('https://other/dir')).key, crypto)).not.toBe(await accountKeyThumbprint(first.key, crypto));
    expect(statSync(join(dir, 'account-keys.json')).mode & 0o777).toBe(0o600);
  });
});

describe('acquireLock', () => {
  it('lets one holder in at a time, and takes over the lock of a process that is gone', async () => {
    const dir = join(tmp.path, 'lock');
    new FileStorage(dir);
    const release = acquireLock(dir);
    expect(() => acquireLock(dir)).toThrow(LockedError);
    release();
    const again = acquireLock(dir);
    again();
    // A PID that existed and ended: its lock is stale.
    const gone = spawn(process.execPath, ['-e', '']);
    const pid = gone.pid!;
    await new Promise((resolve) => gone.on('close', resolve));
    writeFileSync(join(dir, 'lock'), `${pid}\n`);
    const taken = acquireLock(dir);
    expect(readFileSync(join(dir, 'lock'), 'utf8').trim()).toBe(String(process.pid));
    taken();
  });
});
