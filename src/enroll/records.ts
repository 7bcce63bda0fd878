/**
 * Pure updates of the stored records: no port, no clock of their own (the time is passed in), so
 * every rule about what a record looks like after a change is tested without a flow around it.
 */
import { TEMPORARY_REFUSAL_REASONS } from './vocabulary';
import type { CertificateSummary, InstalledCertificate } from './ports';
import { addressesOf, isMultiAddress } from './addresses';
import { SCHEMA_VERSION, type CertificateRecord, type Enrollment, type HistoryEntry, type OrderAddress, type Refusal, type Step } from './state';

/** Refusals kept per enrollment: enough to explain, bounded against a flood of forged mail. */
export const MAX_REFUSALS = 20;
/** History entries kept per enrollment: the first one and the latest, bounded for storage. */
export const MAX_HISTORY = 60;

/** Steps from which the flow may still come back to `awaiting-mail` (a declined or failed reply). */
const MAY_RETURN_TO_AWAITING_MAIL: readonly Step[] = ['awaiting-mail', 'awaiting-consent', 'replying'];

/** Fields to change; an `undefined` value removes the field. */
export type Patch = { readonly [K in keyof Enrollment]?: Enrollment[K] | undefined };

/** Applies a patch; an `undefined` value removes the field (exactOptionalPropertyTypes). */
export function applyPatch(e: Enrollment, patch: Patch): Enrollment {
  const merged: Record<string, unknown> = { ...e, ...patch };
  return Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined)) as unknown as Enrollment;
}

export function appendHistory(history: Enrollment['history'], entry: HistoryEntry): Enrollment['history'] {
  const all = [...history, entry];
  return all.length <= MAX_HISTORY ? all : [all[0]!, ...all.slice(all.length - MAX_HISTORY + 1)];
}

/**
 * The record after moving to `step`: attempts reset, the wake-up cleared unless the patch sets
 * it, the history noted. A planned rescan is acted on only in `awaiting-mail`; kept while the
 * flow may come back there (a declined or failed reply), it then runs at once. Past that, no
 * mail will be looked at again: the rescan goes, and no refusal says "will be checked again".
 */
export function transitioned(e: Enrollment, step: Step, patch: Patch, now: number, note?: string): Enrollment {
  const mayWaitAgain = MAY_RETURN_TO_AWAITING_MAIL.includes(step);
  const refusals = mayWaitAgain ? e.refusals : e.refusals.map(settleTemporary);
  const history = appendHistory(e.history, note === undefined ? { step, at: now } : { step, at: now, note });
  return applyPatch({ ...e, step, attempts: 0, refusals, history }, { wakeAt: undefined, polls: undefined, ...(mayWaitAgain ? {} : { mailRetry: undefined }), ...patch });
}

/** A change within a step (retry time, flags); noted in the history only when it says something. */
export function updated(e: Enrollment, patch: Patch, now: number, note?: string): Enrollment {
  return applyPatch(note === undefined ? e : { ...e, history: appendHistory(e.history, { step: e.step, at: now, note }) }, patch);
}

/** True when every reason is temporary: the mail must be checked again, not blocked. */
export function isTemporaryRefusal(refusal: Pick<Refusal, 'reasons' | 'temporary'>): boolean {
  // Records written before the flag existed are judged by their reasons.
  return refusal.temporary ?? (refusal.reasons.length > 0 && refusal.reasons.every((code) => TEMPORARY_REFUSAL_REASONS.includes(code)));
}

/** A temporary refusal as it stands once nothing will look at the mail again. */
export function settleTemporary(r: Refusal): Refusal {
  return isTemporaryRefusal(r) ? { ...r, reasons: r.reasons.filter((code) => code !== 'will-retry'), temporary: false } : r;
}

/** Adds a refusal, replacing an earlier temporary one for the same mail (it was not final). */
export function withRefusal(e: Enrollment, refusal: Refusal): Enrollment {
  return { ...e, refusals: [...withoutRefusal(e, refusal.headerMessageId).refusals, refusal].slice(-MAX_REFUSALS) };
}

/** Drops the temporary refusal of a mail, if any; refusals for good are kept. */
export function withoutRefusal(e: Enrollment, headerMessageId: string): Enrollment {
  const refusals = e.refusals.filter((r) => r.headerMessageId !== headerMessageId || !isTemporaryRefusal(r));
  return refusals.length === e.refusals.length ? e : { ...e, refusals };
}

/** Answered, or refused for good: never looked at again (not even read). */
export function isSettled(e: Enrollment, headerMessageId: string): boolean {
  return e.answeredMail === headerMessageId || e.earlierAnswers?.includes(headerMessageId) === true || e.refusals.some((r) => r.headerMessageId === headerMessageId && !isTemporaryRefusal(r));
}

/** The temporary refusal of a mail while the flow still waits for mail, if any. */
export function temporaryRefusalOf(e: Enrollment, headerMessageId: string): Refusal | undefined {
  return e.step === 'awaiting-mail' ? e.refusals.find((r) => r.headerMessageId === headerMessageId && isTemporaryRefusal(r)) : undefined;
}

/**
 * The record of another identity the same certificate is set on: the owner's certificate, and
 * `coveredBy` naming the owner, whose record alone renews it; nothing of the owner's renewal state.
 */
export function coveredRecord(owner: CertificateRecord, address: OrderAddress): CertificateRecord {
  const { renewal: _renewal, renewalNotified: _notified, autoRenew: _autoRenew, ...rest } = owner;
  return { ...rest, identityId: address.identityId, email: address.email, coveredBy: owner.identityId };
}

/** What is remembered of a certificate once installed (the popup's summary, renewal's clock). */
export function certificateRecord(
  e: Enrollment,
  chainPem: string,
  summary: CertificateSummary,
  installed: InstalledCertificate,
  now: number,
  renewal: Pick<CertificateRecord, 'renewAt' | 'renewalSource'>,
): CertificateRecord {
  return {
    schema: SCHEMA_VERSION,
    identityId: e.identityId,
    email: e.email,
    directoryUrl: e.directoryUrl,
    enrollmentId: e.id,
    keyType: e.keyType,
    usage: e.usage,
    chainPem,
    emails: summary.emails,
    notBefore: summary.notBefore,
    notAfter: summary.notAfter,
    sha256Fingerprint: summary.sha256Fingerprint,
    serialNumber: summary.serialNumber,
    issuer: summary.issuer,
    dbKey: installed.dbKey,
    installedAt: now,
    renewAt: renewal.renewAt,
    renewalSource: renewal.renewalSource,
    ...(isMultiAddress(e) ? { identities: addressesOf(e) } : {}),
  };
}
