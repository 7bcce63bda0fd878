import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/process';
import { openssl } from '../helpers/openssl';
import { runCliSync, type CliResult } from './run-cli';

const tmp = makeTempDir('cli-csr');
let keyPath: string;
beforeAll(() => {
  keyPath = join(tmp.path, 'key.pem');
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPath]);
});
afterAll(() => {
  tmp.remove();
});

const acmeEmail = (...args: string[]): CliResult => runCliSync(args);

describe('acme-email csr', () => {
  it('writes a CSR for an OpenSSL key that openssl req verifies, with every address and the chosen usage', () => {
    const out = join(tmp.path, 'req.pem');
    const r = acmeEmail('csr', '--key', keyPath, '--email', 'alice@example.org', '--email', 'jøran@blåbærsyltetøy.no', '--usage', 'sign', '--non-repudiation', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // OpenSSL 3.0 exits 0 even when the self-signature fails; only its message tells.
    expect(spawnSync('openssl', ['req', '-in', out, '-verify', '-noout'], { encoding: 'utf8' }).stderr).toContain('self-signature verify OK');
    const text = openssl(['req', '-in', out, '-noout', '-text', '-nameopt', 'utf8']);
    expect(text).toContain('email:alice@example.org, othername: SmtpUTF8Mailbox::jøran@blåbærsyltetøy.no');
    expect(text).toMatch(/Key Usage: critical\n\s+Digital Signature, Non Repudiation\n/);
    // the public key in the request is the key file's
    expect(openssl(['req', '-in', out, '-noout', '-pubkey'])).toBe(openssl(['pkey', '-in', keyPath, '-pubout']));
  });

  it('refuses a missing key file and an address that is not a mailbox: exit 2, clear message, no output file', () => {
    const out = join(tmp.path, 'bad.pem');
    const missing = acmeEmail('csr', '--key', join(tmp.path, 'nope.pem'), '--email', 'a@example.org', '--out', out);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read key file ".*nope\.pem" \(ENOENT\)/);
    const notMailbox = acmeEmail('csr', '--key', keyPath, '--email', 'alice@localhost', '--out', out);
    expect(notMailbox.status).toBe(2);
    expect(notMailbox.stderr).toContain('"alice@localhost" is not a mailbox: the domain has a single label');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp.path).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses a file that holds no private key', () => {
    const notKey = join(tmp.path, 'not-a-key.pem');
    writeFileSync(notKey, 'hello\n');
    const r = acmeEmail('csr', '--key', notKey, '--email', 'a@example.org', '--out', join(tmp.path, 'x.pem'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('expected one private key PEM block, found 0');
  });
});
