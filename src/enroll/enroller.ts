/**
 * The enrollment flow's request API: what the background (alarms, mail events, the popup's
 * requests) and the command line ask of it. ACME order (RFC 8555 §7.4) → email-reply-00
 * challenge (RFC 8823 §3) → finalize → download → PKCS#12 → install, persisted after every
 * transition so that a background stopped at any moment resumes from the stored URLs.
 *
 * This file only takes the right lock and hands over; each step and each rule has its own file
 * (docs/ARCHITECTURE.md maps them). Invariants, each covered by test/enroll:
 * - one reply per challenge (./steps/reply.ts);
 * - a mail that fails any check is never answered, and the refusal is kept with its reasons
 *   (./mail/decision.ts, the answer rule);
 * - no candidate mail is lost to a check that could not finish (./mail/intake.ts);
 * - the certificate key exists only as encrypted PKCS#8 in storage, and is removed after
 *   installation unless the user chose to keep it; the passphrase lives only in the session;
 * - reply first, then POST to the challenge; POST first only after the configured wait with no
 *   mail (./steps/await-mail.ts);
 * - polling honours Retry-After; transient failures are retried with back-off, then reported
 *   (./schedule.ts).
 *
 * Every operation on one enrollment runs under that enrollment's lock, and every write of a
 * certificate record under the identity's certificate lock (./lock.ts), so a mail event, a timer
 * and a popup request never interleave on one record; different enrollments proceed independently.
 */
import { revoke, revokeWithCertificateKey, type RevokedByKey } from './certificates/revocation';
import { declineRoot, recheck, setSendDefaults, trustRoot } from './certificates/usability';
import { checkRenewals, nextRenewalCheckAt, renewalPlan, setAutoRenew, type RenewalPlan } from './certificates/renewal';
import type { EnrollerDeps } from './deps';
import { EnrollRequestError, messageOf } from './errors';
import { Flow } from './flow';
import { downloadForUser, type Downloaded } from './certificates/download';
import { newMail } from './mail/intake';
import type { MailRef, RevocationReason } from './ports';
import { dueAt } from './schedule';
import { KEYS, isTerminal, type CertificateRecord, type Enrollment } from './state';
import { run } from './steps/run';
import { startEnrollment, type StartRequest, type Started } from './start';
import { provideKeyPassphrase } from './steps/same-key';
import { declineReply, sentElsewhere, sendReply } from './steps/reply';
import { listCertificates, listEnrollments, loadCertificate } from './store';

export type { EnrollerDeps } from './deps';
export type { StartRequest, Started } from './start';

export class Enroller {
  private readonly flow: Flow;

  constructor(deps: EnrollerDeps) {
    this.flow = new Flow(deps);
  }

  private get deps(): EnrollerDeps {
    return this.flow.deps;
  }

  // ---------------------------------------------------------------- starting

  /**
   * Records a new enrollment: key and CSR are made first, so that nothing after this needs the
   * passphrase until installation. Returns the record and, when the flow made the passphrase,
   * that passphrase (to be shown once). Under the lock of every identity it names: two requests
   * at once cannot both pass the "one running enrollment per identity" check (./start.ts).
   */
  start(request: StartRequest): Promise<Started> {
    return startEnrollment(this.flow, request);
  }

  // ---------------------------------------------------------------- running

  /** Runs an enrollment as far as it can go now. */
  advance(id: string): Promise<Enrollment> {
    return this.flow.withEnrollment(id, async () => run(this.flow, await this.flow.load(id)));
  }

  /** On start-up and wake-up: every unfinished enrollment continues from its stored step. */
  async resumeAll(): Promise<void> {
    const active = (await this.list()).filter((e) => !isTerminal(e.step));
    await Promise.all(
      active.map((e) =>
        this.advance(e.id).catch((error: unknown) => {
          this.deps.log.debug(`resume ${e.id}: ${messageOf(error)}`);
        }),
      ),
    );
  }

  /** Timer: advances the enrollments whose wake-up time has come. */
  async tick(): Promise<void> {
    const now = this.flow.now();
    const due = (await this.list()).filter((e) => (dueAt(e) ?? Infinity) <= now);
    await Promise.all(due.map((e) => this.advance(e.id)));
  }

  /** The earliest time an enrollment wants to act by itself, for the alarm. */
  async nextWakeAt(): Promise<number | undefined> {
    const times = (await this.list()).map(dueAt).filter((at) => at !== undefined);
    return times.length === 0 ? undefined : Math.min(...times);
  }

  /** New mail (messages.onNewMailReceived); see ./mail/intake.ts. */
  onNewMail(mails: readonly MailRef[]): Promise<void> {
    return newMail(this.flow, mails, (e) => run(this.flow, e));
  }

  // ---------------------------------------------------------------- the user's answers

  /** "Ask before replying": the user answered yes. */
  approveReply(id: string): Promise<Enrollment> {
    return this.flow.withEnrollment(id, async () => {
      const e = await this.flow.load(id);
      if (e.step !== 'awaiting-consent' || !e.pendingReply) throw new EnrollRequestError('wrongStep', 'No reply is waiting for approval.');
      return run(this.flow, await sendReply(this.flow, e, e.pendingReply));
    });
  }

  /** "Ask before replying": the user said no; the mail is kept as refused and never answered. */
  declineReply(id: string): Promise<Enrollment> {
    return this.flow.withEnrollment(id, async () => {
      const e = await this.flow.load(id);
      if (e.step !== 'awaiting-consent' || !e.pendingReply) throw new EnrollRequestError('wrongStep', 'No reply is waiting for approval.');
      return declineReply(this.flow, e, e.pendingReply);
    });
  }

  /** The passphrase, asked again after a restart, so the certificate can be installed (or, for a renewal with the kept key, the CSR made). */
  providePassphrase(id: string, passphrase: string): Promise<Enrollment> {
    return this.flow.withEnrollment(id, async () => {
      const e = await this.flow.load(id);
      if (e.step === 'new' && e.csr === undefined) return run(this.flow, await provideKeyPassphrase(this.flow, e, passphrase));
      if (e.step !== 'installing') throw new EnrollRequestError('wrongStep', 'This enrollment does not need a passphrase now.');
      await this.deps.session.set({ [KEYS.passphrase(id)]: passphrase });
      return run(this.flow, e);
    });
  }

  cancel(id: string): Promise<Enrollment> {
    return this.flow.withEnrollment(id, async () => {
      const e = await this.flow.load(id);
      if (isTerminal(e.step)) return e;
      await this.deps.session.remove([KEYS.passphrase(id), KEYS.generatedPassphrase(id)]);
      await this.flow.releaseOrder(e);
      return this.flow.transition(e, 'cancelled', { encryptedKey: undefined, wakeAt: undefined, pendingReply: undefined }, 'cancelled by the user');
    });
  }

  /** Removes a finished enrollment from the list (its installed certificate stays). */
  dismiss(id: string): Promise<void> {
    return this.flow.withEnrollment(id, async () => {
      const e = await this.flow.load(id);
      if (!isTerminal(e.step)) throw new EnrollRequestError('wrongStep', 'Cancel the enrollment before removing it.');
      await this.deps.storage.remove([KEYS.enrollment(id)]);
      await this.deps.session.remove([KEYS.generatedPassphrase(id)]);
    });
  }

  /** Manual mode: the response for a challenge mail that arrived in another mail client. */
  manualResponse(id: string, subject: string): Promise<string> {
    return this.flow.withEnrollment(id, async () => {
      const e = await this.flow.load(id);
      if (e.step !== 'awaiting-mail' || e.tokenPart2 === undefined) throw new EnrollRequestError('wrongStep', 'This enrollment is not waiting for a challenge mail.');
      const thumbprint = await this.deps.acme.thumbprint(e.directoryUrl);
      return this.deps.mailCheck.respond(subject, e.tokenPart2, thumbprint, e.tokenJoin);
    });
  }

  /** Manual mode: the user sent the response from elsewhere; continue as after our own reply. */
  manualSent(id: string): Promise<Enrollment> {
    return this.flow.withEnrollment(id, async () => {
      const e = await this.flow.load(id);
      if (e.step !== 'awaiting-mail') throw new EnrollRequestError('wrongStep', 'This enrollment is not waiting for a challenge mail.');
      return run(this.flow, await sentElsewhere(this.flow, e));
    });
  }

  // ---------------------------------------------------------------- certificates

  /** Revokes the identity's certificate (RFC 8555 §7.6) and unsets it on the identity. */
  revoke(identityId: string, reason: RevocationReason): Promise<CertificateRecord> {
    return revoke(this.flow, identityId, reason);
  }

  /**
   * Revokes a certificate with its own key (RFC 8555 §7.6), taken out of a `.p12` the user picked;
   * when it is an identity's certificate from this add-on, it is unset there and marked revoked.
   */
  revokeWithCertificateKey(pkcs12: Uint8Array, passphrase: string, reason: RevocationReason): Promise<RevokedByKey> {
    return revokeWithCertificateKey(this.flow, pkcs12, passphrase, reason);
  }

  /**
   * The user starts a renewal of the identity's certificate with the same settings (RFC 9773
   * `replaces`): with the kept key when there is one (`passphrase` is then that key's; without
   * it, the session's, else the renewal waits for it), else a new key under `passphrase` or a
   * generated one.
   */
  async renew(identityId: string, passphrase: string | undefined, termsAgreed: boolean): Promise<Started> {
    const plan = await renewalPlan(this.flow, identityId);
    return this.startRenewal(plan, 'user', termsAgreed, passphrase);
  }

  private startRenewal(plan: RenewalPlan, renewal: 'user' | 'auto', termsAgreed: boolean, passphrase?: string): Promise<Started> {
    const { record } = plan;
    const given = passphrase ?? (plan.keptKey === undefined ? undefined : plan.passphrase);
    const others = (record.identities ?? []).filter((a) => a.identityId !== record.identityId);
    return this.start({
      identityId: record.identityId,
      email: record.email,
      ...(others.length === 0 ? {} : { alsoFor: others }),
      keyType: record.keyType,
      usage: record.usage,
      termsAgreed,
      renewal,
      ...(given === undefined ? {} : { passphrase: given }),
      ...(plan.replaces === undefined ? {} : { replaces: plan.replaces }),
      ...(plan.keptKey === undefined ? {} : { keptKey: plan.keptKey }),
    });
  }

  /**
   * An unattended renewal. A new key's passphrase is generated and kept in storage.session only
   * until the popup has shown it once (`revealGeneratedPassphrase`): the `.p12` offered after
   * installation is protected with it.
   */
  private async startAutoRenewal(record: CertificateRecord): Promise<Enrollment> {
    const plan = await renewalPlan(this.flow, record.identityId);
    const started = await this.startRenewal(plan, 'auto', plan.termsAgreed);
    if (started.generatedPassphrase !== undefined) await this.deps.session.set({ [KEYS.generatedPassphrase(started.enrollment.id)]: started.generatedPassphrase });
    return started.enrollment;
  }

  /** The passphrase an unattended renewal generated, once: it is removed from the session as it is handed out. */
  async revealGeneratedPassphrase(enrollmentId: string): Promise<string> {
    const key = KEYS.generatedPassphrase(enrollmentId);
    const value = (await this.deps.session.get([key]))[key];
    if (typeof value !== 'string') throw new EnrollRequestError('wrongStep', 'There is no passphrase to show for this enrollment (it was shown already, or Thunderbird was restarted since).');
    await this.deps.session.remove([key]);
    return value;
  }

  /** Enrollments whose generated passphrase waits to be shown. */
  async generatedPassphrasesWaiting(): Promise<string[]> {
    const ids = (await this.list()).map((e) => e.id);
    const found = await this.deps.session.get(ids.map(KEYS.generatedPassphrase));
    return ids.filter((id) => typeof found[KEYS.generatedPassphrase(id)] === 'string');
  }

  /** The user's choice for the identity: renew by itself when due, or not. */
  setAutoRenew(identityId: string, on: boolean): Promise<CertificateRecord> {
    return setAutoRenew(this.flow, identityId, on);
  }

  /** The certificate for the user to keep: a `.p12` under `passphrase` (Thunderbird's export, else the kept key), or the chain. */
  download(identityId: string, passphrase: string | undefined): Promise<Downloaded> {
    return downloadForUser(this.flow, identityId, passphrase);
  }

  /** The user's consent to trust, for e-mail, the root shown with this fingerprint; then checked again. */
  trustRoot(identityId: string, sha256Fingerprint: string): Promise<CertificateRecord> {
    return trustRoot(this.flow, identityId, sha256Fingerprint);
  }

  /** The user declined to trust the root: the certificate stays installed but unusable, and says so. */
  declineRoot(identityId: string): Promise<CertificateRecord> {
    return declineRoot(this.flow, identityId);
  }

  /** Asks NSS again whether Thunderbird can use the identity's certificate. */
  recheck(identityId: string): Promise<CertificateRecord> {
    return recheck(this.flow, identityId);
  }

  /** Whether Thunderbird signs all mail from the identity / requires encryption, by default. */
  setSendDefaults(identityId: string, signMail: boolean, encrypt: boolean): Promise<CertificateRecord> {
    return setSendDefaults(this.flow, identityId, signMail, encrypt);
  }

  /**
   * The renewal check (daily, and at the earliest due time): refreshes ARI windows, starts the
   * unattended renewals that are due and runs them as far as they go, tells the user of the others.
   */
  async checkRenewals(): Promise<void> {
    const started = await checkRenewals(this.flow, (record) => this.startAutoRenewal(record));
    await Promise.all(
      started.map((e) =>
        this.advance(e.id).catch((error: unknown) => {
          this.deps.log.debug(`renewal ${e.id}: ${messageOf(error)}`);
        }),
      ),
    );
  }

  /** When the renewal check must next run by itself (a certificate due, a renewal to retry), for the alarm. */
  nextRenewalCheckAt(): Promise<number | undefined> {
    return nextRenewalCheckAt(this.flow);
  }

  // ---------------------------------------------------------------- queries

  list(): Promise<Enrollment[]> {
    return listEnrollments(this.deps.storage);
  }

  certificates(): Promise<CertificateRecord[]> {
    return listCertificates(this.deps.storage);
  }

  certificate(identityId: string): Promise<CertificateRecord | undefined> {
    return loadCertificate(this.deps.storage, identityId);
  }
}
