/**
 * Checks from outside Thunderbird, with independent tools: the profile's NSS database
 * (`certutil`), its prefs.js, a downloaded PKCS#12 (`openssl pkcs12`), a certificate's fields
 * (`openssl x509`). Run them after `Thunderbird.stop()` so every file is flushed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function run(cmd: string, args: readonly string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input === undefined ? {} : { input }) });
}

export interface NssCert {
  readonly nickname: string;
  /** certutil's trust string, e.g. `u,u,u` for a user certificate with its key, `C,,` for a trusted CA. */
  readonly trust: string;
}

/** `certutil -L -d sql:<profile>`: the certificates in the profile's database. */
export function nssCertificates(profileDir: string): NssCert[] {
  const out = run('certutil', ['-L', '-d', `sql:${profileDir}`]);
  const certs: NssCert[] = [];
  for (const line of out.split('\n')) {
    const m = /^(.*\S)\s+([CcTtPpuw,]*,[CcTtPpuw,]*,[CcTtPpuw]*)\s*$/.exec(line);
    if (m && !line.startsWith('Certificate Nickname')) certs.push({ nickname: m[1]!, trust: m[2]! });
  }
  return certs;
}

/** `certutil -L -n <nickname> -a`: one certificate as PEM. */
export function nssCertificatePem(profileDir: string, nickname: string): string {
  return run('certutil', ['-L', '-d', `sql:${profileDir}`, '-n', nickname, '-a']);
}

export interface NssKey {
  readonly type: string;
  readonly nickname: string;
}

/** `certutil -K -d sql:<profile>`: the private keys (the database has an empty password). */
export function nssKeys(profileDir: string): NssKey[] {
  const pwfile = join(profileDir, '.e2e-empty-password');
  writeFileSync(pwfile, '\n');
  const out = run('certutil', ['-K', '-d', `sql:${profileDir}`, '-f', pwfile]);
  const keys: NssKey[] = [];
  for (const line of out.split('\n')) {
    const m = /^<\s*\d+>\s+(\w+)\s+[0-9a-f]+\s+(.*)$/i.exec(line.trim());
    if (m) keys.push({ type: m[1]!, nickname: m[2]!.trim() });
  }
  return keys;
}

/** The `user_pref` lines of `<profile>/prefs.js` (written by Thunderbird on quit). */
export function readPrefs(profileDir: string): Map<string, string | number | boolean> {
  const prefs = new Map<string, string | number | boolean>();
  const text = readFileSync(join(profileDir, 'prefs.js'), 'utf8');
  for (const m of text.matchAll(/^user_pref\("((?:[^"\\]|\\.)*)",\s*(.*)\);$/gm)) {
    const name = JSON.parse(`"${m[1]!}"`) as string;
    prefs.set(name, JSON.parse(m[2]!) as string | number | boolean);
  }
  return prefs;
}

export interface Pkcs12Contents {
  readonly certificatesPem: string[];
  readonly privateKeyPem: string;
}

/** Opens a `.p12` with OpenSSL and its passphrase; throws if the passphrase or file is wrong. */
export function openPkcs12(path: string, passphrase: string): Pkcs12Contents {
  const pem = run('openssl', ['pkcs12', '-in', path, '-passin', 'stdin', '-nodes'], `${passphrase}\n`);
  return {
    certificatesPem: [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => m[0]),
    privateKeyPem: /-----BEGIN (?:ENCRYPTED |RSA |EC )?PRIVATE KEY-----[\s\S]*?-----END (?:ENCRYPTED |RSA |EC )?PRIVATE KEY-----/.exec(pem)?.[0] ?? '',
  };
}

export interface CertSummary {
  readonly subject: string;
  readonly emails: string[];
  readonly extendedKeyUsage: string;
  readonly keyUsage: string;
  readonly publicKey: string;
  readonly sha256: string;
  readonly notAfter: Date;
}

/** The fields a test asserts on, read by `openssl x509`. */
export function certSummary(pem: string): CertSummary {
  const text = run('openssl', ['x509', '-noout', '-text', '-fingerprint', '-sha256', '-nameopt', 'RFC2253'], pem);
  const after = (label: string): string => {
    const i = text.indexOf(label);
    return i < 0 ? '' : (text.slice(i + label.length).split('\n')[1] ?? '').trim();
  };
  return {
    subject: /Subject: (.*)/.exec(text)?.[1]?.trim() ?? '',
    emails: [...text.matchAll(/email:([^,\s]+)/g)].map((m) => m[1]!),
    extendedKeyUsage: after('X509v3 Extended Key Usage:'),
    keyUsage: after('X509v3 Key Usage:'),
    publicKey: /Public Key Algorithm: (.*)/.exec(text)?.[1]?.trim() ?? '',
    sha256: /sha256 Fingerprint=([0-9A-F:]+)/i.exec(text)?.[1] ?? '',
    notAfter: new Date(/Not After : (.*)/.exec(text)?.[1]?.trim() ?? ''),
  };
}

/** The public key of a private key (PEM), to match a key to its certificate. */
export function publicKeyOfPrivate(privateKeyPem: string): string {
  return run('openssl', ['pkey', '-pubout'], privateKeyPem);
}

export function publicKeyOfCert(certPem: string): string {
  return run('openssl', ['x509', '-noout', '-pubkey'], certPem);
}

/** Files in a folder (for the download folder). */
export function filesIn(dir: string): string[] {
  return readdirSync(dir);
}

/** OpenSSL refused an S/MIME message; carries its own words. */
export class OpenSslCmsError extends Error {
  override readonly name = 'OpenSslCmsError';
}

function cms(args: readonly string[], input: string, keys: Readonly<Record<string, string>> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ocs-cms-'));
  try {
    const files = Object.fromEntries(Object.entries(keys).map(([name, pem]) => {
      const path = join(dir, name);
      writeFileSync(path, pem, { mode: 0o600 });
      return [name, path];
    }));
    const resolved = args.map((a) => files[a] ?? a);
    return execFileSync('openssl', ['cms', ...resolved], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new OpenSslCmsError(`openssl cms ${args[0] ?? ''} refused the message: ${stderr.trim() || String(error)}`, { cause: error });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `openssl cms -verify` of an S/MIME signed message (multipart/signed or opaque) against one
 * trusted root (`-CAfile`), with the S/MIME signing purpose; intermediates must come with the
 * message. Returns the signed content; throws `OpenSslCmsError` if OpenSSL refuses it.
 */
export function cmsVerify(mime: string, rootPem: string): string {
  return cms(['-verify', '-CAfile', 'root.pem', '-purpose', 'smimesign'], mime, { 'root.pem': rootPem });
}

/** `openssl cms -decrypt` of an S/MIME enveloped message with a recipient's key and certificate; returns the inner MIME entity. */
export function cmsDecrypt(mime: string, certificatePem: string, privateKeyPem: string): string {
  return cms(['-decrypt', '-recip', 'cert.pem', '-inkey', 'key.pem'], mime, { 'cert.pem': certificatePem, 'key.pem': privateKeyPem });
}

/** The `Content-Type` of a MIME entity's top-level header, lower-cased, without parameters. */
export function contentType(mime: string): string {
  const header = mime.split(/\r?\n\r?\n/, 1)[0] ?? '';
  return /^content-type:\s*([^;\s]+)/im.exec(header)?.[1]?.toLowerCase() ?? '';
}

/**
 * The decoded body of a single-part MIME entity (what `cmsVerify` returns): its
 * Content-Transfer-Encoding (base64, quoted-printable, 7bit/8bit) undone, as UTF-8 text.
 */
export function mimeText(entity: string): string {
  const split = /\r?\n\r?\n/.exec(entity);
  const header = split ? entity.slice(0, split.index) : entity;
  const body = split ? entity.slice(split.index + split[0].length) : '';
  const encoding = /^content-transfer-encoding:\s*(\S+)/im.exec(header)?.[1]?.toLowerCase() ?? '7bit';
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}
