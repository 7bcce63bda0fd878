/**
 * A two-level S/MIME test PKI made with the real OpenSSL (root → intermediate → leaf), issuing
 * mailbox certificates for CSRs made by src/pkcs12 with the CSR's own SAN and keyUsage copied and
 * EKU emailProtection added, as a mailbox-validating CA does. Test-only keys, made per run.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestCa, openssl, type TestCa } from '../helpers/openssl';
import { pemDecode, pemEncode } from '../../src/pkcs12/pem';

export interface SmimeCa {
  readonly root: TestCa;
  readonly intermediate: TestCa;
  /** Issues a leaf for a DER CSR; returns the leaf DER and the chain [leaf, intermediate, root]. */
  issue(csrDer: Uint8Array, name: string): { leaf: Uint8Array; chain: Uint8Array[]; leafPath: string };
}

export function makeSmimeCa(dir: string): SmimeCa {
  const root = makeTestCa(dir, 'Test SMIME Root');
  const keyPath = join(dir, 'int.key');
  const csrPath = join(dir, 'int.csr');
  const certPath = join(dir, 'int.pem');
  const extPath = join(dir, 'int.ext');
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPath, '-out', csrPath, '-subj', '/CN=Test SMIME Intermediate']);
  writeFileSync(extPath, 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n');
  openssl(['x509', '-req', '-in', csrPath, '-CA', root.certPath, '-CAkey', root.keyPath, '-CAcreateserial', '-out', certPath, '-days', '1', '-extfile', extPath]);
  const intermediate: TestCa = { certPath, keyPath, certPem: readFileSync(certPath, 'utf8') };
  const leafExt = join(dir, 'leaf.ext');
  writeFileSync(leafExt, 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=emailProtection\n');
  return {
    root,
    intermediate,
    issue(csrDer, name) {
      const reqPath = join(dir, `${name}.csr`);
      const leafPath = join(dir, `${name}.pem`);
      writeFileSync(reqPath, pemEncode('CERTIFICATE REQUEST', csrDer));
      execFileSync('openssl', ['x509', '-req', '-in', reqPath, '-CA', certPath, '-CAkey', keyPath, '-CAcreateserial', '-out', leafPath, '-days', '1',
        '-copy_extensions', 'copy', '-extfile', leafExt], { stdio: 'pipe' });
      const leaf = pemDecode(readFileSync(leafPath, 'utf8'), 'CERTIFICATE');
      return { leaf, chain: [leaf, pemDecode(intermediate.certPem, 'CERTIFICATE'), pemDecode(root.certPem, 'CERTIFICATE')], leafPath };
    },
  };
}
