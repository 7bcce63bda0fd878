/**
 * `acme-email csr --key <key.pem> --email <address> [--email <address> ...] [--usage sign|encrypt|both]
 *  [--non-repudiation] [--key-passphrase-file <file>] --out <req.pem>`:
 * a PKCS #10 request (RFC 2986) for an existing key, through the same src/pkcs12 code the add-on
 * uses. Exit 0 on success, 2 on bad input (the message names the file or address); the output
 * file appears only complete (written to a temp file in the same folder, then renamed).
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs, required, single, UsageError } from './args';
import { createCsr, importPrivateKeyPem, pemEncode } from '../pkcs12/index';
import { USAGES } from '../common/vocabulary';

const crypto = webcrypto as unknown as Crypto;

/** An input the command cannot use: the message is shown as is, exit 2. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

const MAX_INPUT_BYTES = 1 << 20;

/** Reads a small input file, turning every failure into an InputError that names it. */
export function readInput(path: string, what: string): Buffer {
  try {
    if (statSync(path).size > MAX_INPUT_BYTES) throw new InputError(`${what} "${path}" is larger than ${MAX_INPUT_BYTES} bytes`);
    return readFileSync(path);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`cannot read ${what} "${path}" (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
}

/** A passphrase file: its first line without the line ending; empty is an error. */
export function readPassphrase(path: string, what: string): string {
  const passphrase = readInput(path, what).toString('utf8').split(/\r?\n/)[0] ?? '';
  if (passphrase === '') throw new InputError(`${what} "${path}" is empty; an empty passphrase protects nothing`);
  return passphrase;
}

/** Writes `data` to `path` via a temp file in the same folder and a rename, so no partial file is ever seen. */
export function writeFileAtomically(path: string, data: Uint8Array | string, mode = 0o644): void {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(temp, data, { mode, flag: 'wx' });
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new InputError(`cannot write "${path}" (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
}

/** Runs `body`, printing the typed errors of src/pkcs12 and InputError as one clear line, exit 2. */
export async function reportingErrors(command: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof UsageError) throw error; // main prints usage errors itself
    const known = ['InputError', 'InvalidMailboxError', 'KeyError', 'CertificateError', 'WrongPassphraseError', 'PassphrasePolicyError', 'Pkcs12FormatError', 'PemError'];
    if (error instanceof Error && known.includes(error.name)) {
      process.stderr.write(`acme-email ${command}: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

export function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args, ['key', 'email', 'usage', 'out', 'key-passphrase-file'], ['non-repudiation']);
  if (parsed.positional.length > 0) throw new UsageError(`unexpected argument "${parsed.positional[0]!}"`);
  const keyPath = required(parsed, 'key');
  const out = required(parsed, 'out');
  const emails = parsed.options.get('email') ?? [];
  if (emails.length === 0) throw new UsageError('--email is required (give it once per address)');
  const usageText = single(parsed, 'usage') ?? 'both';
  const usage = USAGES.find((u) => u === usageText);
  if (usage === undefined) throw new UsageError('--usage is sign, encrypt or both');
  const passFile = single(parsed, 'key-passphrase-file');
  return reportingErrors('csr', async () => {
    const keyText = readInput(keyPath, 'key file').toString('utf8');
    const keys = await importPrivateKeyPem(keyText, crypto, passFile === undefined ? {} : { passphrase: readPassphrase(passFile, 'key passphrase file') });
    const csr = await createCsr({ keys, emails, usage, nonRepudiation: parsed.flags.has('non-repudiation') }, crypto);
    writeFileAtomically(out, pemEncode('CERTIFICATE REQUEST', csr));
    return 0;
  });
}
