/**
 * Renewal: when to renew (RFC 9773 ARI window when the CA offers one, else two thirds into the
 * lifetime), the check that keeps that date fresh and acts once it has come, and what a renewal
 * starts with (a new enrollment with `replaces`, RFC 9773 §5; the kept key when there is one).
 *
 * Unattended renewal: once a certificate is due, and unless the identity's user turned it off (or
 * an administrator forced it off), the check starts the renewal by itself. It is an enrollment
 * like the first one (the challenge mail answered by the same rule, "ask before replying"
 * included); the new certificate replaces the old on the identity only once it is installed. A
 * renewal that ends without a certificate is tried again with back-off, and the user is warned,
 * saying how many days the certificate has left. Every write of a certificate record runs under
 * the identity's certificate lock.
 */
import { covers } from '../addresses';
import { EnrollRequestError, messageOf } from '../errors';
import type { Flow } from '../flow';
import { LOCK } from '../lock';
import type { CertificateSummary } from '../ports';
import { lifetimeRenewAt, pickInWindow } from '../schedule';
import type { AutoRenewPolicy } from '../settings';
import { isTerminal, type CertificateRecord, type Enrollment, type RenewalAttempt } from '../state';
import { listCertificates, listEnrollments, loadCertificate, saveCertificate } from '../store';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

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

/** Whether this certificate renews by itself: the administrator's policy, else the identity's choice (on by default). */
export function autoRenewOn(policy: AutoRenewPolicy, record: Pick<CertificateRecord, 'autoRenew'>): boolean {
  return policy === 'on' || (policy === 'user' && record.autoRenew !== false);
}

/**
 * The wait after the n-th failed renewal in a row: doubling from a quarter of an hour, at most a
 * day — both scaled down for a short-lived certificate (a thirtieth and a sixth of its lifetime),
 * so that several tries fit before it expires.
 */
export function renewalRetryDelay(failures: number, lifetimeMs: number): number {
  const base = Math.min(15 * MINUTE_MS, lifetimeMs / 30);
  const cap = Math.min(DAY_MS, lifetimeMs / 6);
  return Math.max(1_000, Math.min(base * 2 ** Math.max(failures - 1, 0), cap));
}

/** At most one "renewal failing" warning per this interval: a day, or a tenth of a short lifetime. */
export function warningInterval(lifetimeMs: number): number {
  return Math.min(DAY_MS, lifetimeMs / 10);
}

/**
 * From when a renewal still not done is worth a warning even while it runs (it may wait for the
 * user: a passphrase, an OK to reply): the last week, or the last sixth of a short lifetime.
 */
export function expiryWarningAt(record: Pick<CertificateRecord, 'notBefore' | 'notAfter'>): number {
  return record.notAfter - Math.min(7 * DAY_MS, (record.notAfter - record.notBefore) / 6);
}

/** Whole days left before expiry, rounded up (a certificate with hours left has 1 day left). */
export function daysLeft(notAfter: number, now: number): number {
  return Math.max(0, Math.ceil((notAfter - now) / DAY_MS));
}

/** The identity's unfinished enrollment, if any (a renewal or a first issuance). */
function runningFor(enrollments: readonly Enrollment[], identityId: string): Enrollment | undefined {
  return enrollments.find((e) => covers(e, identityId) && !isTerminal(e.step));
}

/**
 * When the renewal check must next look at this record by itself; undefined when nothing is due
 * by time (revoked, expired, a renewal running, or the user already told).
 */
export function renewalCheckAt(record: CertificateRecord, policy: AutoRenewPolicy, enrollments: readonly Enrollment[], now: number): number | undefined {
  // A certificate for several identities is watched through its owner's record only.
  if (record.revoked || record.notAfter <= now || record.coveredBy !== undefined) return undefined;
  const tracked = record.renewal?.enrollmentId;
  if (tracked !== undefined) {
    const e = enrollments.find((x) => x.id === tracked);
    // Ended: its outcome is to be recorded now. Still running: the enrollment has its own
    // wake-ups; the check comes back only to warn, near expiry, that it is not done yet.
    if (e === undefined || isTerminal(e.step)) return now;
    const warnedAt = record.renewal?.warnedAt;
    return Math.max(expiryWarningAt(record), warnedAt === undefined ? 0 : warnedAt + warningInterval(record.notAfter - record.notBefore));
  }
  if (runningFor(enrollments, record.identityId)) return undefined;
  if (autoRenewOn(policy, record)) return Math.max(record.renewAt, record.renewal?.retryAt ?? 0);
  return record.renewalNotified ? undefined : record.renewAt;
}

/** The earliest renewal check any record wants. */
export async function nextRenewalCheckAt(flow: Flow): Promise<number | undefined> {
  const { autoRenew } = await flow.deps.settings();
  const enrollments = await listEnrollments(flow.deps.storage);
  const now = flow.now();
  const times = (await listCertificates(flow.deps.storage)).map((r) => renewalCheckAt(r, autoRenew, enrollments, now)).filter((at) => at !== undefined);
  return times.length === 0 ? undefined : Math.min(...times);
}

/** Starts an unattended renewal of this record and returns its enrollment. */
export type RenewalStarter = (record: CertificateRecord) => Promise<Enrollment>;

/**
 * The renewal check (the daily alarm, and the `renewal-wake` alarm at the earliest due time):
 * refreshes ARI windows, records how a tracked renewal ended, starts the renewals that are due,
 * and tells the user of those that do not renew by themselves. Each record is read again and
 * written under its certificate lock: a revocation or an installation that comes meanwhile is
 * never overwritten with what was read before. Returns the renewals started.
 */
export async function checkRenewals(flow: Flow, start: RenewalStarter): Promise<Enrollment[]> {
  const { storage, notifier } = flow.deps;
  const { autoRenew } = await flow.deps.settings();
  const now = flow.now();
  const enrollments = await listEnrollments(storage);
  const due: CertificateRecord[] = [];
  for (const listed of await listCertificates(storage)) {
    await flow.locks.run(LOCK.certificate(listed.identityId), async () => {
      const record = await loadCertificate(storage, listed.identityId);
      if (!record || record.revoked || record.notAfter <= now || record.coveredBy !== undefined) return;
      let updated = await refreshWindow(flow, record, now);
      updated = await settleAttempt(flow, updated, enrollments, now);
      const isDue = updated.renewAt <= now;
      if (autoRenewOn(autoRenew, updated)) {
        const waiting = (updated.renewal?.retryAt ?? 0) > now || updated.renewal?.enrollmentId !== undefined;
        if (isDue && !waiting && !runningFor(enrollments, updated.identityId)) due.push(updated);
      } else if (isDue && !updated.renewalNotified) {
        await notifier.notify({ kind: 'renewalDue', email: record.email, notAfter: record.notAfter });
        updated = { ...updated, renewalNotified: true };
      }
      if (updated !== record) await saveCertificate(storage, updated);
    });
  }
  const started: Enrollment[] = [];
  for (const record of due) {
    try {
      const e = await start(record);
      await trackAttempt(flow, record, { ...(record.renewal ?? { failures: 0 }), enrollmentId: e.id });
      started.push(e);
    } catch (error) {
      // Not even started (no CA configured, the kept key unreadable, another enrollment began):
      // a failure like any other, tried again with back-off.
      flow.deps.log.debug(`unattended renewal of ${record.email} not started: ${messageOf(error)}`);
      if (error instanceof EnrollRequestError && error.code === 'busy') continue;
      await flow.locks.run(LOCK.certificate(record.identityId), async () => {
        const current = await loadCertificate(storage, record.identityId);
        if (current?.sha256Fingerprint !== record.sha256Fingerprint) return;
        await saveCertificate(storage, await failed(flow, current, messageOf(error), flow.now()));
      });
    }
  }
  return started;
}

/** ARI (RFC 9773 §4.2): a new window replaces the date, unless the date already lies in it. */
async function refreshWindow(flow: Flow, record: CertificateRecord, now: number): Promise<CertificateRecord> {
  try {
    const window = await flow.deps.acme.renewalInfo(record.directoryUrl, record.chainPem);
    if (!window) return record;
    const inWindow = record.renewalSource === 'ari' && record.renewAt >= window.start && record.renewAt <= window.end;
    // A date already past is not moved into the future: the certificate is due.
    if (inWindow || (record.renewAt <= now && record.renewAt >= window.start)) return record;
    return { ...record, renewAt: pickInWindow(window.start, window.end, flow.deps.random()), renewalSource: 'ari' };
  } catch (error) {
    // ARI is advisory (RFC 9773 §4.3): keep the previous date and ask again at the next check.
    flow.deps.log.debug(`renewalInfo for ${record.email}: ${messageOf(error)}`);
    return record;
  }
}

/** A tracked renewal that ended without replacing the certificate counts as a failure. */
async function settleAttempt(flow: Flow, record: CertificateRecord, enrollments: readonly Enrollment[], now: number): Promise<CertificateRecord> {
  const tracked = record.renewal?.enrollmentId;
  if (tracked === undefined) return record;
  const e = enrollments.find((x) => x.id === tracked);
  if (e !== undefined && !isTerminal(e.step)) return stalled(flow, record, now);
  if (e?.step === 'installed') {
    // Installed, yet the record is not the new certificate's: another installation came after it.
    const { renewal: _done, ...rest } = record;
    return rest;
  }
  const why = e === undefined ? 'the renewal was removed before it finished' : e.step === 'cancelled' ? 'cancelled' : `${e.error?.code ?? 'failed'}: ${e.error?.message ?? ''}`;
  return failed(flow, record, why, now);
}

/** A renewal still running near expiry (waiting for the user, or for the CA): warned, at most once per interval. */
async function stalled(flow: Flow, record: CertificateRecord, now: number): Promise<CertificateRecord> {
  const attempt = record.renewal;
  if (attempt === undefined || now < expiryWarningAt(record)) return record;
  if (attempt.warnedAt !== undefined && now - attempt.warnedAt < warningInterval(record.notAfter - record.notBefore)) return record;
  await flow.deps.notifier.notify({ kind: 'renewalStalled', email: record.email, daysLeft: daysLeft(record.notAfter, now) });
  return { ...record, renewal: { ...attempt, warnedAt: now } };
}

/** One more failure: the next try after the back-off, and a warning unless one was given lately. */
async function failed(flow: Flow, record: CertificateRecord, why: string, now: number): Promise<CertificateRecord> {
  const lifetime = record.notAfter - record.notBefore;
  const failures = (record.renewal?.failures ?? 0) + 1;
  let attempt: RenewalAttempt = { failures, retryAt: now + renewalRetryDelay(failures, lifetime), lastError: why, ...(record.renewal?.warnedAt === undefined ? {} : { warnedAt: record.renewal.warnedAt }) };
  if (attempt.warnedAt === undefined || now - attempt.warnedAt >= warningInterval(lifetime)) {
    await flow.deps.notifier.notify({ kind: 'renewalFailing', email: record.email, daysLeft: daysLeft(record.notAfter, now) });
    attempt = { ...attempt, warnedAt: now };
  }
  flow.deps.log.debug(`renewal of ${record.email} failed (${failures} in a row): ${why}; next try in ${Math.round((attempt.retryAt! - now) / 1000)} s`);
  return { ...record, renewal: attempt };
}

async function trackAttempt(flow: Flow, record: CertificateRecord, attempt: RenewalAttempt): Promise<void> {
  await flow.locks.run(LOCK.certificate(record.identityId), async () => {
    const current = await loadCertificate(flow.deps.storage, record.identityId);
    // Replaced meanwhile (installed, revoked): nothing to track on the old one.
    if (current?.sha256Fingerprint !== record.sha256Fingerprint || current.revoked) return;
    await saveCertificate(flow.deps.storage, { ...current, renewal: attempt });
  });
}

/** The user's choice for this identity: renew by itself or not. */
export function setAutoRenew(flow: Flow, identityId: string, on: boolean): Promise<CertificateRecord> {
  return flow.locks.run(LOCK.certificate(identityId), async () => {
    const record = await loadCertificate(flow.deps.storage, identityId);
    if (!record) throw new EnrollRequestError('noCertificate', 'This identity has no certificate from this add-on.');
    const next: CertificateRecord = { ...record, autoRenew: on };
    await saveCertificate(flow.deps.storage, next);
    return next;
  });
}

/**
 * What the new record keeps of the one it replaces (caller holds the certificate lock): the
 * user's renewal choice, their consent to the CA's terms, and — for a renewal — where it came from.
 */
export function carriedOver(previous: CertificateRecord | undefined, next: CertificateRecord, e: Enrollment, now: number): CertificateRecord {
  const termsAgreed = e.termsAgreed || previous?.termsAgreed === true;
  const kept: CertificateRecord = { ...next, termsAgreed, ...(previous?.autoRenew === undefined ? {} : { autoRenew: previous.autoRenew }) };
  if (e.renewal === undefined || previous === undefined) return kept;
  return { ...kept, renewedFrom: { at: now, auto: e.renewal === 'auto', sameKey: e.sameKey === true, sha256Fingerprint: previous.sha256Fingerprint } };
}

/** What a renewal of the identity's certificate starts with. */
export interface RenewalPlan {
  readonly record: CertificateRecord;
  /** RFC 9773 §4.1 certificate identifier, when the CA offers ARI. */
  readonly replaces?: string;
  /** The kept encrypted key (base64), when the certificate's enrollment kept it: the renewal reuses it. */
  readonly keptKey?: string;
  /** The kept key's passphrase, when this Thunderbird session still has it. */
  readonly passphrase?: string;
  readonly termsAgreed: boolean;
}

/** The same settings, `replaces` when the CA offers ARI, and the kept key with its passphrase when there. */
export async function renewalPlan(flow: Flow, identityId: string): Promise<RenewalPlan> {
  const shown = await loadCertificate(flow.deps.storage, identityId);
  // A certificate shared by several identities is renewed, for all of them, through its owner's record.
  const record = shown?.coveredBy === undefined ? shown : await loadCertificate(flow.deps.storage, shown.coveredBy);
  if (!record) throw new EnrollRequestError('noCertificate', 'This identity has no certificate from this add-on.');
  let replaces: string | undefined;
  try {
    replaces = await flow.deps.acme.certificateId(record.chainPem);
  } catch (error) {
    flow.deps.log.debug(`no ARI certificate id: ${messageOf(error)}`);
  }
  const origin = (await listEnrollments(flow.deps.storage)).find((e) => e.id === record.enrollmentId);
  const keptKey = origin?.keepKey === true ? origin.encryptedKey : undefined;
  const passphrase = keptKey === undefined ? undefined : await flow.passphrase(record.enrollmentId);
  const termsAgreed = record.termsAgreed ?? origin?.termsAgreed ?? false;
  return {
    record,
    termsAgreed,
    ...(replaces === undefined ? {} : { replaces }),
    ...(keptKey === undefined ? {} : { keptKey }),
    ...(passphrase === undefined ? {} : { passphrase }),
  };
}
