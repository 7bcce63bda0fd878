/**
 * Throwaway certificate authorities made with the real OpenSSL, for TLS on test servers
 * (Pebble, the sandbox) and for issuing test certificates. Test-only keys, made per run.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from 'undici';

export interface TestCa {
  readonly certPath: string;
  readonly keyPath: string;
  readonly certPem: string;
}

export function openssl(args: readonly string[], input?: string): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input === undefined ? {} : { input }) });
}

/** A self-signed EC P-256 root, valid for a day. */
export function makeTestCa(dir: string, name = 'Test Root'): TestCa {
  const keyPath = join(dir, 'ca.key');
  const certPath = join(dir, 'ca.pem');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPath, '-out', certPath,
    '-days', '1', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return { certPath, keyPath, certPem: readFileSync(certPath, 'utf8') };
}

/** A TLS server certificate for localhost and 127.0.0.1, signed by `ca`. */
export function issueServerCert(ca: TestCa, dir: string, name = 'server'): { certPath: string; keyPath: string } {
  const keyPath = join(dir, `${name}.key`);
  const csrPath = join(dir, `${name}.csr`);
  const certPath = join(dir, `${name}.pem`);
  const extPath = join(dir, `${name}.ext`);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPath, '-out', csrPath, '-subj', `/CN=${name}`]);
  writeFileSync(extPath, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n');
  openssl(['x509', '-req', '-in', csrPath, '-CA', ca.certPath, '-CAkey', ca.keyPath, '-CAcreateserial', '-out', certPath, '-days', '1', '-extfile', extPath]);
  return { certPath, keyPath };
}

/** A `fetch` that trusts only `caPem` for TLS (NODE_EXTRA_CA_CERTS is taken by the system bundle). */
export function fetchTrusting(caPem: string): typeof fetch {
  const dispatcher = new Agent({ connect: { ca: caPem } });
  return (input: RequestInfo | URL, init?: RequestInit) => {
    // `dispatcher` is undici's extension of RequestInit, unknown to the DOM typings.
    const withDispatcher: RequestInit & { dispatcher: Agent } = { ...init, dispatcher };
    return fetch(input, withDispatcher);
  };
}
