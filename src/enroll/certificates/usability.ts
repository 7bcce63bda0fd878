/**
 * The identity's certificate, usable or not: checked after every install (first issuance and
 * renewal), and the user's decisions about it — trusting the issuing root for e-mail, declining
 * that, and whether Thunderbird signs and encrypts by default. Every write of the certificate
 * record runs under the identity's certificate lock.
 *
 * The rules are in ../usability.ts (pure, and the root search); this file applies them.
 */
import { EnrollRequestError } from '../errors';
import type { Flow } from '../flow';
import { LOCK } from '../lock';
import type { Usage } from '../ports';
import type { CertificateRecord } from '../state';
import { listCertificates, loadCertificate, saveCertificate } from '../store';
import { assessAfterInstall, checkUsability, declined, trustRootWithConsent, UsabilityError, type Usability, type UsabilityDeps } from '../usability';

function usabilityDeps(flow: Flow): UsabilityDeps {
  const { certStore, clock, log } = flow.deps;
  return {
    certStore,
    clock,
    log,
    crypto: flow.deps.crypto ?? globalThis.crypto,
    fetchIssuer: flow.deps.fetchIssuer ?? (async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer())),
  };
}

/** Sign by default only a certificate made for signing; encrypt only one made for encryption. */
function sendDefaultsFor(usage: Usage, sign: boolean, encrypt: boolean): { signMail: boolean; encrypt: boolean } {
  return { signMail: sign && usage !== 'encrypt', encrypt: encrypt && usage !== 'sign' };
}

/** Once the certificate verifies, the identity's defaults from the options (an administrator may preset them). */
async function applySendDefaults(flow: Flow, record: CertificateRecord, usability: Usability): Promise<CertificateRecord> {
  if (usability.verdict !== 'ready') return { ...record, usability };
  const settings = await flow.deps.settings();
  const defaults = sendDefaultsFor(record.usage, settings.signByDefault, settings.encryptByDefault);
  await flow.deps.certStore.setSendDefaults(record.identityId, defaults.signMail, defaults.encrypt);
  return { ...record, usability, sendDefaults: defaults };
}

/**
 * Right after an install (caller holds the certificate lock): intermediates imported, NSS asked,
 * a pre-approved root trusted, the defaults applied when usable. A failure of the check itself is
 * kept as verdict `unknown` with the reason: the certificate is installed, and the popup says
 * that Thunderbird's verdict could not be had rather than claiming success.
 */
export async function assessInstalled(flow: Flow, record: CertificateRecord): Promise<CertificateRecord> {
  const deps = usabilityDeps(flow);
  const settings = await flow.deps.settings();
  let usability: Usability;
  try {
    usability = await assessAfterInstall(deps, { dbKey: record.dbKey, chainPem: record.chainPem, usage: record.usage }, { trustedMailRoots: settings.trustedMailRoots });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    flow.deps.log.debug(`usability check failed: ${message}`);
    const failed = { ok: false, errorName: message, errorCode: 0 };
    usability = { verdict: 'unknown', checkedAt: flow.now(), signing: failed, encryption: failed };
  }
  return applySendDefaults(flow, record, usability);
}

function withRecord(flow: Flow, identityId: string, fn: (record: CertificateRecord) => Promise<CertificateRecord>): Promise<CertificateRecord> {
  return flow.locks.run(LOCK.certificate(identityId), async () => {
    const record = await loadCertificate(flow.deps.storage, identityId);
    if (!record) throw new EnrollRequestError('noCertificate', 'This identity has no certificate from this add-on.');
    const next = await fn(record);
    await saveCertificate(flow.deps.storage, next);
    return next;
  });
}

/**
 * A certificate set on several identities has one verdict (NSS judges the certificate, not the
 * identity): the user's decision on one record is carried to the others, with the defaults it set.
 */
async function shareDecision(flow: Flow, decided: CertificateRecord): Promise<CertificateRecord> {
  const siblings = (await listCertificates(flow.deps.storage)).filter((r) => r.identityId !== decided.identityId && r.sha256Fingerprint === decided.sha256Fingerprint && r.revoked === undefined);
  for (const sibling of siblings) {
    await withRecord(flow, sibling.identityId, async (record) => {
      if (record.sha256Fingerprint !== decided.sha256Fingerprint || decided.usability === undefined) return record;
      return applySendDefaults(flow, record, decided.usability);
    });
  }
  return decided;
}

/** The user's consent to trust exactly the root shown (by its fingerprint) for e-mail; checked again after. */
export async function trustRoot(flow: Flow, identityId: string, sha256Fingerprint: string): Promise<CertificateRecord> {
  return shareDecision(flow, await withRecord(flow, identityId, async (record) => {
    if (record.revoked) throw new EnrollRequestError('wrongStep', 'This certificate is revoked.');
    if (!record.usability) throw new EnrollRequestError('wrongStep', 'This certificate has not been checked yet.');
    try {
      const usability = await trustRootWithConsent(usabilityDeps(flow), { dbKey: record.dbKey, chainPem: record.chainPem, usage: record.usage }, record.usability, sha256Fingerprint);
      return await applySendDefaults(flow, record, usability);
    } catch (error) {
      if (error instanceof UsabilityError) throw new EnrollRequestError('rootMismatch', error.message, { cause: error });
      throw error;
    }
  }));
}

/** The user said no: Thunderbird cannot sign or encrypt with it, and the popup keeps the way back. */
export async function declineRoot(flow: Flow, identityId: string): Promise<CertificateRecord> {
  return shareDecision(flow, await withRecord(flow, identityId, (record) => {
    if (!record.usability) return Promise.reject(new EnrollRequestError('wrongStep', 'This certificate has not been checked yet.'));
    return Promise.resolve({ ...record, usability: declined(record.usability, flow.now()) });
  }));
}

/** Asks NSS again (e.g. when the popup opens): expiry, a root trusted or distrusted since. */
export function recheck(flow: Flow, identityId: string): Promise<CertificateRecord> {
  return withRecord(flow, identityId, async (record) => {
    if (record.revoked) return record;
    const previous = record.usability;
    const fresh = await checkUsability(usabilityDeps(flow), { dbKey: record.dbKey, chainPem: record.chainPem, usage: record.usage }, {
      ...(previous?.root === undefined ? {} : { root: previous.root }),
      ...(previous?.trustedBy === undefined ? {} : { trustedBy: previous.trustedBy }),
    });
    // A decision the user made stays visible while the root is still untrusted.
    const usability = previous?.verdict === 'declined' && fresh.verdict === 'untrusted-root' ? declined(fresh, fresh.checkedAt) : fresh;
    return { ...record, usability };
  });
}

/** The user's choice in the popup: sign all mail / require encryption by default. */
export function setSendDefaults(flow: Flow, identityId: string, signMail: boolean, encrypt: boolean): Promise<CertificateRecord> {
  return withRecord(flow, identityId, async (record) => {
    if (record.usability?.verdict !== 'ready') throw new EnrollRequestError('wrongStep', 'Thunderbird cannot use this certificate yet.');
    const defaults = sendDefaultsFor(record.usage, signMail, encrypt);
    await flow.deps.certStore.setSendDefaults(identityId, defaults.signMail, defaults.encrypt);
    return { ...record, sendDefaults: defaults };
  });
}
