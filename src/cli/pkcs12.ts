/**
 * `acme-email pkcs12 --key <key.pem> --cert <chain.pem> --out <file.p12> --passphrase-file <file>
 *  [--iterations <n>] [--legacy] [--name <friendly name>] [--key-passphrase-file <file>]`:
 * bundles a key and its certificate chain (leaf first) into a PKCS#12 (RFC 7292) that Thunderbird
 * imports, with the same src/pkcs12 code as the add-on. Refuses a key that does not match the
 * first certificate and an empty passphrase file (exit 2, nothing written).
 */
import { webcrypto } from 'node:crypto';
import { parseArgs, required, single, UsageError } from './args';
import { InputError, readInput, readPassphrase, reportingErrors, writeFileAtomically } from './csr';
import { buildPkcs12, DEFAULT_ITERATIONS, importPrivateKeyPem, inspectCertificate, MAX_ITERATIONS, pemDecodeAll } from '../pkcs12/index';

const crypto = webcrypto as unknown as Crypto;

export function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args, ['key', 'cert', 'out', 'passphrase-file', 'iterations', 'name', 'key-passphrase-file'], ['legacy']);
  if (parsed.positional.length > 0) throw new UsageError(`unexpected argument "${parsed.positional[0]!}"`);
  const keyPath = required(parsed, 'key');
  const certPath = required(parsed, 'cert');
  const out = required(parsed, 'out');
  const passFile = required(parsed, 'passphrase-file');
  const iterationsText = single(parsed, 'iterations');
  if (iterationsText !== undefined && !/^[1-9][0-9]{0,7}$/.test(iterationsText)) throw new UsageError(`--iterations takes a whole number from 1 to ${MAX_ITERATIONS}`);
  const iterations = iterationsText === undefined ? DEFAULT_ITERATIONS : Number(iterationsText);
  if (iterations > MAX_ITERATIONS) throw new UsageError(`--iterations takes a whole number from 1 to ${MAX_ITERATIONS}`);
  const keyPassFile = single(parsed, 'key-passphrase-file');
  return reportingErrors('pkcs12', async () => {
    const passphrase = readPassphrase(passFile, 'passphrase file');
    const keyText = readInput(keyPath, 'key file').toString('utf8');
    const keys = await importPrivateKeyPem(keyText, crypto, keyPassFile === undefined ? {} : { passphrase: readPassphrase(keyPassFile, 'key passphrase file') });
    const certificates = pemDecodeAll(readInput(certPath, 'certificate file').toString('utf8')).filter((b) => b.label === 'CERTIFICATE').map((b) => b.der);
    if (certificates.length === 0) throw new InputError(`certificate file "${certPath}" holds no CERTIFICATE PEM block`);
    const leaf = await inspectCertificate(certificates[0]!, crypto);
    const friendlyName = single(parsed, 'name') ?? leaf.addresses[0]?.display ?? leaf.subject;
    const p12 = await buildPkcs12({ privateKey: keys.privateKey, certificates, passphrase, friendlyName, iterations, legacy: parsed.flags.has('legacy') }, crypto);
    writeFileAtomically(out, p12, 0o600);
    return 0;
  });
}
