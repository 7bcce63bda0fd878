/**
 * `npm run bench:pkcs12`: key material, timed; printed, never asserted. Medians of BENCH_RUNS runs
 * (default 3; under --jitless the user's `.p12`, ~25 s a build, runs BENCH_JITLESS_RUNS, default 1).
 *
 * 1. Key generation per type: ours (WebCrypto) beside `openssl genpkey`.
 * 2. The install path, as the keys adapter runs it (createKeysAdapter().buildImportPkcs12): open the
 *    stored key (PBKDF2-HMAC-SHA256, 600 000 rounds, in WebCrypto) and build the one-time PKCS#12
 *    (count 1) — beside `openssl pkcs12 -export -iter 1` reading a key encrypted the same way.
 * 3. The user's `.p12` (buildPkcs12 at 600 000: two PBKDF2s in WebCrypto, the RFC 7292 B.2 MAC KDF
 *    in JavaScript) beside `openssl pkcs12 -export -iter 600000` and NSS `pk12util -o`, which is
 *    what Thunderbird's export (nsIX509CertDB.exportPKCS12File) runs, natively.
 * 2 and 3 run in Node and again in `node --jitless`, the stand-in for Debian's Thunderbird, whose
 * baseline JIT is off: there a hash loop in JavaScript is interpreted.
 * 4. The same in Thunderbird itself (skipped when it is not installed or BENCH_THUNDERBIRD=0):
 *    headless, Debian's prefs, the adapter bundled and run in its chrome scope — the install path
 *    (open the key, one-time PKCS#12, importPKCS12File) per fresh key, then the user's `.p12` as
 *    Thunderbird exports it (exportPKCS12File, checked by isStrongPkcs12) and as buildPkcs12 makes
 *    it in Thunderbird's JavaScript (once: it takes tens of seconds there).
 * One RSA-2048 key, a leaf under a root (both made by OpenSSL), the same inputs for every builder.
 * Peer figures include process start-up (a few ms; pk12util also opens its database).
 * Last line: `pkcs12 ms install node=<a> jitless=<b> openssl=<c> user-p12 node=<d> jitless=<e> openssl=<f> nss-export=<g>`,
 * followed by ` tb-install=<h> tb-export=<i> tb-user-js=<j>` when Thunderbird ran.
 */
import { execFileSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { createKeysAdapter } from '../src/enroll/adapters/keys';
import { THUNDERBIRD, Thunderbird, createProfile } from '../scripts/harness/thunderbird';
import { buildOneTimePkcs12, DEFAULT_ITERATIONS, encryptPrivateKey, generateKey, importPrivateKeyPem, KEY_TYPES, pemDecodeAll, type KeyType } from '../src/pkcs12/index';

const crypto = webcrypto as unknown as Crypto;
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const JITLESS_RUNS = Number(process.env['BENCH_JITLESS_RUNS'] ?? 1);
const PASSPHRASE = 'bench passphrase';
const CHILD = 'BENCH_PKCS12_CHILD';
const THUNDERBIRD_RUNS = Number(process.env['BENCH_THUNDERBIRD_RUNS'] ?? 5);

const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timed(runs: number, fn: () => unknown): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

interface PathFigures {
  /** Opening the stored key and building the one-time PKCS#12. */
  readonly install: number;
  /** Of which the one-time PKCS#12 alone (the key already open). */
  readonly oneTimeOnly: number;
  /** The user's `.p12` at 600 000, opening the stored key included. */
  readonly userP12: number;
}

/** Measures the add-on's two paths in this process (Node, or Node --jitless). */
async function measurePaths(dir: string, userRuns: number): Promise<PathFigures> {
  const keys = await importPrivateKeyPem(readFileSync(join(dir, 'leaf.key'), 'utf8'), crypto);
  const chainPem = readFileSync(join(dir, 'chain.pem'), 'utf8');
  const encryptedKey = await encryptPrivateKey(keys.privateKey, PASSPHRASE, crypto);
  const adapter = createKeysAdapter({ crypto });
  const certificates = pemDecodeAll(chainPem).map((b) => b.der);
  const install = await timed(RUNS, () => adapter.buildImportPkcs12(encryptedKey, PASSPHRASE, chainPem, 'bench'));
  const oneTimeOnly = await timed(RUNS, () => buildOneTimePkcs12({ privateKey: keys.privateKey, certificates, friendlyName: 'bench' }, crypto));
  const userP12 = await timed(userRuns, () => adapter.buildPkcs12(encryptedKey, PASSPHRASE, chainPem, 'bench'));
  return { install, oneTimeOnly, userP12 };
}

interface ThunderbirdFigures {
  /** Per run: open the stored key + one-time PKCS#12 in Thunderbird's JavaScript, then importPKCS12File. */
  readonly install: number[];
  readonly build: number[];
  readonly import: number[];
  /** Per run: exportPKCS12File of the certificate just imported, under the user's passphrase. */
  readonly export: number[];
  /** isStrongPkcs12 of every export. */
  readonly strong: boolean[];
  /** buildPkcs12 at 600 000 in Thunderbird's JavaScript, once. */
  readonly userJs: number;
  readonly baselineJit: boolean;
}

/** The adapter for Thunderbird's chrome scope: one script, its entry points on globalThis. */
async function adapterBundle(): Promise<string> {
  const entry = `
    import { createKeysAdapter } from './src/enroll/adapters/keys';
    const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const adapter = createKeysAdapter({ crypto: globalThis.crypto });
    globalThis.__benchKeys = {
      buildImportPkcs12: (key, pass, chain, name) => adapter.buildImportPkcs12(bytes(key), pass, chain, name),
      buildPkcs12: (key, pass, chain, name) => adapter.buildPkcs12(bytes(key), pass, chain, name),
      isStrongPkcs12: (p12) => adapter.isStrongPkcs12(p12),
    };`;
  const out = await build({ stdin: { contents: entry, resolveDir: fileURLToPath(new URL('..', import.meta.url)), loader: 'ts' }, bundle: true, format: 'iife', write: false, logLevel: 'warning' });
  return out.outputFiles[0]!.text;
}

/** Runs the install path and both user .p12 paths inside a headless Thunderbird with Debian's prefs. */
async function measureThunderbird(dir: string, runs: number): Promise<ThunderbirdFigures> {
  const inputs: { email: string; key: string; chainPem: string }[] = [];
  for (let i = 0; i < runs; i++) {
    // A fresh key per run: NSS would take a second import of the same key as a duplicate.
    const email = `tb${i}@example.org`;
    run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `tb${i}.key`), '-out', join(dir, `tb${i}.pem`), '-days', '1',
      '-subj', `/CN=${email}`, '-addext', `subjectAltName=email:${email}`]);
    const keys = await importPrivateKeyPem(readFileSync(join(dir, `tb${i}.key`), 'utf8'), crypto);
    const key = Buffer.from(await encryptPrivateKey(keys.privateKey, PASSPHRASE, crypto)).toString('base64');
    inputs.push({ email, key, chainPem: readFileSync(join(dir, `tb${i}.pem`), 'utf8') });
  }
  const xpi = join(dir, 'none.xpi');
  writeFileSync(xpi, Uint8Array.from([0x50, 0x4b, 0x05, 0x06, ...new Array<number>(18).fill(0)])); // an empty zip: no add-on needed here
  const profile = createProfile({ xpiPath: xpi });
  let tb: Thunderbird | undefined;
  try {
    tb = await Thunderbird.start(profile);
    await new Promise((r) => setTimeout(r, 2000)); // let start-up settle
    return await tb.chrome<ThunderbirdFigures>(`${await adapterBundle()}
      const [inputs, passphrase] = arguments;
      const db = Cc['@mozilla.org/security/x509certdb;1'].getService(Ci.nsIX509CertDB);
      const tempFile = () => {
        const file = Services.dirsvc.get('TmpD', Ci.nsIFile);
        file.append('bench.p12');
        file.createUnique(Ci.nsIFile.NORMAL_FILE_TYPE, 0o600);
        return file;
      };
      const figures = { install: [], build: [], import: [], export: [], strong: [], userJs: 0, baselineJit: Services.prefs.getBoolPref('javascript.options.baselinejit') };
      for (const input of inputs) {
        const start = Date.now();
        const { pkcs12, secret } = await globalThis.__benchKeys.buildImportPkcs12(input.key, passphrase, input.chainPem, input.email);
        const built = Date.now();
        const file = tempFile();
        await IOUtils.write(file.path, pkcs12);
        const status = db.importPKCS12File(file, secret);
        file.remove(false);
        if (status !== 0) throw new Error('import failed: ' + status);
        const end = Date.now();
        figures.install.push(end - start);
        figures.build.push(built - start);
        figures.import.push(end - built);
        const cert = db.getCerts().find((c) => c.emailAddress === input.email);
        const out = tempFile();
        const exportStart = Date.now();
        const exported = db.exportPKCS12File(out, [cert], passphrase);
        figures.export.push(Date.now() - exportStart);
        if (exported !== 0) throw new Error('export failed: ' + exported);
        figures.strong.push(globalThis.__benchKeys.isStrongPkcs12(await IOUtils.read(out.path)));
        out.remove(false);
      }
      const userStart = Date.now();
      await globalThis.__benchKeys.buildPkcs12(inputs[0].key, passphrase, inputs[0].chainPem, inputs[0].email);
      figures.userJs = Date.now() - userStart;
      return figures;
    `, [inputs, PASSPHRASE]);
  } finally {
    await tb?.stop();
    profile.remove();
  }
}

const OPENSSL_KEYGEN: Record<KeyType, string[]> = {
  'RSA-2048': ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  'RSA-3072': ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072'],
  'RSA-4096': ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:4096'],
  'P-256': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  'P-384': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
};


async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-pkcs12-'));
  try {
    console.log(`runs per figure: ${RUNS} (median); user .p12 under --jitless: ${JITLESS_RUNS}`);
    for (const type of KEY_TYPES) {
      const ours = await timed(RUNS, () => generateKey(type, crypto));
      const theirs = await timed(RUNS, () => run('openssl', ['genpkey', ...OPENSSL_KEYGEN[type], '-out', join(dir, 'k.pem')]));
      console.log(`keygen ${type.padEnd(8)} ms ours=${ours.toFixed(1)} openssl=${theirs.toFixed(1)}`);
    }

    // Inputs: a root and an RSA-2048 leaf for bench@example.org, made by OpenSSL.
    const p = (name: string): string => join(dir, name);
    run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('root.key'), '-out', p('root.pem'), '-days', '1',
      '-subj', '/CN=Bench Root', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
    run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('leaf.key'), '-out', p('leaf.csr'), '-subj', '/CN=bench@example.org']);
    writeFileSync(p('leaf.ext'), 'subjectAltName=email:bench@example.org\nextendedKeyUsage=emailProtection\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
    run('openssl', ['x509', '-req', '-in', p('leaf.csr'), '-CA', p('root.pem'), '-CAkey', p('root.key'), '-CAcreateserial', '-out', p('leaf.pem'), '-days', '1', '-extfile', p('leaf.ext')]);
    writeFileSync(p('chain.pem'), readFileSync(p('leaf.pem'), 'utf8') + readFileSync(p('root.pem'), 'utf8'));
    // The stored key as OpenSSL would hold it: PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC at 600 000.
    run('openssl', ['pkcs8', '-topk8', '-in', p('leaf.key'), '-out', p('leaf.enc.pem'), '-v2', 'aes-256-cbc', '-v2prf', 'hmacWithSHA256', '-iter', String(DEFAULT_ITERATIONS),
      '-passout', `pass:${PASSPHRASE}`]);

    const node = await measurePaths(dir, RUNS);
    const childOut = execFileSync(process.execPath, ['--jitless', '--import', 'tsx', fileURLToPath(import.meta.url)], {
      encoding: 'utf8', env: { ...process.env, [CHILD]: dir }, stdio: ['ignore', 'pipe', 'ignore'],
    });
    const jitless = JSON.parse(childOut.trim().split('\n').at(-1)!) as PathFigures;

    const opensslExport = (iter: number): number => {
      const start = performance.now();
      run('openssl', ['pkcs12', '-export', '-inkey', p('leaf.enc.pem'), '-passin', `pass:${PASSPHRASE}`, '-in', p('leaf.pem'), '-certfile', p('root.pem'),
        '-out', p('o.p12'), '-passout', `pass:${PASSPHRASE}`, '-iter', String(iter), '-name', 'bench']);
      return performance.now() - start;
    };
    const opensslInstall = await timed(RUNS, () => opensslExport(1));
    const opensslUser = await timed(RUNS, () => opensslExport(DEFAULT_ITERATIONS));

    // NSS: import the one-time file (what Thunderbird does on install), then export as Thunderbird would.
    const db = p('nssdb');
    mkdirSync(db);
    run('certutil', ['-N', '--empty-password', '-d', `sql:${db}`]);
    const keys = await importPrivateKeyPem(readFileSync(p('leaf.key'), 'utf8'), crypto);
    const encryptedKey = await encryptPrivateKey(keys.privateKey, PASSPHRASE, crypto);
    const oneTime = await createKeysAdapter({ crypto }).buildImportPkcs12(encryptedKey, PASSPHRASE, readFileSync(p('chain.pem'), 'utf8'), 'bench');
    writeFileSync(p('one-time.p12'), oneTime.pkcs12);
    const nssImport = await timed(1, () => run('pk12util', ['-i', p('one-time.p12'), '-d', `sql:${db}`, '-W', oneTime.secret, '-K', '']));
    const nssExport = await timed(RUNS, () => run('pk12util', ['-o', p('nss.p12'), '-n', 'bench', '-d', `sql:${db}`, '-W', PASSPHRASE, '-K', '']));

    console.log(`install path (open the stored key: PBKDF2 ${DEFAULT_ITERATIONS} in WebCrypto; one-time PKCS#12 at count 1), RSA-2048 leaf + root:`);
    console.log(`  node ${node.install.toFixed(0)} ms (one-time build alone ${node.oneTimeOnly.toFixed(1)} ms); node --jitless ${jitless.install.toFixed(0)} ms (alone ${jitless.oneTimeOnly.toFixed(1)} ms); openssl pkcs12 -export -iter 1 from the encrypted key ${opensslInstall.toFixed(0)} ms`);
    console.log(`  NSS pk12util -i of the one-time file ${nssImport.toFixed(0)} ms`);
    console.log(`user .p12 at ${DEFAULT_ITERATIONS} (MAC KDF in JavaScript), same inputs:`);
    console.log(`  node ${node.userP12.toFixed(0)} ms; node --jitless ${jitless.userP12.toFixed(0)} ms; openssl pkcs12 -export -iter ${DEFAULT_ITERATIONS} ${opensslUser.toFixed(0)} ms; NSS pk12util -o (Thunderbird's export) ${nssExport.toFixed(0)} ms`);
    let last = `pkcs12 ms install node=${node.install.toFixed(0)} jitless=${jitless.install.toFixed(0)} openssl=${opensslInstall.toFixed(0)} user-p12 node=${node.userP12.toFixed(0)} jitless=${jitless.userP12.toFixed(0)} openssl=${opensslUser.toFixed(0)} nss-export=${nssExport.toFixed(0)}`;
    if (process.env['BENCH_THUNDERBIRD'] !== '0' && existsSync(THUNDERBIRD)) {
      const tb = await measureThunderbird(dir, THUNDERBIRD_RUNS);
      const list = (xs: number[]): string => `median ${median(xs)} ms (${xs.join(', ')})`;
      console.log(`in Thunderbird (headless, baseline JIT ${tb.baselineJit ? 'on' : 'off'}), RSA-2048, ${THUNDERBIRD_RUNS} fresh keys:`);
      console.log(`  install path ${list(tb.install)}: open the key + one-time PKCS#12 ${list(tb.build)}, importPKCS12File ${list(tb.import)}`);
      console.log(`  user .p12: exportPKCS12File ${list(tb.export)} (isStrongPkcs12: ${tb.strong.join(', ')}); buildPkcs12 in Thunderbird's JavaScript ${tb.userJs} ms (once)`);
      last += ` tb-install=${median(tb.install)} tb-export=${median(tb.export)} tb-user-js=${tb.userJs}`;
    }
    console.log(last);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const childDir = process.env[CHILD];
if (childDir === undefined) {
  await main();
} else {
  console.log(JSON.stringify(await measurePaths(childDir, JITLESS_RUNS)));
}
