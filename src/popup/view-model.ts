/**
 * Everything the popup shows, as data: from the background's state (src/enroll/protocol.ts), the
 * identity the user picked, whether the CA's directory was read and the popup's own flags, it
 * says which sections are visible, which buttons work, and every text as a message name with its
 * substitutions (`Phrase`). Pure — no `document`, no `messenger` — so the rules are tested in
 * Node (test/popup/view-model.test.ts); popup.ts draws the answer and translates it with `t()`.
 */
import { addressesOf, covers, isMultiAddress } from '../enroll/addresses';
import { errorKey, refusalKey, requestErrorKey, stepKey } from '../enroll/i18n-keys';
import { REQUEST_ERROR_CODES } from '../enroll/errors';
import type { ProblemInfo } from '../enroll/ports';
import type { EnrollmentView, PopupState } from '../enroll/protocol';
import { isTerminal, type CertificateRecord } from '../enroll/state';
import { isAcceptablePassphrase } from '../enroll/passphrase';
import { nonConformantMail } from './nonconformant-view';
import { problemLines } from './problem-view';
import { renewalView } from './renewal-view';
import { installedStepKey, usabilityView, type UsabilityView } from './usability-view';
import { addressLines, alsoForView, alsoValidFor, failedAddress, isCovered, sharedControls, type AddressLine, type AlsoForView, type SharedControls } from './addresses-view';
import { at, joined, t, type Message, type Phrase } from './phrase';

export type { Message, Phrase } from './phrase';

/**
 * Whether the CA's directory (its terms of service) has been read. Until it has, Start waits:
 * a click before the terms are known must neither agree to terms the user never saw nor leave
 * the agreement out for a CA that asks for it.
 */
export type CaRead = 'reading' | 'read' | 'failed';

export interface PopupInput {
  readonly state: PopupState;
  /** The identity the list shows now ('' before the first drawing). */
  readonly shownIdentityId: string;
  readonly caRead: CaRead;
  readonly termsOfService?: string | undefined;
  /** "Generate a passphrase" is ticked. */
  readonly generatePassphrase: boolean;
  /** The identity whose declined root question the user asked to see again. */
  readonly askingAgain?: string | undefined;
  /** The identities ticked under "Also for these addresses" (absent: none). */
  readonly alsoForChecked?: readonly string[];
  readonly now: number;
}

export interface StartView {
  /** With a valid certificate, "Renew" is the way to a new one: the form would invite a duplicate. */
  readonly visible: boolean;
  readonly passphraseFields: boolean;
  readonly caReading: boolean;
  readonly startDisabled: boolean;
  readonly termsLink?: string;
  /** "Also for these addresses" (./addresses-view.ts). */
  readonly alsoFor: AlsoForView;
}

export interface EnrollmentPanel {
  readonly id: string;
  readonly step: EnrollmentView['step'];
  readonly title: Phrase;
  readonly stepLine: Phrase;
  readonly history: readonly { readonly step: string; readonly line: Phrase; readonly note?: string }[];
  readonly joinUsed?: Phrase;
  readonly joinRetry?: Phrase;
  /** One certificate for several addresses: each address and where it is (absent for one address). */
  readonly addresses?: readonly AddressLine[];
  /** `address`: of several, the one the enrollment stopped at (its challenge got no valid answer). */
  readonly error?: { readonly message: Phrase; readonly problem?: Phrase; readonly link?: string; readonly address?: Phrase };
  readonly consent?: { readonly from: Phrase; readonly subject: Phrase; readonly authenticity: Phrase };
  /** The passphrase form: shown when needed; its sentence is for the kept key (renewal) or the install. */
  readonly passphrasePrompt: { readonly visible: boolean; readonly forKeptKey: boolean };
  readonly manual: boolean;
  readonly nonconformant?: { readonly text: Phrase; readonly subject: string; readonly missing: string };
  readonly refusals: readonly { readonly reasons: readonly string[]; readonly line: Phrase }[];
  readonly cancel: boolean;
  readonly dismiss: boolean;
}

export interface UsabilityPanel {
  readonly verdict: UsabilityView['verdict'];
  readonly summary: Phrase;
  readonly detail?: Phrase;
  readonly trustedBy?: Phrase;
  readonly trustQuestion?: { readonly subject: Phrase; readonly fingerprint: Phrase; readonly sha256Fingerprint: string };
  readonly askAgain: boolean;
  readonly sendDefaults?: NonNullable<UsabilityView['sendDefaults']>;
}

/** `renewRevoke`, `actsForAll`, `coveredBy`: who renews and revokes a certificate of several identities (./addresses-view.ts). */
export interface CertificatePanel extends SharedControls {
  readonly lines: { readonly emails: Phrase; readonly usage: Phrase; readonly expiry: Phrase; readonly fingerprint: Phrase; readonly renewAt: Phrase };
  /** One certificate for several identities: the other addresses it is set on. */
  readonly alsoValidFor?: Phrase;
  readonly revoked?: Phrase;
  readonly usability?: UsabilityPanel;
  /** Thunderbird holds the key: a .p12 can be exported under a new passphrase while it is valid. */
  readonly downloadPassphrase: boolean;
  readonly revokeDisabled: boolean;
  readonly renewDisabled: boolean;
}

export interface RenewalPanel {
  readonly autoRenew: { readonly checked: boolean; readonly disabled: boolean };
  readonly forced?: Phrase;
  readonly key: Phrase;
  readonly renewedFrom?: Phrase;
  readonly failing?: Phrase;
  /** The enrollment whose generated passphrase waits to be shown once. */
  readonly passphraseToShow?: string;
}

export interface PopupView {
  readonly caUrl: string;
  readonly noCa: boolean;
  readonly identities: { readonly options: readonly { readonly value: string; readonly label: string }[]; readonly selected: string };
  /** Undefined: leave the line as it is. */
  readonly identityState?: Phrase;
  readonly start: StartView;
  readonly enrollment?: EnrollmentPanel;
  readonly certificate?: CertificatePanel;
  readonly renewal?: RenewalPanel;
}

/** The enrollment to show for an identity it covers (owner or not): the running one, else the latest finished one. */
export function currentEnrollment(state: PopupState, identityId: string): EnrollmentView | undefined {
  const mine = state.enrollments.filter((e) => covers(e, identityId));
  return mine.find((e) => !isTerminal(e.step)) ?? mine.at(-1);
}

export function certificateOf(state: PopupState, identityId: string): CertificateRecord | undefined {
  return state.certificates.find((c) => c.identityId === identityId);
}

/** The identity listed: the one shown, else the one with a running enrollment, else the first. */
function selectIdentity(state: PopupState, shown: string): string {
  const running = state.enrollments.find((e) => !isTerminal(e.step))?.identityId;
  const keep = shown !== '' ? shown : (running ?? shown);
  return state.identities.some((i) => i.id === keep) ? keep : (state.identities[0]?.id ?? '');
}

function identityState(state: PopupState, identityId: string): Phrase | undefined {
  if (state.identities.length === 0) return t('popupNoIdentities');
  const identity = state.identities.find((i) => i.id === identityId);
  if (!identity) return undefined;
  return identity.smime && (identity.smime.signing || identity.smime.encryption) ? t('popupIdentityHasSmime') : t('popupIdentityNoSmime');
}

function startView(input: PopupInput, identityId: string, enrollment: EnrollmentView | undefined): StartView {
  const certificate = certificateOf(input.state, identityId);
  const hasValid = certificate !== undefined && certificate.revoked === undefined;
  const visible = input.state.directoryUrl !== '' && identityId !== '' && !hasValid && (!enrollment || isTerminal(enrollment.step));
  return {
    visible,
    passphraseFields: !input.generatePassphrase,
    caReading: input.caRead === 'reading',
    startDisabled: input.caRead === 'reading',
    ...(input.termsOfService === undefined ? {} : { termsLink: input.termsOfService }),
    alsoFor: alsoForView(input.state, identityId, input.alsoForChecked ?? []),
  };
}

function enrollmentPanel(e: EnrollmentView): EnrollmentPanel {
  const installedKey = e.step === 'installed' ? installedStepKey(e.usability) : undefined;
  const error = e.error;
  const problem = error?.problem;
  const pending = e.step === 'awaiting-consent' ? e.pendingReply : undefined;
  // A challenge the CA did not mark or sign: not answered; say what is missing, offer the manual path.
  const odd = e.step === 'awaiting-mail' ? nonConformantMail(e.refusals) : undefined;
  const stoppedAt = failedAddress(e);
  return {
    id: e.id,
    step: e.step,
    title: t('popupEnrollmentFor', addressesOf(e).map((a) => a.email).join(', ')),
    stepLine: t(installedKey ?? stepKey(e.step)),
    // The English note (retries, what was decided) for the curious; the line itself is translated.
    // The installed line too says whether Thunderbird can use the certificate: never a plain success.
    history: e.history.map((h) => ({ step: h.step, line: t('popupStepAt', t(h.step === 'installed' ? (installedKey ?? stepKey(h.step)) : stepKey(h.step)), at(h.at)), ...(h.note === undefined ? {} : { note: h.note }) })),
    ...(e.joinUsed === undefined ? {} : { joinUsed: t(e.joinChoice === 'learned' ? 'popupJoinUsedLearned' : 'popupJoinUsed', t(`tokenJoin_${e.joinUsed}`)) }),
    // The CA refused the first reply: say that a second order with the other join was made.
    ...(e.joinRetriedFrom ? { joinRetry: t('popupJoinRetry', t(`tokenJoin_${e.joinRetriedFrom.join}`), t(`tokenJoin_${e.tokenJoin}`)) } : {}),
    ...(isMultiAddress(e) ? { addresses: addressLines(e) } : {}),
    ...(error
      ? {
          error: {
            message: joined([t(errorKey(error.code)), `(${error.message})`], ' '),
            ...(problem === undefined ? {} : { problem: problemPhrase(problem) }),
            ...(error.link === undefined ? {} : { link: error.link }),
            ...(stoppedAt === undefined ? {} : { address: stoppedAt }),
          },
        }
      : {}),
    ...(pending ? { consent: { from: t('popupConsentFrom', pending.author), subject: t('popupConsentSubject', pending.subject), authenticity: t('popupConsentAuthenticity', pending.authenticity) } } : {}),
    // At install after a restart, or before ordering for a renewal with the kept key.
    passphrasePrompt: { visible: (e.step === 'installing' || e.step === 'new') && e.needsPassphrase === true, forKeptKey: e.step === 'new' },
    manual: e.step === 'awaiting-mail',
    ...(odd
      ? {
          nonconformant: {
            text: t('popupNonConformant', odd.subject, joined(odd.missing.map((m) => t(`popupMissing_${m === 'auto-submitted' ? 'autoSubmitted' : 'signature'}`)), ' ')),
            subject: odd.subject,
            missing: odd.missing.join(' '),
          },
        }
      : {}),
    refusals: e.refusals.map((r) => ({
      reasons: r.reasons,
      line: t('popupRefusal', r.subject, r.author, joined(r.reasons.map((code) => ({ key: refusalKey(code), args: [], orElse: r.detail })), ' ')),
    })),
    cancel: !isTerminal(e.step),
    dismiss: isTerminal(e.step),
  };
}

function withAskAgain(view: UsabilityView | undefined, record: CertificateRecord, askingAgain: string | undefined): UsabilityView | undefined {
  const root = record.usability?.root;
  if (view === undefined || askingAgain !== record.identityId || !view.askAgain || root === undefined) return view;
  return { ...view, askAgain: false, trustQuestion: { subject: root.subject, sha256Fingerprint: root.sha256Fingerprint } };
}

/** Whether Thunderbird can use the certificate, the root question, the send defaults (./usability-view.ts). */
function usabilityPanel(state: PopupState, record: CertificateRecord, askingAgain: string | undefined): UsabilityPanel | undefined {
  const identity = state.identities.find((i) => i.id === record.identityId);
  const view = withAskAgain(usabilityView(record, identity), record, askingAgain);
  if (!view) return undefined;
  const question = view.trustQuestion;
  return {
    verdict: view.verdict,
    summary: t(view.summaryKey),
    ...(view.errorNames.length > 0 ? { detail: t('popupUsabilityDetail', view.errorNames.join(', ')) } : {}),
    ...(view.trustedByKey === undefined ? {} : { trustedBy: t(view.trustedByKey) }),
    ...(question
      ? { trustQuestion: { subject: t('popupTrustRootSubject', question.subject), fingerprint: t('popupTrustRootFingerprint', question.sha256Fingerprint), sha256Fingerprint: question.sha256Fingerprint } }
      : {}),
    askAgain: view.askAgain,
    ...(view.sendDefaults ? { sendDefaults: view.sendDefaults } : {}),
  };
}

function certificatePanel(state: PopupState, record: CertificateRecord, enrollment: EnrollmentView | undefined, askingAgain: string | undefined): CertificatePanel {
  const usability = usabilityPanel(state, record, askingAgain);
  const also = alsoValidFor(record);
  return {
    lines: {
      emails: t('popupCertEmails', record.emails.join(', ')),
      usage: t('popupCertUsage', t(`usage_${record.usage}`)),
      expiry: t('popupCertExpiry', at(record.notAfter)),
      fingerprint: t('popupCertFingerprint', record.sha256Fingerprint),
      renewAt: t('popupCertRenewAt', at(record.renewAt), t(`renewalSource_${record.renewalSource}`)),
    },
    ...(also === undefined ? {} : { alsoValidFor: also }),
    ...(record.revoked ? { revoked: t('popupCertRevoked', at(record.revoked.at)) } : {}),
    ...(usability ? { usability } : {}),
    downloadPassphrase: record.revoked === undefined,
    ...sharedControls(state, record),
    revokeDisabled: record.revoked !== undefined,
    renewDisabled: enrollment !== undefined && !isTerminal(enrollment.step),
  };
}

/** The renewal part of the certificate section (./renewal-view.ts); none on a record another identity's renews. */
function renewalPanel(state: PopupState, record: CertificateRecord, now: number): RenewalPanel | undefined {
  if (isCovered(record)) return undefined;
  const origin = state.enrollments.find((e) => e.id === record.enrollmentId);
  const view = renewalView(record, state.autoRenew, origin?.keepKey === true && origin.hasKey, state.passphrasesToShow, now);
  if (!view) return undefined;
  const failing = view.failing;
  return {
    autoRenew: { checked: view.autoRenew.checked, disabled: view.autoRenew.disabled },
    ...(view.autoRenew.forcedKey === undefined ? {} : { forced: t(view.autoRenew.forcedKey) }),
    key: t(view.keyKey),
    ...(view.renewedFrom ? { renewedFrom: t('popupRenewedFrom', at(view.renewedFrom.at), t(view.renewedFrom.howKey)) } : {}),
    ...(failing ? { failing: t('popupRenewalFailing', String(failing.failures), failing.lastError, failing.retryAt === undefined ? '—' : at(failing.retryAt), String(failing.daysLeft)) } : {}),
    ...(view.passphraseToShow === undefined ? {} : { passphraseToShow: view.passphraseToShow }),
  };
}

export function popupView(input: PopupInput): PopupView {
  const { state } = input;
  const identityId = selectIdentity(state, input.shownIdentityId);
  const enrollment = currentEnrollment(state, identityId);
  const record = certificateOf(state, identityId);
  const idState = identityState(state, identityId);
  const renewal = record === undefined ? undefined : renewalPanel(state, record, input.now);
  return {
    caUrl: state.directoryUrl,
    noCa: state.directoryUrl === '',
    identities: { options: state.identities.map((i) => ({ value: i.id, label: i.email })), selected: identityId },
    ...(idState === undefined ? {} : { identityState: idState }),
    start: startView(input, identityId, enrollment),
    ...(enrollment ? { enrollment: enrollmentPanel(enrollment) } : {}),
    ...(record ? { certificate: certificatePanel(state, record, enrollment, input.askingAgain) } : {}),
    ...(renewal ? { renewal } : {}),
  };
}

/**
 * Whether Start may say the terms were agreed to: terms that could not be read were not shown,
 * so they were not agreed to (a CA that wants them then says so, and the popup shows its answer);
 * shown terms need the box ticked (`required`: the user must tick it first).
 */
export function termsAgreement(caRead: CaRead, termsOfService: string | undefined, ticked: boolean): boolean | 'required' {
  if (caRead !== 'read') return false;
  if (termsOfService === undefined) return true;
  return ticked ? true : 'required';
}

/** The passphrase the user typed, undefined to have one generated, or the sentence that says what to correct. */
export function passphraseChoice(generate: boolean, passphrase: string, confirmation: string): { readonly passphrase: string | undefined } | { readonly problem: Message } {
  if (generate) return { passphrase: undefined };
  if (!isAcceptablePassphrase(passphrase)) return { problem: t('popupPassphraseShort') };
  if (passphrase !== confirmation) return { problem: t('popupPassphraseMismatch') };
  return { passphrase };
}

/**
 * A CA's problem document in plain words, whole (./problem-view.ts): the sentence for its type
 * with the CA's detail, then each subproblem with the address it is about.
 */
export function problemPhrase(problem: ProblemInfo): Phrase {
  return joined(
    problemLines(problem).map((l) => {
      const sentence: Phrase = l.detail === undefined ? t(l.key) : joined([t(l.key), t('popupProblemDetail', l.detail)], ' ');
      return l.identifier === undefined ? sentence : t('popupProblemFor', l.identifier, sentence);
    }),
    ' ',
  );
}

/** A request the background refused: its sentence when the code is known, the CA's problem after it. */
export function requestFailure(code: string, message: string, problemDetail: string | undefined, problem?: ProblemInfo): Phrase {
  const known = REQUEST_ERROR_CODES.find((c) => c === code);
  const unexpected = t('popupUnexpected', message);
  const base: Phrase = known === undefined ? unexpected : { key: requestErrorKey(known), args: [], orElse: unexpected };
  if (problem !== undefined) return joined([base, problemPhrase(problem)], ' ');
  return problemDetail === undefined ? base : joined([base, t('popupProblemDetail', problemDetail)], ' ');
}

/** The identity whose certificate Thunderbird should judge again when the popup opens (not a revoked one, not one never checked). */
export function recheckOnOpen(state: PopupState, identityId: string): string | undefined {
  const record = certificateOf(state, identityId);
  return record?.usability !== undefined && record.revoked === undefined ? record.identityId : undefined;
}
