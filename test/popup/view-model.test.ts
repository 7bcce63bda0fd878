/** What the popup shows, decided in Node (src/popup/view-model.ts): sections, buttons, texts as message names. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { EnrollmentView, IdentityView, PopupState } from '../../src/enroll/protocol';
import type { CertificateRecord, Refusal, Step } from '../../src/enroll/state';
import { alsoForField } from '../../src/popup/addresses-view';
import { passphraseChoice, popupView, recheckOnOpen, requestFailure, termsAgreement, type Message, type Phrase, type PopupInput } from '../../src/popup/view-model';

const alice: IdentityView = { id: 'id1', email: 'alice@example.org', name: 'Alice', accountName: 'a', smime: null };
const bob: IdentityView = { id: 'id2', email: 'bob@example.org', name: 'Bob', accountName: 'b', smime: { signing: true, encryption: false, signMail: false, encrypt: false } };

function enrollment(step: Step, extra: Partial<EnrollmentView> = {}): EnrollmentView {
  return {
    schema: 1, id: 'e1', identityId: 'id1', email: 'alice@example.org', directoryUrl: 'https://ca.example/dir', keyType: 'P-256', usage: 'both', tokenJoin: 'string',
    keepKey: false, termsAgreed: true, createdAt: 0, step, history: [{ step: 'new', at: 1000 }, { step, at: 2000, note: 'why' }], attempts: 0, challengePosted: false, refusals: [], hasKey: false,
    ...extra,
  };
}

function certificate(extra: Partial<CertificateRecord> = {}): CertificateRecord {
  return {
    schema: 1, identityId: 'id1', email: 'alice@example.org', directoryUrl: 'https://ca.example/dir', enrollmentId: 'e1', keyType: 'P-256', usage: 'both',
    chainPem: '', emails: ['alice@example.org'], notBefore: 0, notAfter: 90 * 86_400_000, sha256Fingerprint: 'AA:BB', serialNumber: '01', issuer: 'CN=CA', dbKey: 'k',
    installedAt: 0, renewAt: 60 * 86_400_000, renewalSource: 'lifetime', ...extra,
  };
}

function state(extra: Partial<PopupState> = {}): PopupState {
  return {
    identities: [alice, bob], directoryUrl: 'https://ca.example/dir', locked: false,
    defaults: { keyType: 'P-256', usage: 'both', keepKey: false, askBeforeReplying: false },
    enrollments: [], certificates: [], autoRenew: 'user', passphrasesToShow: [], ...extra,
  };
}

const view = (s: PopupState, extra: Partial<PopupInput> = {}) => popupView({ state: s, shownIdentityId: 'id1', caRead: 'read', generatePassphrase: true, now: 0, ...extra });

/** The message a phrase names (a literal or a join is not one). */
function message(p: Phrase | undefined): Message {
  if (p === undefined || typeof p === 'string' || !('key' in p)) throw new Error(`not a message: ${JSON.stringify(p)}`);
  return p;
}

/** Renders a phrase with the English sentences, as the DOM layer does with t(). */
const en = JSON.parse(readFileSync('_locales/en/messages.json', 'utf8')) as Record<string, { message: string; placeholders?: Record<string, { content: string }> }>;
function english(phrase: Phrase): string {
  if (typeof phrase === 'string') return phrase;
  if ('time' in phrase) return String(phrase.time);
  if ('join' in phrase) return phrase.join.map(english).join(phrase.separator);
  const entry = en[phrase.key];
  if (!entry) return `?${phrase.key}`;
  const args = phrase.args.map(english);
  let text = entry.message;
  for (const [name, p] of Object.entries(entry.placeholders ?? {})) text = text.replace(new RegExp(`\\$${name}\\$`, 'gi'), p.content);
  return text.replace(/\$(\d)/g, (_m, n: string) => args[Number(n) - 1] ?? '');
}

describe('popupView: the start form', () => {
  it('is offered for an identity with nothing running and no valid certificate', () => {
    expect(view(state()).start.visible).toBe(true);
  });

  it('is hidden while an enrollment runs, and comes back once it ended', () => {
    expect(view(state({ enrollments: [enrollment('awaiting-mail')] })).start.visible).toBe(false);
    expect(view(state({ enrollments: [enrollment('failed')] })).start.visible).toBe(true);
    expect(view(state({ enrollments: [enrollment('cancelled')] })).start.visible).toBe(true);
  });

  it('is hidden while a valid certificate exists ("Renew" is the way), shown again once it is revoked', () => {
    expect(view(state({ certificates: [certificate()] })).start.visible).toBe(false);
    expect(view(state({ certificates: [certificate({ revoked: { at: 5, reason: 0 } })] })).start.visible).toBe(true);
  });

  it('is hidden without a CA or an identity', () => {
    expect(view(state({ directoryUrl: '' })).start.visible).toBe(false);
    expect(view(state({ directoryUrl: '' })).noCa).toBe(true);
    expect(view(state({ identities: [] }), { shownIdentityId: '' }).start.visible).toBe(false);
  });

  it('keeps Start disabled, saying so, until the CA directory was read; a failed read does not block', () => {
    expect(view(state(), { caRead: 'reading' }).start).toMatchObject({ startDisabled: true, caReading: true });
    expect(view(state(), { caRead: 'read' }).start).toMatchObject({ startDisabled: false, caReading: false });
    expect(view(state(), { caRead: 'failed' }).start).toMatchObject({ startDisabled: false, caReading: false });
  });

  it('shows the passphrase fields only when none is generated, and the terms link only when the CA has terms', () => {
    expect(view(state(), { generatePassphrase: true }).start.passphraseFields).toBe(false);
    expect(view(state(), { generatePassphrase: false }).start.passphraseFields).toBe(true);
    expect(view(state()).start.termsLink).toBeUndefined();
    expect(view(state(), { termsOfService: 'https://ca.example/tos' }).start.termsLink).toBe('https://ca.example/tos');
  });
});

describe('popupView: the identity', () => {
  it('keeps the identity shown, else picks the one whose enrollment runs, else the first', () => {
    const s = state({ enrollments: [enrollment('awaiting-mail', { identityId: 'id2' })] });
    expect(view(s, { shownIdentityId: 'id1' }).identities.selected).toBe('id1');
    expect(view(s, { shownIdentityId: '' }).identities.selected).toBe('id2');
    expect(view(state(), { shownIdentityId: '' }).identities.selected).toBe('id1');
    expect(view(state(), { shownIdentityId: 'gone' }).identities.selected).toBe('id1');
    expect(view(state()).identities.options).toEqual([{ value: 'id1', label: 'alice@example.org' }, { value: 'id2', label: 'bob@example.org' }]);
  });

  it('says whether the identity has S/MIME, or that there are no identities', () => {
    expect(view(state()).identityState).toEqual({ key: 'popupIdentityNoSmime', args: [] });
    expect(view(state(), { shownIdentityId: 'id2' }).identityState).toEqual({ key: 'popupIdentityHasSmime', args: [] });
    expect(view(state({ identities: [] }), { shownIdentityId: '' }).identityState).toEqual({ key: 'popupNoIdentities', args: [] });
  });
});

describe('popupView: the enrollment', () => {
  it('shows the running enrollment rather than a finished one, with its step and history (key, step, time, note)', () => {
    const e = view(state({ enrollments: [enrollment('failed', { id: 'old' }), enrollment('validating')] })).enrollment;
    expect(e?.id).toBe('e1');
    expect(e?.stepLine).toEqual({ key: 'step_validating', args: [] });
    expect(e?.title).toEqual({ key: 'popupEnrollmentFor', args: ['alice@example.org'] });
    expect(e?.history).toEqual([
      { step: 'new', line: { key: 'popupStepAt', args: [{ key: 'step_new', args: [] }, { time: 1000 }] } },
      { step: 'validating', line: { key: 'popupStepAt', args: [{ key: 'step_validating', args: [] }, { time: 2000 }] }, note: 'why' },
    ]);
    expect(e).toMatchObject({ cancel: true, dismiss: false });
    expect(view(state({ enrollments: [enrollment('failed')] })).enrollment).toMatchObject({ cancel: false, dismiss: true });
    expect(view(state()).enrollment).toBeUndefined();
  });

  it('never calls the installed step a plain success when Thunderbird cannot use the certificate', () => {
    const line = (usability?: 'ready' | 'untrusted-root' | 'expired') => view(state({ enrollments: [enrollment('installed', usability === undefined ? {} : { usability })] })).enrollment?.stepLine;
    expect(line('ready')).toEqual({ key: 'popupInstalledReady', args: [] });
    expect(line('untrusted-root')).toEqual({ key: 'popupInstalledUnusable', args: [] });
    expect(line('expired')).toEqual({ key: 'popupInstalledUnusable', args: [] });
    expect(line()).toEqual({ key: 'step_installed', args: [] });
    // Nor the installed line of the step history.
    const history = (usability: 'ready' | 'declined') => {
      const e = enrollment('installed', { usability, history: [{ step: 'new', at: 1 }, { step: 'installed', at: 2 }] });
      return view(state({ enrollments: [e] })).enrollment?.history.find((h) => h.step === 'installed')?.line;
    };
    expect(history('declined')).toMatchObject({ key: 'popupStepAt', args: [{ key: 'popupInstalledUnusable', args: [] }, { time: 2 }] });
    expect(history('ready')).toMatchObject({ key: 'popupStepAt', args: [{ key: 'popupInstalledReady', args: [] }, { time: 2 }] });
  });

  it('shows the consent question only while awaiting consent', () => {
    const pendingReply = { mailId: 1, headerMessageId: '<m@ca>', subject: 'ACME: tok', author: 'ca@ca.example', date: 1, replyTo: 'ca@ca.example', replySubject: 'Re: ACME: tok', body: '', joinUsed: 'string' as const, authenticity: 'DKIM pass' };
    expect(view(state({ enrollments: [enrollment('awaiting-consent', { pendingReply })] })).enrollment?.consent).toEqual({
      from: { key: 'popupConsentFrom', args: ['ca@ca.example'] },
      subject: { key: 'popupConsentSubject', args: ['ACME: tok'] },
      authenticity: { key: 'popupConsentAuthenticity', args: ['DKIM pass'] },
    });
    expect(view(state({ enrollments: [enrollment('replying', { pendingReply })] })).enrollment?.consent).toBeUndefined();
  });

  it('asks for the passphrase only when needed: at install, or before ordering with the kept key', () => {
    const prompt = (step: Step, needsPassphrase?: boolean) => view(state({ enrollments: [enrollment(step, needsPassphrase === undefined ? {} : { needsPassphrase })] })).enrollment?.passphrasePrompt;
    expect(prompt('installing', true)).toEqual({ visible: true, forKeptKey: false });
    expect(prompt('new', true)).toEqual({ visible: true, forKeptKey: true });
    expect(prompt('installing')?.visible).toBe(false);
    expect(prompt('installing', false)?.visible).toBe(false);
    expect(prompt('validating', true)?.visible).toBe(false);
  });

  it('offers the manual path only while awaiting the mail', () => {
    expect(view(state({ enrollments: [enrollment('awaiting-mail')] })).enrollment?.manual).toBe(true);
    for (const step of ['ordered', 'awaiting-consent', 'replied', 'failed'] as const) expect(view(state({ enrollments: [enrollment(step)] })).enrollment?.manual).toBe(false);
  });

  it('lists every refused mail with its reason keys, the detail standing in for a reason without a sentence', () => {
    const refusals: Refusal[] = [{ headerMessageId: '<x@evil>', subject: 'ACME: x', author: 'evil@example.net', at: 3, reasons: ['from-mismatch', 'dkim-failed'], detail: 'From is not the CA' }];
    const e = view(state({ enrollments: [enrollment('awaiting-mail', { refusals })] })).enrollment;
    expect(e?.refusals).toEqual([
      {
        reasons: ['from-mismatch', 'dkim-failed'],
        line: {
          key: 'popupRefusal',
          args: ['ACME: x', 'evil@example.net', { join: [{ key: 'refusal_from_mismatch', args: [], orElse: 'From is not the CA' }, { key: 'refusal_dkim_failed', args: [], orElse: 'From is not the CA' }], separator: ' ' }],
        },
      },
    ]);
    expect(e?.nonconformant).toBeUndefined();
  });

  it('names what a mail from a CA that does not mark or sign it lacks, only while awaiting mail', () => {
    const refusals: Refusal[] = [{ headerMessageId: '<y@ca>', subject: 'ACME: y', author: 'ca@ca.example', at: 3, reasons: ['not-auto-submitted', 'dkim-missing', 'not-authentic'], detail: '' }];
    const odd = view(state({ enrollments: [enrollment('awaiting-mail', { refusals })] })).enrollment?.nonconformant;
    expect(odd).toEqual({
      subject: 'ACME: y',
      missing: 'auto-submitted signature',
      text: { key: 'popupNonConformant', args: ['ACME: y', { join: [{ key: 'popupMissing_autoSubmitted', args: [] }, { key: 'popupMissing_signature', args: [] }], separator: ' ' }] },
    });
    expect(view(state({ enrollments: [enrollment('failed', { refusals })] })).enrollment?.nonconformant).toBeUndefined();
  });

  it('says what went wrong: the code in words with the message, the CA detail, the link', () => {
    const error = { code: 'userActionRequired' as const, message: 'terms changed', problem: { type: 'urn:ietf:params:acme:error:userActionRequired', detail: 'agree again' }, link: 'https://ca.example/tos2', at: 9 };
    expect(view(state({ enrollments: [enrollment('failed', { error })] })).enrollment?.error).toEqual({
      message: { join: [{ key: 'error_userActionRequired', args: [] }, '(terms changed)'], separator: ' ' },
      // The whole problem document in words: the sentence for its type, then the CA's detail.
      problem: { join: [{ join: [{ key: 'problem_userActionRequired', args: [] }, { key: 'popupProblemDetail', args: ['agree again'] }], separator: ' ' }], separator: ' ' },
      link: 'https://ca.example/tos2',
    });
    expect(view(state({ enrollments: [enrollment('failed')] })).enrollment?.error).toBeUndefined();
  });

  it('says which join was used, learned or set, and that a second order tried the other', () => {
    const e = view(state({ enrollments: [enrollment('validating', { joinUsed: 'bytes', joinChoice: 'learned', tokenJoin: 'bytes', joinRetriedFrom: { join: 'string', at: 1 } })] })).enrollment;
    expect(e?.joinUsed).toEqual({ key: 'popupJoinUsedLearned', args: [{ key: 'tokenJoin_bytes', args: [] }] });
    expect(e?.joinRetry).toEqual({ key: 'popupJoinRetry', args: [{ key: 'tokenJoin_string', args: [] }, { key: 'tokenJoin_bytes', args: [] }] });
    expect(message(view(state({ enrollments: [enrollment('validating', { joinUsed: 'string', joinChoice: 'setting' })] })).enrollment?.joinUsed).key).toBe('popupJoinUsed');
  });
});

describe('popupView: the certificate', () => {
  const verified = { verdict: 'ready' as const, checkedAt: 1, signing: { ok: true, errorName: '', errorCode: 0 }, encryption: { ok: true, errorName: '', errorCode: 0 } };
  const ROOT = { subject: 'CN=Root', sha256Fingerprint: 'RO:OT', der: 'MA==' };
  const declined = { verdict: 'declined' as const, checkedAt: 1, signing: { ok: false, errorName: 'SEC_ERROR_UNTRUSTED_ISSUER', errorCode: 1 }, encryption: { ok: false, errorName: 'SEC_ERROR_UNTRUSTED_ISSUER', errorCode: 1 }, root: ROOT };

  it('summarises it, and keeps Renew disabled while an enrollment runs and Revoke once revoked', () => {
    const c = view(state({ certificates: [certificate()] })).certificate;
    expect(c?.lines).toEqual({
      emails: { key: 'popupCertEmails', args: ['alice@example.org'] },
      usage: { key: 'popupCertUsage', args: [{ key: 'usage_both', args: [] }] },
      expiry: { key: 'popupCertExpiry', args: [{ time: 90 * 86_400_000 }] },
      fingerprint: { key: 'popupCertFingerprint', args: ['AA:BB'] },
      renewAt: { key: 'popupCertRenewAt', args: [{ time: 60 * 86_400_000 }, { key: 'renewalSource_lifetime', args: [] }] },
    });
    expect(c).toMatchObject({ renewDisabled: false, revokeDisabled: false, downloadPassphrase: true });
    expect(c?.revoked).toBeUndefined();
    expect(view(state({ certificates: [certificate()], enrollments: [enrollment('finalizing')] })).certificate?.renewDisabled).toBe(true);
    const revoked = view(state({ certificates: [certificate({ revoked: { at: 7, reason: 1 } })] }));
    expect(revoked.certificate).toMatchObject({ revokeDisabled: true, downloadPassphrase: false, revoked: { key: 'popupCertRevoked', args: [{ time: 7 }] } });
    expect(revoked.renewal).toBeUndefined();
    expect(view(state()).certificate).toBeUndefined();
  });

  it('offers the send defaults once Thunderbird verifies it, and the root question again only when asked', () => {
    expect(view(state({ certificates: [certificate({ usability: verified })] })).certificate?.usability).toMatchObject({ verdict: 'ready', summary: { key: 'usability_ready_both' }, askAgain: false, sendDefaults: { canSign: true, canEncrypt: true } });
    const before = view(state({ certificates: [certificate({ usability: declined })] })).certificate?.usability;
    expect(before).toMatchObject({ askAgain: true, detail: { key: 'popupUsabilityDetail', args: ['SEC_ERROR_UNTRUSTED_ISSUER'] } });
    expect(before?.trustQuestion).toBeUndefined();
    const asked = view(state({ certificates: [certificate({ usability: declined })] }), { askingAgain: 'id1' }).certificate?.usability;
    expect(asked?.askAgain).toBe(false);
    expect(asked?.trustQuestion).toEqual({ subject: { key: 'popupTrustRootSubject', args: ['CN=Root'] }, fingerprint: { key: 'popupTrustRootFingerprint', args: ['RO:OT'] }, sha256Fingerprint: 'RO:OT' });
  });

  it('draws the renewal panel from the renewal view, with the key kept by its enrollment', () => {
    const kept = view(state({ certificates: [certificate()], enrollments: [enrollment('installed', { keepKey: true, hasKey: true })], autoRenew: 'off' })).renewal;
    expect(kept).toEqual({ autoRenew: { checked: false, disabled: true }, forced: { key: 'popupAutoRenewForcedOff', args: [] }, key: { key: 'popupRenewalKeySame', args: [] } });
    expect(view(state({ certificates: [certificate()] })).renewal?.key).toEqual({ key: 'popupRenewalKeyNew', args: [] });
  });

  it('asks Thunderbird to judge again on opening only for a checked, unrevoked certificate', () => {
    expect(recheckOnOpen(state({ certificates: [certificate({ usability: verified })] }), 'id1')).toBe('id1');
    expect(recheckOnOpen(state({ certificates: [certificate()] }), 'id1')).toBeUndefined();
    expect(recheckOnOpen(state({ certificates: [certificate({ usability: verified, revoked: { at: 1, reason: 0 } })] }), 'id1')).toBeUndefined();
  });
});

describe('the form rules', () => {
  it('agrees to terms only once read, shown and ticked', () => {
    expect(termsAgreement('reading', undefined, true)).toBe(false);
    expect(termsAgreement('failed', 'https://ca.example/tos', true)).toBe(false);
    expect(termsAgreement('read', undefined, false)).toBe(true);
    expect(termsAgreement('read', 'https://ca.example/tos', false)).toBe('required');
    expect(termsAgreement('read', 'https://ca.example/tos', true)).toBe(true);
  });

  it('takes a typed passphrase only when long enough and confirmed; none when one is generated', () => {
    expect(passphraseChoice(true, 'x', 'y')).toEqual({ passphrase: undefined });
    expect(passphraseChoice(false, 'short', 'short')).toEqual({ problem: { key: 'popupPassphraseShort', args: [] } });
    expect(passphraseChoice(false, 'long enough 1', 'long enough 2')).toEqual({ problem: { key: 'popupPassphraseMismatch', args: [] } });
    expect(passphraseChoice(false, 'long enough 1', 'long enough 1')).toEqual({ passphrase: 'long enough 1' });
  });

  it('explains a refused request by its code, an unknown one as unexpected, the CA detail after it', () => {
    expect(requestFailure('no-such-code', 'boom', undefined)).toEqual({ key: 'popupUnexpected', args: ['boom'] });
    const known = message(requestFailure('busy', 'locked', undefined));
    expect(known).toEqual({ key: 'request_busy', args: [], orElse: { key: 'popupUnexpected', args: ['locked'] } });
    expect(requestFailure('no-such-code', 'boom', 'rate limited')).toEqual({ join: [{ key: 'popupUnexpected', args: ['boom'] }, { key: 'popupProblemDetail', args: ['rate limited'] }], separator: ' ' });
  });
});

describe('a CA problem document, whole', () => {
  it('says what each subproblem is about, with the address, instead of one flattened detail', () => {
    const text = english(requestFailure('ca', 'refused', 'Several identifiers were refused', {
      type: 'urn:ietf:params:acme:error:compound',
      detail: 'Several identifiers were refused',
      subproblems: [{ type: 'urn:ietf:params:acme:error:rejectedIdentifier', detail: 'not for example.net', identifier: { type: 'email', value: 'bob@example.net' } }],
    }));
    expect(text).toContain('several problems');
    expect(text).toContain('For bob@example.net: The certificate authority does not issue certificates for this address.');
    expect(text).toContain('not for example.net');
    expect(text).not.toContain('urn:ietf');
  });
});

describe('one certificate for several addresses', () => {
  const carol: IdentityView = { id: 'id3', email: 'carol@example.net', name: 'Carol', accountName: 'c', smime: null };
  const ALICE = { identityId: 'id1', email: 'alice@example.org' };
  const BOB = { identityId: 'id2', email: 'bob@example.org' };
  const CAROL = { identityId: 'id3', email: 'carol@example.net' };
  const confirmedAlice = { ...ALICE, authorizationUrl: 'https://ca.example/authz/1', answeredMail: '<c1@ca>' };
  const three = state({ identities: [alice, bob, carol] });
  /** An enrollment of alice's for alice, bob and carol, that reached `step` after `before`. */
  const several = (step: Step, extra: Partial<EnrollmentView> = {}, before: Step = 'awaiting-mail') =>
    enrollment(step, { addresses: [ALICE, BOB, CAROL], history: [{ step: 'new', at: 1 }, { step: before, at: 2 }, { step, at: 3 }], ...extra });
  const progress = (e: EnrollmentView, shown = 'id1') => view(state({ identities: [alice, bob, carol], enrollments: [e] }), { shownIdentityId: shown }).enrollment?.addresses?.map((a) => [a.email, a.progress]);

  describe('the start form', () => {
    it('offers every other identity, of any account, labelled with its address, none ticked', () => {
      expect(view(three).start.alsoFor).toEqual({
        visible: true,
        options: [
          { identityId: 'id2', label: 'bob@example.org', checked: false },
          { identityId: 'id3', label: 'carol@example.net', checked: false },
        ],
      });
      expect(view(three, { shownIdentityId: 'id2' }).start.alsoFor.options.map((o) => o.identityId)).toEqual(['id1', 'id3']);
    });

    it('keeps what the user ticked across redraws', () => {
      expect(view(three, { alsoForChecked: ['id3'] }).start.alsoFor.options.map((o) => o.checked)).toEqual([false, true]);
    });

    it('is hidden when there is only one identity', () => {
      expect(view(state({ identities: [alice] })).start.alsoFor).toEqual({ visible: false, options: [] });
    });

    it('does not offer an identity that a running enrollment covers, and offers it again once that ended', () => {
      const bobsOwn = enrollment('awaiting-mail', { id: 'b', identityId: 'id2', email: 'bob@example.org' });
      expect(view(state({ identities: [alice, bob, carol], enrollments: [bobsOwn] })).start.alsoFor.options.map((o) => o.identityId)).toEqual(['id3']);
      // Carol is covered by an enrollment that bob owns.
      const bobAndCarol = enrollment('validating', { id: 'bc', identityId: 'id2', email: 'bob@example.org', addresses: [BOB, CAROL] });
      expect(view(state({ identities: [alice, bob, carol], enrollments: [bobAndCarol] })).start.alsoFor).toEqual({ visible: false, options: [] });
      const ended = enrollment('failed', { id: 'bc', identityId: 'id2', email: 'bob@example.org', addresses: [BOB, CAROL] });
      expect(view(state({ identities: [alice, bob, carol], enrollments: [ended] })).start.alsoFor.options.map((o) => o.identityId)).toEqual(['id2', 'id3']);
    });

    it('offers an address once: not a second identity of the selected address, nor of one already offered', () => {
      const aliceAgain: IdentityView = { ...alice, id: 'id4', accountName: 'other', email: 'Alice@Example.org' };
      const carolAgain: IdentityView = { ...carol, id: 'id5' };
      const s = state({ identities: [alice, bob, carol, aliceAgain, carolAgain] });
      expect(view(s).start.alsoFor.options.map((o) => o.identityId)).toEqual(['id2', 'id3']);
      expect(view(s, { shownIdentityId: 'id5' }).start.alsoFor.options.map((o) => o.identityId)).toEqual(['id1', 'id2']);
    });

    it('sends alsoFor with the ticked identities it offered, in its order, and leaves it out when none is ticked', () => {
      const options = view(three).start.alsoFor.options;
      expect(alsoForField(options, [])).toEqual({});
      expect(alsoForField(options, ['id3', 'id2'])).toEqual({ alsoFor: ['id2', 'id3'] });
      // A tick left from an identity no longer offered (now selected, or busy) is not sent.
      expect(alsoForField(options, ['id1', 'gone'])).toEqual({});
    });
  });

  describe('the enrollment', () => {
    it('shows on every identity it covers, not on the others, and hides their start form while it runs', () => {
      const e = enrollment('awaiting-mail', { addresses: [ALICE, BOB] });
      const s = state({ identities: [alice, bob, carol], enrollments: [e] });
      expect(view(s, { shownIdentityId: 'id2' }).enrollment?.id).toBe('e1');
      expect(view(s, { shownIdentityId: 'id2' }).start.visible).toBe(false);
      expect(view(s, { shownIdentityId: 'id3' }).enrollment).toBeUndefined();
      expect(view(s, { shownIdentityId: 'id3' }).start.visible).toBe(true);
      // A one-address enrollment stays its own identity's.
      expect(view(state({ enrollments: [enrollment('awaiting-mail')] }), { shownIdentityId: 'id2' }).enrollment).toBeUndefined();
    });

    it('names every address in its title; a one-address enrollment has no address list', () => {
      expect(view(state({ identities: [alice, bob, carol], enrollments: [several('ordered')] })).enrollment?.title).toEqual({ key: 'popupEnrollmentFor', args: ['alice@example.org, bob@example.org, carol@example.net'] });
      expect(view(state({ enrollments: [enrollment('awaiting-mail')] })).enrollment?.addresses).toBeUndefined();
    });

    it('says per address where it is: confirmed, waiting for its mail, its mail waiting for the OK, answered, not yet', () => {
      const onBob = { current: BOB, confirmed: [confirmedAlice] };
      expect(progress(several('awaiting-mail', onBob))).toEqual([['alice@example.org', 'confirmed'], ['bob@example.org', 'waiting'], ['carol@example.net', 'not-yet']]);
      expect(progress(several('awaiting-consent', onBob))?.[1]).toEqual(['bob@example.org', 'consent']);
      for (const step of ['replying', 'replied', 'validating'] as const) expect(progress(several(step, onBob))?.[1]).toEqual(['bob@example.org', 'replied']);
      // Between two addresses (the next authorization being fetched): nobody waits yet.
      expect(progress(several('ordered', { confirmed: [confirmedAlice] }))).toEqual([['alice@example.org', 'confirmed'], ['bob@example.org', 'not-yet'], ['carol@example.net', 'not-yet']]);
      // The first address, before `current` is written.
      expect(progress(several('awaiting-mail'))).toEqual([['alice@example.org', 'waiting'], ['bob@example.org', 'not-yet'], ['carol@example.net', 'not-yet']]);
      // Past validation every address is proven; the same list shows on bob's entry.
      for (const step of ['finalizing', 'installed'] as const) expect(progress(several(step), 'id2')?.map(([, p]) => p)).toEqual(['confirmed', 'confirmed', 'confirmed']);
    });

    it('says each line in words with its address', () => {
      const lines = view(state({ identities: [alice, bob, carol], enrollments: [several('awaiting-mail', { current: BOB, confirmed: [confirmedAlice] })] })).enrollment?.addresses?.map((a) => english(a.line));
      expect(lines).toEqual(['alice@example.org: confirmed', 'bob@example.org: waiting for its challenge mail', 'carol@example.net: not yet']);
      expect(view(state({ identities: [alice, bob, carol], enrollments: [several('awaiting-mail')] })).enrollment?.addresses?.map((a) => a.identityId)).toEqual(['id1', 'id2', 'id3']);
    });

    it('names the address a failed challenge stopped at, next to the flow\'s error', () => {
      const error = { code: 'timeout' as const, message: 'no challenge mail within 10 minutes', at: 9 };
      const failed = several('failed', { current: BOB, confirmed: [confirmedAlice], error });
      const e = view(state({ identities: [alice, bob, carol], enrollments: [failed] })).enrollment;
      expect(e?.error?.address).toEqual({ key: 'popupErrorAddress', args: ['bob@example.org'] });
      expect(e?.error?.message).toEqual({ join: [{ key: 'error_timeout', args: [] }, '(no challenge mail within 10 minutes)'], separator: ' ' });
      expect(e?.addresses?.map((a) => a.progress)).toEqual(['confirmed', 'stopped', 'not-yet']);
      // Cancelled while waiting: stopped there too, without an error.
      expect(progress(several('cancelled', { current: BOB, confirmed: [confirmedAlice] }))?.[1]).toEqual(['bob@example.org', 'stopped']);
      // Failed before any challenge (the CA refused the order): no address is to blame.
      const early = view(state({ identities: [alice, bob, carol], enrollments: [several('failed', { error }, 'account')] })).enrollment;
      expect(early?.error?.address).toBeUndefined();
      expect(early?.addresses?.map((a) => a.progress)).toEqual(['not-yet', 'not-yet', 'not-yet']);
      // Failed after validation (finalizing): every address was proven, none is named.
      expect(view(state({ identities: [alice, bob, carol], enrollments: [several('failed', { error }, 'finalizing')] })).enrollment?.error?.address).toBeUndefined();
      // One address: the title already says which.
      expect(view(state({ enrollments: [enrollment('failed', { error, history: [{ step: 'awaiting-mail', at: 1 }, { step: 'failed', at: 2 }] })] })).enrollment?.error?.address).toBeUndefined();
    });
  });

  describe('the certificate', () => {
    const identities = [ALICE, BOB, CAROL];
    const owners = certificate({ identities, emails: ['alice@example.org', 'bob@example.org', 'carol@example.net'] });
    const bobs = certificate({ identityId: 'id2', email: 'bob@example.org', identities, coveredBy: 'id1', emails: owners.emails });

    it('lists the other addresses it is valid for, on each of its identities', () => {
      expect(view(state({ identities: [alice, bob, carol], certificates: [owners] })).certificate?.alsoValidFor).toEqual({ key: 'popupCertAlsoFor', args: ['bob@example.org, carol@example.net'] });
      expect(view(state({ identities: [alice, bob, carol], certificates: [owners, bobs] }), { shownIdentityId: 'id2' }).certificate?.alsoValidFor).toEqual({ key: 'popupCertAlsoFor', args: ['alice@example.org, carol@example.net'] });
      expect(view(state({ certificates: [certificate()] })).certificate?.alsoValidFor).toBeUndefined();
    });

    it('offers Renew and Revoke on the owner\'s record only, saying they act for every address', () => {
      const own = view(state({ identities: [alice, bob, carol], certificates: [owners, bobs] })).certificate;
      expect(own).toMatchObject({ renewRevoke: true, actsForAll: { key: 'popupCertActsForAll', args: ['alice@example.org, bob@example.org, carol@example.net'] } });
      expect(own?.coveredBy).toBeUndefined();
      const other = view(state({ identities: [alice, bob, carol], certificates: [owners, bobs] }), { shownIdentityId: 'id2' });
      expect(other.certificate).toMatchObject({
        renewRevoke: false,
        coveredBy: { text: { key: 'popupCertCoveredBy', args: ['alice@example.org'] }, button: { key: 'popupCertShowOwner', args: ['alice@example.org'] }, identityId: 'id1' },
      });
      expect(other.certificate?.actsForAll).toBeUndefined();
      // Its renewal is the owner's: no renewal switch of its own.
      expect(other.renewal).toBeUndefined();
      expect(view(state({ identities: [alice, bob, carol], certificates: [owners, bobs] })).renewal).toBeDefined();
      // A one-address certificate: the controls as always, nothing about other addresses.
      const single = view(state({ certificates: [certificate()] })).certificate;
      expect(single).toMatchObject({ renewRevoke: true });
      expect(single?.actsForAll).toBeUndefined();
      expect(single?.coveredBy).toBeUndefined();
    });
  });
});
