/**
 * Typed wrapper of the certificate-store Experiment (experiments/smimeStore/schema.json):
 * the generated types know nothing of it, and `any` is not allowed in src/.
 */

export interface SmimeStoreApi {
  importPkcs12(pkcs12Base64: string, passphrase: string, email: string, sha256Fingerprint: string): Promise<{ dbKey: string; name: string; email: string }>;
  setIdentityCertificates(identityId: string, dbKey: string, certName: string, forSigning: boolean, forEncryption: boolean): Promise<void>;
  clearIdentityCertificates(identityId: string, dbKey: string): Promise<void>;
  getIdentityCertificates(identityId: string): Promise<{ signingDbKey: string | null; encryptionDbKey: string | null }>;
}

export function smimeStore(): SmimeStoreApi {
  const api = (messenger as unknown as { smimeStore?: SmimeStoreApi }).smimeStore;
  if (!api) throw new Error('the smimeStore Experiment is not available');
  return api;
}
