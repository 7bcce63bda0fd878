/** Revocation of the identity's certificate (RFC 8555 §7.6), under its certificate lock. */
import { EnrollRequestError } from '../errors';
import type { Flow } from '../flow';
import { LOCK } from '../lock';
import type { RevocationReason } from '../ports';
import type { CertificateRecord } from '../state';
import { loadCertificate, saveCertificate } from '../store';

/** Revokes the certificate with the CA, unsets it on the identity, and records the revocation. */
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
