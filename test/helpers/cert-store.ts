/**
 * The certificate-store methods that say whether Thunderbird can use a certificate, for fakes of
 * CertStorePort: by default a store whose NSS trusts the issuing root for e-mail (every
 * certificate verifies), as a CA in Mozilla's store with the e-mail bit would be.
 */
import type { CertificateVerification, CertStorePort, StoreCertificate } from '../../src/enroll/ports';

export const VERIFIES: CertificateVerification = {
  signing: { ok: true, errorCode: 0, errorName: '', errorMessage: '', chain: [] },
  encryption: { ok: true, errorCode: 0, errorName: '', errorMessage: '', chain: [] },
};

export const UNKNOWN_ISSUER: CertificateVerification = {
  signing: { ok: false, errorCode: -8179, errorName: 'SEC_ERROR_UNKNOWN_ISSUER', errorMessage: '', chain: [] },
  encryption: { ok: false, errorCode: -8179, errorName: 'SEC_ERROR_UNKNOWN_ISSUER', errorMessage: '', chain: [] },
};

type UsabilityMethods = Pick<CertStorePort, 'verifyCertificate' | 'findIssuerCandidates' | 'addIntermediates' | 'trustRootForEmail' | 'setSendDefaults' | 'exportPkcs12'>;

/** The five methods, answering `verification()` and recording the send defaults set. */
export function usabilityMethods(verification: () => CertificateVerification = () => VERIFIES, sendDefaults: [string, boolean, boolean][] = []): UsabilityMethods {
  return {
    verifyCertificate: () => Promise.resolve(verification()),
    findIssuerCandidates: (): Promise<StoreCertificate[]> => Promise.resolve([]),
    addIntermediates: () => Promise.resolve(),
    trustRootForEmail: () => Promise.resolve(),
    setSendDefaults: (identityId, signMail, encrypt) => {
      sendDefaults.push([identityId, signMail, encrypt]);
      return Promise.resolve();
    },
    // Thunderbird's export is not available here: the flow falls back to building its own .p12.
    exportPkcs12: () => Promise.reject(new Error('no export in this fake store')),
  };
}
