/**
 * Revocation (RFC 8555 §7.6), either signed by the ACME account that ordered the certificate, or
 * by the certificate's own key, taken out of a `.p12` the user picked (a lost account key, or a
 * certificate this add-on did not install, does not stop it). A certificate record is written
 * under its certificate lock.
 */
import { pemEncode } from '../../common/encoding';
import { EnrollRequestError } from '../errors';
import type { Flow } from '../flow';
import { LOCK } from '../lock';
import { PortError, type RevocationReason } from '../ports';
import type { CertificateRecord } from '../state';
import { listCertificates, loadCertificate, saveCertificate } from '../store';

/**
 * Revokes the certificate with the CA (account key), unsets it on the identity, and records the
 * revocation; a certificate shared by several identities is unset on each of them.
 */
export async function revoke(flow: Flow, identityId: string, reason: RevocationReason): Promise<CertificateRecord> {
  const revoked = await flow.locks.run(LOCK.certificate(identityId), async () => {
    const { storage, acme, keys, certStore } = flow.deps;
    const record = await loadCertificate(storage, identityId);
    if (!record) throw new EnrollRequestError('noCertificate', 'This identity has no certificate from this add-on.');
    await acme.revoke(record.directoryUrl, keys.leafDer(record.chainPem), reason);
    await certStore.clearIdentityCertificates(identityId, record.dbKey);
    const done: CertificateRecord = { ...record, revoked: { at: flow.now(), reason } };
    await saveCertificate(storage, done);
    return done;
  });
  await revokedElsewhere(flow, revoked);
  return revoked;
}

/** The same certificate on the other identities it covers: unset there and recorded as revoked too. */
async function revokedElsewhere(flow: Flow, revoked: CertificateRecord): Promise<void> {
  const { storage, certStore } = flow.deps;
  const others = (await listCertificates(storage)).filter((r) => r.identityId !== revoked.identityId && r.sha256Fingerprint === revoked.sha256Fingerprint && r.revoked === undefined);
  for (const other of others) {
    await flow.locks.run(LOCK.certificate(other.identityId), async () => {
      const current = await loadCertificate(storage, other.identityId);
      if (current?.sha256Fingerprint !== revoked.sha256Fingerprint || current.revoked !== undefined) return;
      await certStore.clearIdentityCertificates(current.identityId, current.dbKey);
      await saveCertificate(storage, { ...current, revoked: revoked.revoked! });
    });
  }
}

/** What a revocation by certificate key revoked: the addresses, and the identity's record when it was one of ours. */
export interface RevokedByKey {
  readonly emails: readonly string[];
  readonly sha256Fingerprint: string;
  readonly record?: CertificateRecord;
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
    const summary = await keys.inspect(pemEncode('CERTIFICATE', opened.certificateDer));
    const ours = (await listCertificates(storage)).find((r) => r.sha256Fingerprint === summary.sha256Fingerprint && r.revoked === undefined);
    const directoryUrl = ours?.directoryUrl ?? (await flow.deps.settings()).directoryUrl;
    if (directoryUrl === '') throw new EnrollRequestError('noDirectory', 'No certificate authority is configured.');
    const result = { emails: summary.emails, sha256Fingerprint: summary.sha256Fingerprint };
    if (!ours) {
      await acme.revokeWithCertificateKey(directoryUrl, opened.certificateDer, opened.pkcs8, reason);
      return result;
    }
    const outcome: RevokedByKey = await flow.locks.run(LOCK.certificate(ours.identityId), async () => {
      await acme.revokeWithCertificateKey(directoryUrl, opened.certificateDer, opened.pkcs8, reason);
      const current = await loadCertificate(storage, ours.identityId);
      // Replaced meanwhile (a renewal installed): the identity keeps its new certificate.
      if (current?.sha256Fingerprint !== summary.sha256Fingerprint) return result;
      await certStore.clearIdentityCertificates(current.identityId, current.dbKey);
      const revoked: CertificateRecord = { ...current, revoked: { at: flow.now(), reason } };
      await saveCertificate(storage, revoked);
      return { ...result, record: revoked };
    });
    if (outcome.record) await revokedElsewhere(flow, outcome.record);
    return outcome;
  } finally {
    opened.pkcs8.fill(0);
  }
}
