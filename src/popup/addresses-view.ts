/**
 * One certificate for several addresses, as the popup shows it (RFC 8555 §7.4: one order with an
 * `email` identifier per address; RFC 8823: one challenge mail per address, each answered from
 * its own identity). The start form's "Also for these addresses", where each address of an
 * enrollment is, and who renews and revokes a certificate set on several identities. Pure, tested
 * in Node through ./view-model.ts (test/popup/view-model.test.ts).
 */
import { addressesOf, covers, currentAddress, isConfirmed, isMultiAddress, sameAddress } from '../enroll/addresses';
import type { EnrollmentView, PopupState } from '../enroll/protocol';
import { isTerminal, type CertificateRecord, type Step } from '../enroll/state';
import { t, type Message, type Phrase } from './phrase';

/** An other identity the certificate may also be for: a checkbox of the start form, labelled with its address. */
export interface AlsoForOption {
  readonly identityId: string;
  readonly label: string;
  readonly checked: boolean;
}

/** "Also for these addresses": the user's other identities, none ticked at first; hidden when there is none to offer. */
export interface AlsoForView {
  readonly visible: boolean;
  readonly options: readonly AlsoForOption[];
}

/**
 * The user's other identities, any account, for one certificate with the selected one; an
 * identity that a running enrollment already covers is not offered (its challenge mail would
 * meet two orders), nor a second identity of an address already listed (one address, one
 * challenge: the background refuses an address twice).
 */
export function alsoForView(state: PopupState, identityId: string, checked: readonly string[]): AlsoForView {
  const busy = (id: string) => state.enrollments.some((e) => !isTerminal(e.step) && covers(e, id));
  const listed = state.identities.filter((i) => i.id === identityId).map((i) => i.email);
  const options: AlsoForOption[] = [];
  for (const i of state.identities) {
    if (i.id === identityId || busy(i.id) || listed.some((email) => sameAddress(email, i.email))) continue;
    listed.push(i.email);
    options.push({ identityId: i.id, label: i.email, checked: checked.includes(i.id) });
  }
  return { visible: options.length > 0, options };
}

/** The start request's `alsoFor`: the ticked identities among those offered, in the list's order; absent when none. */
export function alsoForField(options: readonly AlsoForOption[], checked: readonly string[]): { readonly alsoFor?: readonly string[] } {
  const ids = options.filter((o) => checked.includes(o.identityId)).map((o) => o.identityId);
  return ids.length === 0 ? {} : { alsoFor: ids };
}

/**
 * Where one address of a several-address enrollment is: proven, waiting for its challenge mail,
 * its mail waiting for the user's OK, answered (the CA checks), not reached yet, or where the
 * enrollment stopped.
 */
export type AddressProgress = 'confirmed' | 'waiting' | 'consent' | 'replied' | 'not-yet' | 'stopped';

export interface AddressLine {
  readonly identityId: string;
  readonly email: string;
  readonly progress: AddressProgress;
  readonly line: Phrase;
}

/** The steps of the challenge of one address: an enrollment that stops in one of them stops at its current address. */
const CHALLENGE_STEPS: readonly Step[] = ['awaiting-mail', 'awaiting-consent', 'replying', 'replied', 'validating'];
/** Past these, every address of the order is proven. */
const ALL_PROVEN_STEPS: readonly Step[] = ['finalizing', 'downloading', 'installing', 'installed'];

/** The step the enrollment had reached: for one that failed or was cancelled, the last recorded step before. */
function reachedStep(e: EnrollmentView): Step | undefined {
  if (e.step !== 'failed' && e.step !== 'cancelled') return e.step;
  return e.history.findLast((h) => !isTerminal(h.step))?.step;
}

/** Where the current address is, from the step the enrollment reached. */
function currentProgress(e: EnrollmentView): AddressProgress {
  const reached = reachedStep(e);
  if (reached !== e.step) return reached !== undefined && CHALLENGE_STEPS.includes(reached) ? 'stopped' : 'not-yet';
  switch (reached) {
    case 'awaiting-mail':
      return 'waiting';
    case 'awaiting-consent':
      return 'consent';
    case 'replying':
    case 'replied':
    case 'validating':
      return 'replied';
    default:
      return 'not-yet';
  }
}

/** The address's line: its address and where it is, in one sentence. */
function progressPhrase(progress: AddressProgress, email: string): Message {
  switch (progress) {
    case 'confirmed':
      return t('popupAddressConfirmed', email);
    case 'waiting':
      return t('popupAddressWaiting', email);
    case 'consent':
      return t('popupAddressConsent', email);
    case 'replied':
      return t('popupAddressReplied', email);
    case 'not-yet':
      return t('popupAddressNotYet', email);
    case 'stopped':
      return t('popupAddressStopped', email);
  }
}

/** Each address of a several-address enrollment, in the user's order, with where it is. */
export function addressLines(e: EnrollmentView): readonly AddressLine[] {
  const current = currentAddress(e);
  const reached = reachedStep(e);
  const allProven = reached !== undefined && ALL_PROVEN_STEPS.includes(reached);
  return addressesOf(e).map((a) => {
    const progress: AddressProgress =
      allProven || isConfirmed(e, a.email) ? 'confirmed' : sameAddress(a.email, current.email) ? currentProgress(e) : 'not-yet';
    return { identityId: a.identityId, email: a.email, progress, line: progressPhrase(progress, a.email) };
  });
}

/** Of a several-address enrollment that failed in a challenge: the address it stopped at. */
export function failedAddress(e: EnrollmentView): Phrase | undefined {
  if (!isMultiAddress(e) || e.step !== 'failed') return undefined;
  const reached = reachedStep(e);
  return reached !== undefined && CHALLENGE_STEPS.includes(reached) ? t('popupErrorAddress', currentAddress(e).email) : undefined;
}

/**
 * Renew and Revoke are offered on the record that owns the certificate only: on the owner's
 * record of a several-address certificate `actsForAll` says they act for every address; on the
 * other identities' records `coveredBy` names the owner (and its button goes there) instead.
 */
export interface SharedControls {
  readonly renewRevoke: boolean;
  readonly actsForAll?: Phrase;
  readonly coveredBy?: { readonly text: Phrase; readonly button: Phrase; readonly identityId: string };
}

/** The address of an identity: from the certificate's list, else the identity's, else its id. */
function addressOfIdentity(state: PopupState, record: CertificateRecord, identityId: string): string {
  return record.identities?.find((i) => i.identityId === identityId)?.email ?? state.identities.find((i) => i.id === identityId)?.email ?? identityId;
}

/**
 * Renew and Revoke on a certificate set on several identities: offered on its owner's record
 * only, which says they act for every address; another identity's record names the owner
 * instead. One place to act, so a renewal or revocation is never started twice from two records.
 */
export function sharedControls(state: PopupState, record: CertificateRecord): SharedControls {
  const owner = record.coveredBy;
  if (owner !== undefined && owner !== record.identityId) {
    const email = addressOfIdentity(state, record, owner);
    return { renewRevoke: false, coveredBy: { text: t('popupCertCoveredBy', email), button: t('popupCertShowOwner', email), identityId: owner } };
  }
  const all = record.identities ?? [];
  return all.length > 1 ? { renewRevoke: true, actsForAll: t('popupCertActsForAll', all.map((i) => i.email).join(', ')) } : { renewRevoke: true };
}

/** A certificate set on several identities: the other addresses it is valid for. */
export function alsoValidFor(record: CertificateRecord): Phrase | undefined {
  const others = (record.identities ?? []).filter((i) => i.identityId !== record.identityId).map((i) => i.email);
  return others.length > 0 ? t('popupCertAlsoFor', others.join(', ')) : undefined;
}

/** The record of an identity whose certificate another identity's record renews and revokes. */
export function isCovered(record: CertificateRecord): boolean {
  return record.coveredBy !== undefined && record.coveredBy !== record.identityId;
}
