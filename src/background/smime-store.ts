/**
 * Typed wrapper of the certificate-store Experiment (experiments/smimeStore/schema.json):
 * the generated types know nothing of it, and `any` is not allowed in src/.
 */

export interface SmimeStoreApi {
  importPkcs12(pkcs12Base64: string, passphrase: string, email: string, sha256Fingerprint: string): Promise<{ dbKey: string; name: string; email: string }>;
  setIdentityCertificates(identityId: string, dbKey: string, certName: string, forSigning: boolean, forEncryption: boolean): Promise<void>;
  clearIdentityCertificates(identityId: string, dbKey: string): Promise<void>;
  getIdentityCertificates(identityId: string): Promise<{ signingDbKey: string | null; encryptionDbKey: string | null; signMail: boolean; encryptionPolicy: number }>;
  verifyCertificate(dbKey: string): Promise<{ signing: RawVerification; encryption: RawVerification }>;
  findIssuerCandidates(derBase64: string): Promise<RawCertificate[]>;
  addCaCertificates(derBase64List: string[]): Promise<void>;
  trustRootForEmail(derBase64: string, sha256Fingerprint: string): Promise<void>;
  setIdentitySendDefaults(identityId: string, signMail: boolean, encryptionPolicy: number): Promise<void>;
  /** base64url of Thunderbird's PKCS#12 export of the certificate (and its key) under the passphrase. */
  exportPkcs12(dbKey: string, passphrase: string): Promise<string>;
}

/** A certificate as the Experiment describes it (DER in base64). */
export interface RawCertificate {
  readonly subject: string;
  readonly issuer: string;
  readonly sha256Fingerprint: string;
  readonly der: string;
  readonly builtInRoot: boolean;
}

export interface RawVerification {
  readonly ok: boolean;
  readonly errorCode: number;
  readonly errorName: string;
  readonly errorMessage: string;
  readonly chain: RawCertificate[];
}

export function smimeStore(): SmimeStoreApi {
  const api = (messenger as unknown as { smimeStore?: SmimeStoreApi }).smimeStore;
  if (!api) throw new Error('the smimeStore Experiment is not available');
  return api;
}
