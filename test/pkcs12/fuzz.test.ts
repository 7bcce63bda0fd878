/**
 * Property tests: the parsers of untrusted bytes (PEM, PKCS#12, encrypted PKCS#8, certificates)
 * end with a typed error or a result, never another exception and never a hang — on random
 * bytes and on mutations of a valid file. Runs FUZZ_RUNS cases each (default 150 in `npm test`).
 */
import { webcrypto } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildPkcs12, CertificateError, decryptPrivateKey, encryptPrivateKey, generateKey, inspectCertificate, KeyError, parsePkcs12,
  pemDecodeAll, PemError, Pkcs12FormatError, readPkcs12Protection, WrongPassphraseError,
} from '../../src/pkcs12';
import { makeTempDir } from '../helpers/process';
import { makeTestCa } from '../helpers/openssl';
import { pemDecode } from '../../src/pkcs12/pem';
import { createCsr } from '../../src/pkcs12';
import { execFileSync } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const crypto = webcrypto as unknown as Crypto;
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
/** `npm run fuzz` asks for 200 000 runs: allow ~10 ms per run rather than the suite's 60 s. */
const TIMEOUT = Math.max(60_000, RUNS * 10);
const typed = (e: unknown): boolean =>
  e instanceof Pkcs12FormatError || e instanceof WrongPassphraseError || e instanceof CertificateError || e instanceof KeyError || e instanceof PemError;
/** A typed error wrapping a TypeError or RangeError would hide a bug of ours (a missed check), not a bad file. */
const hidesBug = (e: unknown): boolean => e instanceof Error && (e.cause instanceof TypeError || e.cause instanceof RangeError || hidesBug(e.cause));

async function endsTyped(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (!typed(error) || hidesBug(error)) throw error;
  }
}

let p12: Uint8Array;
let encryptedKey: Uint8Array;
let cert: Uint8Array;

beforeAll(async () => {
  const tmp = makeTempDir('fuzz-pkcs12');
  try {
    const ca = makeTestCa(tmp.path);
    const keys = await generateKey('P-256', crypto);
    writeFileSync(join(tmp.path, 'r.der'), await createCsr({ keys, emails: ['fuzz@example.org', 'ø@example.org'], usage: 'both' }, crypto));
    execFileSync('openssl', ['x509', '-req', '-inform', 'DER', '-in', join(tmp.path, 'r.der'), '-CA', ca.certPath, '-CAkey', ca.keyPath, '-CAcreateserial',
      '-out', join(tmp.path, 'c.pem'), '-days', '1', '-copy_extensions', 'copy'], { stdio: 'pipe' });
    cert = pemDecode(readFileSync(join(tmp.path, 'c.pem'), 'utf8'), 'CERTIFICATE');
    // One iteration keeps each case fast; the parsing paths are the same.
    p12 = await buildPkcs12({ privateKey: keys.privateKey, certificates: [cert, pemDecode(ca.certPem, 'CERTIFICATE')], passphrase: 'f', friendlyName: 'fuzz', iterations: 1 }, crypto);
    encryptedKey = await encryptPrivateKey(keys.privateKey, 'f', crypto, { iterations: 1 });
  } finally {
    tmp.remove();
  }
});

/** A copy of `base` with a few bytes overwritten, inserted or cut. */
const mutation = (size: () => number) =>
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'cut')), { minLength: 1, maxLength: 4 }).map((edits) => (base: Uint8Array) => {
    let bytes = Array.from(base);
    for (const [pos, value, kind] of edits) {
      const i = pos % Math.max(size(), 1);
      if (kind === 'set') bytes[i] = value;
      else if (kind === 'insert') bytes.splice(i, 0, value);
      else bytes = [...bytes.slice(0, i), ...bytes.slice(i + 1 + (value % 8))];
    }
    return Uint8Array.from(bytes);
  });

describe('parsers never crash on hostile input', () => {
  it('pemDecodeAll: any text gives blocks or a PemError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string().map((s) => `-----BEGIN CERTIFICATE-----\n${s}\n-----END CERTIFICATE-----`)), (text) => {
        try {
          for (const block of pemDecodeAll(text)) expect(block.der).toBeInstanceOf(Uint8Array);
        } catch (error) {
          expect(error).toBeInstanceOf(PemError);
        }
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);

  it('parsePkcs12, readPkcs12Protection, decryptPrivateKey and inspectCertificate: random bytes give typed errors', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.constantFrom(0x30, 0x04, 0x02), async (bytes, lead) => {
        const input = Uint8Array.from([lead, ...bytes]);
        await endsTyped(() => parsePkcs12(input, 'f', crypto));
        await endsTyped(() => Promise.resolve().then(() => readPkcs12Protection(input)));
        await endsTyped(() => decryptPrivateKey(input, 'f', crypto));
        await endsTyped(() => inspectCertificate(input, crypto));
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);

  it('mutations of a valid PKCS#12, encrypted key and certificate give a result or a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(mutation(() => p12.length), mutation(() => encryptedKey.length), mutation(() => cert.length), async (m1, m2, m3) => {
        await endsTyped(() => parsePkcs12(m1(p12), 'f', crypto));
        await endsTyped(() => Promise.resolve().then(() => readPkcs12Protection(m1(p12))));
        await endsTyped(() => decryptPrivateKey(m2(encryptedKey), 'f', crypto));
        await endsTyped(() => inspectCertificate(m3(cert), crypto));
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);
});
