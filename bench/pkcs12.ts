/**
 * `npm run bench:pkcs12`: key generation per type (ours: WebCrypto; peer: `openssl genpkey`), then
 * PKCS#12 build at the default iteration count, ours beside `openssl pkcs12 -export -iter <same>`
 * (OpenSSL 3 applies -iter to the bag encryption and the MAC, as we do). Same key, same chain.
 * OpenSSL figures include process start-up (a few ms). Medians of RUNS runs (env BENCH_RUNS, default 3).
 * Last line: `pkcs12 build ms ours=<x> openssl=<y> ratio=<x/y>`.
 */
import { execFileSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPkcs12, DEFAULT_ITERATIONS, generateKey, importPrivateKeyPem, KEY_TYPES, pemDecodeAll, type KeyType } from '../src/pkcs12/index';

const crypto = webcrypto as unknown as Crypto;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function time(fn: () => unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function timed(fn: () => unknown): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) samples.push(await time(fn));
  return median(samples);
}

const OPENSSL_KEYGEN: Record<KeyType, string[]> = {
  'RSA-2048': ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  'RSA-3072': ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072'],
  'RSA-4096': ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:4096'],
  'P-256': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  'P-384': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
};

const dir = mkdtempSync(join(tmpdir(), 'bench-pkcs12-'));
try {
  console.log(`runs per figure: ${RUNS} (median)`);
  for (const type of KEY_TYPES) {
    const ours = await timed(() => generateKey(type, crypto));
    const theirs = await timed(() => execFileSync('openssl', ['genpkey', ...OPENSSL_KEYGEN[type], '-out', join(dir, 'k.pem')], { stdio: 'pipe' }));
    console.log(`keygen ${type.padEnd(8)} ms ours=${ours.toFixed(1)} openssl=${theirs.toFixed(1)}`);
  }

  // A P-256 leaf under a self-signed root, both made by OpenSSL: the inputs are identical for both builders.
  const key = join(dir, 'leaf.key'), cert = join(dir, 'leaf.pem'), out = join(dir, 'o.p12');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=bench@example.org', '-addext', 'subjectAltName=email:bench@example.org'], { stdio: 'pipe' });
  const keys = await importPrivateKeyPem(readFileSync(key, 'utf8'), crypto);
  const certificates = pemDecodeAll(readFileSync(cert, 'utf8')).map((b) => b.der);
  const passphrase = 'bench passphrase';
  const ours = await timed(async () => {
    writeFileSync(out, await buildPkcs12({ privateKey: keys.privateKey, certificates, passphrase, friendlyName: 'bench', iterations: DEFAULT_ITERATIONS }, crypto));
  });
  const openssl = await timed(() =>
    execFileSync('openssl', ['pkcs12', '-export', '-inkey', key, '-in', cert, '-out', out, '-passout', `pass:${passphrase}`, '-iter', String(DEFAULT_ITERATIONS), '-name', 'bench'], { stdio: 'pipe' }));
  const legacy = await timed(() => buildPkcs12({ privateKey: keys.privateKey, certificates, passphrase, friendlyName: 'bench', iterations: DEFAULT_ITERATIONS, legacy: true }, crypto));
  console.log(`pkcs12 legacy (3DES, SHA-1 MAC) ms ours=${legacy.toFixed(0)} at ${DEFAULT_ITERATIONS} iterations`);
  console.log(`pkcs12 build at ${DEFAULT_ITERATIONS} iterations (bags and MAC), P-256 key, one certificate`);
  console.log(`pkcs12 build ms ours=${ours.toFixed(0)} openssl=${openssl.toFixed(0)} ratio=${(ours / openssl).toFixed(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
