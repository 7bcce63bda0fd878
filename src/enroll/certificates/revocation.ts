/**
 * Revocation (RFC 8555 §7.6), either signed by the ACME account that ordered the certificate, or
 * by the certificate's own key, taken out of a `.p12` the user picked (a lost account key, or a
 * certificate this add-on did not install, does not stop it). A certificate record is written
 * under its certificate lock.
 */
import { base64Encode as bytesToBase64 } from '../../common/encoding';
import { EnrollRequestError } from '../errors';
import type { Flow } from '../flow';
import { LOCK } from '../lock';
import { PortError, type RevocationReason } from '../ports';
import type { CertificateRecord } from '../state';
import { listCertificates, loadCertificate, saveCertificate } from '../store';

/** Revokes the certificate with the CA (account key), unsets it on the identity, and records the revocation. */
export function revoke(flow: Flow, identityId: string, reason: RevocationReason): Promise<CertificateRecord> {
  return flow.locks.run(LOCK.certificate(identityId), async () => {
    const { storage, acme, keys, certStore } = flow.deps;
    const record = await loadCertificate(storage, identityId);
    if (!record) throw new EnrollRequestError('noCertificate', 'This identity has no certificate from this add-on.');
    await acme.revoke(record.directoryUrl, keys.leafDer(record.chainPem), reason);
    await certStore.clearIdentityCertificates(identityId, record.dbKey);
    const revoked: CertificateRecord = { ...record, revoked: { at: flow.now(), reason } };
    await saveCertificate(storage, revoked);
    return revoked;
  });
}

/** What a revocation by certificate key revoked: the addresses, and the identity's record when it was one of ours. */
export interface RevokedByKey {
  readonly emails: readonly string[];
  readonly sha256Fingerprint: string;
  readonly record?: CertificateRecord;
}

function pemOf(der: Uint8Array): string {
  const base64 = bytesToBase64(der);
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/**
 * Revokes the certificate of a `.p12` with the key in it (JWS signed with that key, `jwk` in the
 * header: the CA checks that it is the certificate's key). Sent to the CA that issued it when an
 * identity's record names it, else to the configured one. The clear key is wiped after use.
 */
export async function revokeWithCertificateKey(flow: Flow, pkcs12: Uint8Array, passphrase: string, reason: RevocationReason): Promise<RevokedByKey> {
  const { keys, acme, storage, certStore } = flow.deps;
  let opened: { readonly certificateDer: Uint8Array; readonly pkcs8: Uint8Array };
  try {
    opened = await keys.openPkcs12(pkcs12, passphrase);
  } catch (error) {
    if (error instanceof PortError && error.kind === 'wrongPassphrase') throw new EnrollRequestError('wrongPassphrase', 'The passphrase does not open this file.', { cause: error });
    throw error;
  }
  try {
    const summary = await keys.inspect(pemOf(opened.certificateDer));
    const ours = (await listCertificates(storage)).find((r) => r.sha256Fingerprint === summary.sha256Fingerprint && r.revoked === undefined);
    const directoryUrl = ours?.directoryUrl ?? (await flow.deps.settings()).directoryUrl;
    if (directoryUrl === '') throw new EnrollRequestError('noDirectory', 'No certificate authority is configured.');
    const result = { emails: summary.emails, sha256Fingerprint: summary.sha256Fingerprint };
    if (!ours) {
      await acme.revokeWithCertificateKey(directoryUrl, opened.certificateDer, opened.pkcs8, reason);
      return result;
    }
    return await flow.locks.run(LOCK.certificate(ours.identityId), async () => {
      await acme.revokeWithCertificateKey(directoryUrl, opened.certificateDer, opened.pkcs8, reason);
      const current = await loadCertificate(storage, ours.identityId);
      // Replaced meanwhile (a renewal installed): the identity keeps its new certificate.
      if (current?.sha256Fingerprint !== summary.sha256Fingerprint) return result;
      await certStore.clearIdentityCertificates(current.identityId, current.dbKey);
      const revoked: CertificateRecord = { ...current, revoked: { at: flow.now(), reason } };
      await saveCertificate(storage, revoked);
      return { ...result, record: revoked };
    });
  } finally {
    opened.pkcs8.fill(0);
  }
}
