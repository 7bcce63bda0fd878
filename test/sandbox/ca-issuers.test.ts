/**
 * The sandbox's issuing intermediate names its root by an Authority Information Access caIssuers
 * URL (RFC 5280 §4.2.2.1), served by the ACME server, as public S/MIME CAs do: a mail client that
 * lacks the root can fetch it. Read with OpenSSL, fetched over the sandbox's TLS.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../sandbox/index';
import { fetchTrusting, openssl } from '../helpers/openssl';
import { makeTempDir, type TempDir } from '../helpers/process';

let sandbox: Sandbox;
let dir: TempDir;

beforeAll(async () => {
  sandbox = await startSandbox();
  dir = makeTempDir('ocs-ca-issuers');
});

afterAll(async () => {
  await sandbox.stop();
  dir.remove();
});

function fingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

describe('caIssuers of the sandbox intermediates', () => {
  it('names the mailbox root at a URL on the ACME server, which serves exactly that root', async () => {
    const path = join(dir.path, 'intermediate.pem');
    writeFileSync(path, sandbox.mailboxIntermediatePem);
    const text = openssl(['x509', '-in', path, '-noout', '-text']);
    const url = /CA Issuers - URI:(\S+)/.exec(text)?.[1];
    expect(url).toBe(`${new URL(sandbox.directoryUrl).origin}/ca/mailbox-root.der`);
    const response = await fetchTrusting(sandbox.tlsRootPem)(url!);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/pkix-cert');
    const der = new Uint8Array(await response.arrayBuffer());
    expect(fingerprint(der)).toBe(sandbox.mailboxRootSha256);
  });

  it('serves nothing else under /ca/', async () => {
    const response = await fetchTrusting(sandbox.tlsRootPem)(`${new URL(sandbox.directoryUrl).origin}/ca/tls-root.der`);
    expect(response.status).toBe(405);
  });
});
