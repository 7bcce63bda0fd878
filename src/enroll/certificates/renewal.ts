/**
 * Renewal: when to renew (RFC 9773 ARI window when the CA offers one, else two thirds into the
 * lifetime), the daily check that refreshes that date and tells the user when it has come, and
 * the renewal request itself (a new enrollment with `replaces`, RFC 9773 §5).
 */
import { EnrollRequestError, messageOf } from '../errors';
import type { Flow } from '../flow';
import { LOCK } from '../lock';
import type { CertificateSummary } from '../ports';
import { lifetimeRenewAt, pickInWindow } from '../schedule';
import type { CertificateRecord } from '../state';
import { listCertificates, loadCertificate, saveCertificate } from '../store';

/** The renewal date of a certificate just installed. ARI is advisory: without an answer, the lifetime rule. */
export async function initialRenewal(flow: Flow, directoryUrl: string, chainPem: string, summary: CertificateSummary): Promise<Pick<CertificateRecord, 'renewAt' | 'renewalSource'>> {
  try {
    const window = await flow.deps.acme.renewalInfo(directoryUrl, chainPem);
    if (window) return { renewAt: pickInWindow(window.start, window.end, flow.deps.random()), renewalSource: 'ari' };
  } catch (error) {
    flow.deps.log.debug(`renewalInfo after install: ${messageOf(error)}`);
  }
  return { renewAt: lifetimeRenewAt(summary.notBefore, summary.notAfter), renewalSource: 'lifetime' };
}

/**
 * Daily alarm: refreshes ARI windows and tells the user when a certificate is due. Each record
 * is read again and written under its certificate lock: a revocation or a new installation that
 * comes while the CA is asked is never overwritten with what was read before.
 */
export async function checkRenewals(flow: Flow): Promise<void> {
  const { storage, acme, notifier, log } = flow.deps;
  const now = flow.now();
  for (const listed of await listCertificates(storage)) {
    await flow.locks.run(LOCK.certificate(listed.identityId), async () => {
      const record = await loadCertificate(storage, listed.identityId);
      if (!record || record.revoked || record.notAfter <= now) return;
      let updated = record;
      try {
        const window = await acme.renewalInfo(record.directoryUrl, record.chainPem);
        if (window) updated = { ...updated, renewAt: pickInWindow(window.start, window.end, flow.deps.random()), renewalSource: 'ari' };
      } catch (error) {
        // ARI is advisory (RFC 9773 §4.3): keep the previous date and ask again tomorrow.
        log.debug(`renewalInfo for ${record.email}: ${messageOf(error)}`);
      }
      if (updated.renewAt <= now && !updated.renewalNotified) {
        await notifier.notify('renewalDue', record.email, new Date(record.notAfter).toISOString());
        updated = { ...updated, renewalNotified: true };
      }
      if (updated !== record) await saveCertificate(storage, updated);
    });
  }
}

/** What a renewal of the identity's certificate starts with: the same settings, and `replaces` when the CA offers ARI. */
export async function renewalRequest(flow: Flow, identityId: string): Promise<{ readonly record: CertificateRecord; readonly replaces?: string }> {
  const record = await loadCertificate(flow.deps.storage, identityId);
  if (!record) throw new EnrollRequestError('noCertificate', 'This identity has no certificate from this add-on.');
  try {
    const replaces = await flow.deps.acme.certificateId(record.chainPem);
    return replaces === undefined ? { record } : { record, replaces };
  } catch (error) {
    flow.deps.log.debug(`no ARI certificate id: ${messageOf(error)}`);
    return { record };
  }
}
