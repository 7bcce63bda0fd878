/**
 * Where the command line puts a certificate: `<out>/<address>.p12` (key and chain, under the
 * passphrase), `<out>/<address>.pass` (that passphrase, 0600, when the command generated it) and
 * `<out>/<address>.chain.pem` (the certificates alone). Never a clear key. Each file appears
 * only complete (temp file and rename).
 *
 * There is no certificate database to install into: the "store" records nothing, and the
 * PKCS#12 the flow offers for download is the one written — the same file the add-on offers.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type {
  CertStorePort,
  CertificateVerification,
  DownloadPort,
  InstalledCertificate,
  StoreCertificate,
  Usage,
} from '../../enroll/ports';
import { writeAtomically } from './storage';

export interface OutputPaths {
  readonly p12: string;
  readonly passphrase: string;
  readonly chain: string;
}

export function outputPaths(outDir: string, email: string): OutputPaths {
  const base = join(outDir, email.toLowerCase());
  return { p12: `${base}.p12`, passphrase: `${base}.pass`, chain: `${base}.chain.pem` };
}

export function ensureOutDir(outDir: string): void {
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
}

/** No store: nothing is installed anywhere but in files. */
export class NoCertStore implements CertStorePort {
  importPkcs12(_pkcs12: Uint8Array, _passphrase: string, email: string, sha256Fingerprint: string): Promise<InstalledCertificate> {
    return Promise.resolve({ dbKey: sha256Fingerprint, name: email });
  }
  setIdentityCertificates(_identityId: string, _cert: InstalledCertificate, _usage: Usage): Promise<void> {
    return Promise.resolve();
  }
  clearIdentityCertificates(_identityId: string, _dbKey: string): Promise<void> {
    return Promise.resolve();
  }
  /** Whether a mail program trusts the issuing root is that program's matter: nothing here stops the files' use. */
  verifyCertificate(_dbKey: string): Promise<CertificateVerification> {
    const ok = { ok: true, errorCode: 0, errorName: '', errorMessage: '', chain: [] };
    return Promise.resolve({ signing: ok, encryption: ok });
  }
  findIssuerCandidates(_der: Uint8Array): Promise<StoreCertificate[]> {
    return Promise.resolve([]);
  }
  addIntermediates(_ders: readonly Uint8Array[]): Promise<void> {
    return Promise.resolve();
  }
  trustRootForEmail(_der: Uint8Array, _sha256Fingerprint: string): Promise<void> {
    return Promise.resolve();
  }
  setSendDefaults(_identityId: string, _signMail: boolean, _encrypt: boolean): Promise<void> {
    return Promise.resolve();
  }
  /** No store to export from: the flow builds the .p12 itself (600 000 iterations) and offers it to FileDownloads. */
  exportPkcs12(_dbKey: string, _passphrase: string): Promise<Uint8Array> {
    return Promise.reject(new Error('no certificate store to export from'));
  }
}

/**
 * The flow's "offer the .p12 for download": written to the output folder, with the generated
 * passphrase beside it. A failure is kept (the flow goes on after a refused download, as the
 * add-on's does) and the command reports it and exits non-zero.
 */
export class FileDownloads implements DownloadPort {
  readonly written = new Map<string, OutputPaths>();
  readonly failures = new Map<string, Error>();

  constructor(
    private readonly outDir: string,
    /** The passphrase to write beside the file, when the command generated it (per address). */
    private readonly generatedPassphrase: (email: string) => string | undefined,
  ) {}

  offer(filename: string, bytes: Uint8Array): Promise<void> {
    const email = filename.replace(/\.p12$/i, '').toLowerCase();
    const paths = outputPaths(this.outDir, email);
    try {
      ensureOutDir(this.outDir);
      const passphrase = this.generatedPassphrase(email);
      // The passphrase first: a .p12 never exists without the means to open it.
      if (passphrase !== undefined) writeAtomically(paths.passphrase, `${passphrase}\n`, 0o600);
      writeAtomically(paths.p12, bytes, 0o600);
      this.written.set(email, paths);
      return Promise.resolve();
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.failures.set(email, failure);
      return Promise.reject(failure);
    }
  }
}
