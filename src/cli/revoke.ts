/**
 * `acme-email revoke --server <url> --cert <chain.pem> (--key <key.pem> | --p12 <file.p12>
 *  --passphrase-file <file> | --account) [--reason N]`: RFC 8555 §7.6 revocation, signed by the
 * certificate's own key (a lost or compromised account does not stop it) or by the account that
 * ordered it (its key in the state folder). The state folder's record of the certificate, if any,
 * is marked revoked so `renew` leaves it alone.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, required, single, UsageError } from './args';
import { AcmeClient, signingKeyFromPair } from '../acme/index';
import { createAcmeAdapter, toPortError } from '../enroll/adapters/acme';
import { REVOCATION_REASONS, REVOCATION_REASON_CODES, isRevocationReason, type RevocationReason } from '../common/vocabulary';
import { CERTIFICATE_PREFIX, type CertificateRecord } from '../enroll/state';
import { certificateDer, importPrivateKeyPem, inspectCertificate, keyMatchesCertificate, parsePkcs12 } from '../pkcs12/index';
import { exitForError } from './cert';
import { FileAccountStore } from './node/accounts';
import { fetchTrusting } from './node/fetch';
import { acquireLock } from './node/lock';
import { FileStorage, ensureStateDir } from './node/storage';
import { EXIT, crypto, readSecret, readSmallFile } from './run';
import { defaultStateDir } from './terminal';

/** `--reason N`: an RFC 5280 §5.3.1 code among those offered (the shared vocabulary's); unspecified (0) when not given. */
function reasonOf(text: string | undefined): RevocationReason {
  if (text === undefined) return REVOCATION_REASONS.unspecified;
  const value = /^[0-9]$/.test(text) ? Number(text) : undefined;
  if (!isRevocationReason(value)) throw new UsageError(`--reason is one of ${REVOCATION_REASON_CODES.join(', ')} (RFC 5280 §5.3.1)`);
  return value;
}

/** The certificate key as an ACME signing key, checked to be the certificate's. */
async function certificateKey(keyPath: string | undefined, p12Path: string | undefined, passFile: string | undefined, der: Uint8Array): Promise<CryptoKeyPair> {
  let pair: CryptoKeyPair;
  if (keyPath !== undefined) {
    pair = await importPrivateKeyPem(readSmallFile(keyPath, 'key file'), crypto, passFile === undefined ? {} : { passphrase: readSecret(passFile, 'passphrase file') });
  } else {
    if (passFile === undefined) throw new UsageError('--p12 needs --passphrase-file');
    const parsed = await parsePkcs12(readFileSync(p12Path!), readSecret(passFile, 'passphrase file'), crypto);
    pair = { privateKey: parsed.privateKey, publicKey: parsed.publicKey };
  }
  if (!(await keyMatchesCertificate(pair.privateKey, der, crypto))) throw new UsageError('the key is not the key of --cert');
  return pair;
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args, ['server', 'cert', 'key', 'p12', 'passphrase-file', 'reason', 'trust', 'state-dir'], ['account', 'json']);
  if (parsed.positional.length > 0) throw new UsageError(`unexpected argument "${parsed.positional[0]!}"`);
  const server = required(parsed, 'server');
  if (!server.startsWith('https://')) throw new UsageError('--server must be an https URL (RFC 8555 §6.1)');
  const certPath = required(parsed, 'cert');
  const keyPath = single(parsed, 'key');
  const p12Path = single(parsed, 'p12');
  const byAccount = parsed.flags.has('account');
  if ([keyPath !== undefined, p12Path !== undefined, byAccount].filter(Boolean).length !== 1) throw new UsageError('give exactly one of --key, --p12 (with --passphrase-file) and --account');
  const reason = reasonOf(single(parsed, 'reason'));
  const passFile = single(parsed, 'passphrase-file');
  const stateDir = resolve(single(parsed, 'state-dir') ?? defaultStateDir());
  let release: (() => void) | undefined;
  try {
    const fetch = fetchTrusting((parsed.options.get('trust') ?? []).map((p) => readSmallFile(p, 'trust root')));
    const der = certificateDer(readSmallFile(certPath, 'certificate file'));
    const summary = await inspectCertificate(der, crypto);
    if (byAccount) {
      ensureStateDir(stateDir);
      release = acquireLock(stateDir);
      const accounts = new FileAccountStore(stateDir, crypto);
      if (!accounts.has(server)) throw new UsageError(`no account key for ${server} in "${stateDir}": revoke with --key or --p12 instead`);
      await createAcmeAdapter({ fetch, crypto, accounts }).revoke(server, der, reason);
    } else {
      const key = await signingKeyFromPair(await certificateKey(keyPath, p12Path, passFile, der), crypto);
      try {
        await new AcmeClient({ directoryUrl: server, fetch, crypto, accountKey: key }).revoke(der, reason, { by: 'certificateKey', key });
      } catch (error) {
        throw toPortError(error);
      }
    }
    process.stderr.write(`revoked: ${summary.addresses.map((a) => a.display).join(', ')} (serial ${summary.serialNumber}, reason ${reason})\n`);
    if (parsed.flags.has('json')) process.stdout.write(`${JSON.stringify({ revoked: { serialNumber: summary.serialNumber, sha256Fingerprint: summary.sha256Fingerprint, reason } })}\n`);
    await markRevoked(stateDir, summary.sha256Fingerprint, reason, release !== undefined);
    return EXIT.ok;
  } catch (error) {
    return exitForError('revoke', error);
  } finally {
    release?.();
  }
}

/** The state folder's record of this certificate, if there is one, is marked revoked (renew skips it). */
async function markRevoked(stateDir: string, sha256Fingerprint: string, reason: RevocationReason, locked: boolean): Promise<void> {
  if (!existsSync(join(stateDir, 'state.json'))) return;
  let release: (() => void) | undefined;
  try {
    release = locked ? undefined : acquireLock(stateDir);
    const storage = new FileStorage(stateDir);
    const all = await storage.getAll();
    for (const [key, value] of Object.entries(all)) {
      const record = value as CertificateRecord;
      if (key.startsWith(CERTIFICATE_PREFIX) && record.sha256Fingerprint === sha256Fingerprint && !record.revoked) {
        await storage.set({ [key]: { ...record, revoked: { at: Date.now(), reason } } });
      }
    }
  } catch {
    // No state folder (revoked from another machine) or it is busy: the revocation itself stands.
  } finally {
    release?.();
  }
}
