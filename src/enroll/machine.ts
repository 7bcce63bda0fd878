/**
 * The enrollment state machine: ACME order (RFC 8555 §7.4) → email-reply-00 challenge
 * (RFC 8823 §3) → finalize → download → PKCS#12 → install, persisted after every transition so
 * that a background stopped at any moment resumes from the stored URLs (STYLE.md 4).
 *
 * Invariants, each covered by test/enroll:
 * - one reply per challenge: the record goes to `replying` *before* the reply is handed to
 *   Thunderbird, and a record found in `replying` after a restart is treated as sent;
 * - a mail that fails any check is never answered, and the refusal is kept with its reasons;
 * - no candidate mail is lost to a check that could not finish: a temporary refusal (temperror:
 *   DNS unreachable) or a transient error schedules a rescan of recent mail, with back-off,
 *   until the validation time-out; only a refusal for good blocks a mail;
 * - the certificate key exists only as encrypted PKCS#8 in storage, and is removed after
 *   installation unless the user chose to keep it; the passphrase lives only in the session;
 * - reply first, then POST to the challenge; POST first only after the configured wait with no
 *   mail (DESIGN.md, "When the CA sends the challenge mail varies");
 * - polling honours Retry-After; transient failures are retried with back-off, then reported.
 *
 * Every operation on one enrollment runs under that enrollment's lock, so a mail event, a timer
 * and a popup request never interleave on it; different enrollments proceed independently.
 */
import { mayBeChallengeSubject } from '../messages/prefilter';
import type { RefusalReason } from '../messages/reasons';
import {
  PortError,
  type AcmePort,
  type CertStorePort,
  type Clock,
  type DownloadPort,
  type KeyPort,
  type KeyType,
  type Logger,
  type MailboxPort,
  type MailCheckPort,
  type MailRef,
  type Notifier,
  type ProblemInfo,
  type ReplyPort,
  type RevocationReason,
  type SessionPort,
  type StoragePort,
  type Usage,
} from './ports';
import type { Settings } from './settings';
import {
  CERTIFICATE_PREFIX,
  ENROLLMENT_PREFIX,
  KEYS,
  SCHEMA_VERSION,
  isTerminal,
  type CertificateRecord,
  type EnrollError,
  type Enrollment,
  type ErrorCode,
  type MailRetry,
  type PendingReply,
  type Refusal,
  type Step,
} from './state';
import { bytesToBase64, base64ToBytes } from './encoding';
import { LOCK, Locks } from './lock';

/**
 * Codes of refusals the flow itself adds to those of src/messages/reasons.ts. `will-retry` is
 * added to a temporary refusal, so the popup says the mail will be checked again.
 */
export const FLOW_REFUSAL_REASONS = ['compose-mismatch', 'user-declined', 'already-answered', 'will-retry'] as const;

/**
 * Refusal codes that say the check could not finish rather than that the mail is bad: the
 * RFC 8601 §2.7.1 `temperror` class (the DKIM key lookup failed: resolver unreachable, time-out).
 * A mail refused only for these is looked at again (finding 3 of docs/SECURITY.md).
 */
export const TEMPORARY_REFUSAL_REASONS: readonly RefusalReason[] = ['dkim-temperror'];

/** True when every reason is temporary: the mail must be checked again, not blocked. */
export function isTemporaryRefusal(refusal: Pick<Refusal, 'reasons' | 'temporary'>): boolean {
  // Records written before the flag existed are judged by their reasons.
  return refusal.temporary ?? (refusal.reasons.length > 0 && refusal.reasons.every((code) => (TEMPORARY_REFUSAL_REASONS as readonly string[]).includes(code)));
}

/** Transient failures in a row before the enrollment is reported as failed. */
export const MAX_ATTEMPTS = 6;
/** Default poll interval when the CA sends no Retry-After (RFC 8555 §7.5.1 leaves it to the client). */
export const DEFAULT_POLL_MS = 3_000;
/** Longest wait between polls, whatever Retry-After says: the user is watching the popup. */
export const MAX_POLL_MS = 10 * 60_000;
/**
 * Between our reply leaving and the POST to the challenge: time for the reply to reach the CA's
 * mailbox, since one CA validates at once after the POST and gives up within seconds (DESIGN.md).
 */
export const POST_AFTER_REPLY_MS = 3_000;
/** Mail older than the enrollment by more than this is not scanned (clock skew margin). */
export const SCAN_MARGIN_MS = 5 * 60_000;
/** Challenge-like mails remembered as already present at start: bounded like the scan itself. */
export const MAX_PREEXISTING = 200;
/** Refusals kept per enrollment: enough to explain, bounded against a flood of forged mail. */
export const MAX_REFUSALS = 20;
/** History entries kept per enrollment: the first one and the latest, bounded for storage. */
export const MAX_HISTORY = 60;

/** Steps from which the flow may still come back to `awaiting-mail` (a declined or failed reply). */
const MAY_RETURN_TO_AWAITING_MAIL: readonly Step[] = ['awaiting-mail', 'awaiting-consent', 'replying'];

/** A temporary refusal as it stands once nothing will look at the mail again. */
function settleTemporary(r: Refusal): Refusal {
  return isTemporaryRefusal(r) ? { ...r, reasons: r.reasons.filter((code) => code !== 'will-retry'), temporary: false } : r;
}

/** Back-off after the n-th transient failure in a row: 2, 4, 8… s, at most MAX_POLL_MS. */
export function backoffMs(attempts: number): number {
  return Math.min(2_000 * 2 ** Math.max(attempts - 1, 0), MAX_POLL_MS);
}

/**
 * When an enrollment next wants to act by itself: its step's wake-up, or in `awaiting-mail` the
 * rescan of mail to look at again — unless the step is backing off after a failure: awaitMail
 * scans nothing before the back-off ends, so the rescan waits for it.
 */
export function dueAt(e: Enrollment): number | undefined {
  if (isTerminal(e.step)) return undefined;
  const retry = e.step === 'awaiting-mail' ? e.mailRetry?.at : undefined;
  if (retry === undefined) return e.wakeAt;
  if (e.wakeAt === undefined) return retry;
  return e.attempts > 0 ? e.wakeAt : Math.min(e.wakeAt, retry);
}

function appendHistory(history: Enrollment['history'], entry: Enrollment['history'][number]): Enrollment['history'] {
  const all = [...history, entry];
  return all.length <= MAX_HISTORY ? all : [all[0]!, ...all.slice(all.length - MAX_HISTORY + 1)];
}

export interface EnrollerDeps {
  readonly acme: AcmePort;
  readonly mailCheck: MailCheckPort;
  readonly mailbox: MailboxPort;
  readonly reply: ReplyPort;
  readonly keys: KeyPort;
  readonly certStore: CertStorePort;
  readonly storage: StoragePort;
  readonly session: SessionPort;
  readonly clock: Clock;
  readonly notifier: Notifier;
  readonly downloads: DownloadPort;
  readonly log: Logger;
  readonly settings: () => Promise<Settings>;
  readonly randomId: () => string;
  /** In [0, 1): where in an ARI window to renew (RFC 9773 §4.2 asks for a random point). */
  readonly random: () => number;
}

export interface StartRequest {
  readonly identityId: string;
  readonly email: string;
  readonly keyType?: KeyType;
  readonly usage?: Usage;
  /** Absent: the flow generates one and returns it, to be shown once. */
  readonly passphrase?: string;
  readonly termsAgreed: boolean;
  readonly keepKey?: boolean;
  readonly replaces?: string;
}

export const REQUEST_ERROR_CODES = ['busy', 'unknownEnrollment', 'unknownIdentity', 'wrongStep', 'noDirectory', 'weakPassphrase', 'noCertificate', 'mailGone', 'wrongPassphrase'] as const;
export type RequestErrorCode = (typeof REQUEST_ERROR_CODES)[number];

/** Thrown for requests the flow refuses outright (the popup shows the code's sentence). */
export class EnrollRequestError extends Error {
  override readonly name = 'EnrollRequestError';
  constructor(
    readonly code: RequestErrorCode,
    message: string,
  ) {
    super(message);
  }
}

type Patch = { readonly [K in keyof Enrollment]?: Enrollment[K] | undefined };

/** Applies a patch; an `undefined` value removes the field (exactOptionalPropertyTypes). */
function applyPatch(e: Enrollment, patch: Patch): Enrollment {
  const merged: Record<string, unknown> = { ...e, ...patch };
  return Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined)) as unknown as Enrollment;
}

function problemOf(error: unknown): ProblemInfo | undefined {
  return error instanceof PortError ? error.problem : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class Enroller {
  private readonly locks = new Locks();
  /** Enrollments whose recent mail was scanned since this background started. */
  private readonly scanned = new Set<string>();

  constructor(private readonly deps: EnrollerDeps) {}

  // ---------------------------------------------------------------- requests

  /**
   * Records a new enrollment: key and CSR are made first, so that nothing after this needs the
   * passphrase until installation (issue 7, step 2). Returns the record and, when the flow made
   * the passphrase, that passphrase (to be shown once).
   */
  start(request: StartRequest): Promise<{ enrollment: Enrollment; generatedPassphrase?: string }> {
    return this.locks.run(LOCK.identity(request.identityId), () => this.startUnlocked(request));
  }

  private async startUnlocked(request: StartRequest): Promise<{ enrollment: Enrollment; generatedPassphrase?: string }> {
    const settings = await this.deps.settings();
    if (settings.directoryUrl === '') throw new EnrollRequestError('noDirectory', 'No certificate authority is configured.');
    const active = (await this.list()).find((e) => e.identityId === request.identityId && !isTerminal(e.step));
    if (active) throw new EnrollRequestError('busy', `An enrollment for ${request.email} is already running.`);
    const passphrase = request.passphrase ?? this.deps.keys.generatePassphrase();
    if (passphrase.length < 8) throw new EnrollRequestError('weakPassphrase', 'The passphrase must have at least 8 characters.');
    const keyType = request.keyType ?? settings.keyType;
    const usage = request.usage ?? settings.usage;
    const key = await this.deps.keys.generate(request.email, keyType, usage, passphrase);
    const now = this.deps.clock.now();
    const preexistingMail = await this.challengeLikeMail(now - SCAN_MARGIN_MS);
    const id = this.deps.randomId();
    const base: Enrollment = {
      schema: SCHEMA_VERSION,
      id,
      identityId: request.identityId,
      email: request.email,
      directoryUrl: settings.directoryUrl,
      keyType,
      usage,
      tokenJoin: settings.tokenJoin,
      keepKey: request.keepKey ?? settings.keepKey,
      termsAgreed: request.termsAgreed,
      createdAt: now,
      step: 'new',
      history: [{ step: 'new', at: now }],
      attempts: 0,
      challengePosted: false,
      refusals: [],
      csr: bytesToBase64(key.csrDer),
      encryptedKey: bytesToBase64(key.encryptedKey),
      preexistingMail,
    };
    const enrollment = request.replaces === undefined ? base : { ...base, replaces: request.replaces };
    // The passphrase first: a record without it in the session would ask for it again at install.
    await this.deps.session.set({ [KEYS.passphrase(id)]: passphrase });
    await this.save(enrollment);
    this.deps.log.debug(`enrollment ${id} for ${request.email} recorded (${keyType}, ${usage})`);
    return request.passphrase === undefined ? { enrollment, generatedPassphrase: passphrase } : { enrollment };
  }

  /** Message-IDs of the challenge-like mails in Thunderbird now; none if the mailbox cannot say. */
  private async challengeLikeMail(since: number): Promise<string[]> {
    try {
      return (await this.deps.mailbox.recent(since))
        .filter((m) => mayBeChallengeSubject(m.subject))
        .map((m) => m.headerMessageId)
        .slice(-MAX_PREEXISTING);
    } catch (error) {
      this.deps.log.debug(`could not list mail at start: ${messageOf(error)}`);
      return [];
    }
  }

  /** Runs an enrollment as far as it can go now. */
  advance(id: string): Promise<Enrollment> {
    return this.withLock(id, async () => this.run(await this.load(id)));
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
    const now = this.deps.clock.now();
    const due = (await this.list()).filter((e) => (dueAt(e) ?? Infinity) <= now);
    await Promise.all(due.map((e) => this.advance(e.id)));
  }

  /** The earliest time an enrollment wants to act by itself, for the alarm. */
  async nextWakeAt(): Promise<number | undefined> {
    const times = (await this.list()).map(dueAt).filter((at) => at !== undefined);
    return times.length === 0 ? undefined : Math.min(...times);
  }

  /**
   * New mail (messages.onNewMailReceived): the subject pre-filter first, then the raw message
   * only for candidates, and only when an unfinished enrollment is addressed by it.
   *
   * A candidate is never dropped on a failure (finding 4 of docs/SECURITY.md): one that
   * cannot be read, or whose check fails for a transient reason, makes the waiting enrollments
   * scan recent mail again later, with back-off, and says so in their history. Whatever happens
   * to one mail or one enrollment, the others are still handled; an unexpected error is thrown
   * only after that, for the caller's log.
   */
  async onNewMail(mails: readonly MailRef[]): Promise<void> {
    const candidates = mails.filter((m) => mayBeChallengeSubject(m.subject));
    if (candidates.length === 0) return;
    const active = (await this.list()).filter((e) => !isTerminal(e.step));
    if (active.length === 0) return;
    let firstError: Error | undefined;
    const guarded = async (id: string, work: (e: Enrollment) => Promise<Enrollment>): Promise<void> => {
      try {
        await this.withLock(id, async () => {
          const e = await this.load(id);
          // Not yet waiting (the order is being made): the scan on entering `awaiting-mail`
          // finds this mail, so nothing is lost by leaving it now.
          return e.step === 'awaiting-mail' ? work(e) : e;
        });
      } catch (error) {
        this.deps.log.debug(`new mail for ${id}: ${messageOf(error)}`);
        firstError ??= error instanceof Error ? error : new Error(messageOf(error));
      }
    };
    for (const mail of candidates) {
      let raw: Uint8Array;
      try {
        raw = await this.deps.mailbox.raw(mail);
      } catch (error) {
        // Unread, it could be the challenge of any waiting enrollment. If it vanished, the rescan
        // finds nothing; if it was moved or could not be read yet, the rescan finds it.
        const why = `could not read new mail ${mail.headerMessageId}: ${messageOf(error)}`;
        this.deps.log.debug(why);
        for (const target of active) await guarded(target.id, (e) => this.retryMailLater(e, why));
        continue;
      }
      const to = this.deps.mailCheck.addressedTo(raw).map((address) => address.toLowerCase());
      for (const target of active.filter((e) => to.includes(e.email.toLowerCase()))) {
        await guarded(target.id, async (e) => {
          let next: Enrollment;
          try {
            const outcome = await this.considerOrDefer(e, mail, raw);
            next = outcome.deferred === undefined ? outcome.enrollment : await this.retryMailLater(outcome.enrollment, outcome.deferred);
          } catch (error) {
            // Not transient (the account key is gone, storage failed): the enrollment reports it.
            return this.failure(e, error);
          }
          return this.run(next);
        });
      }
    }
    if (firstError !== undefined) throw firstError;
  }

  /** "Ask before replying": the user answered yes. */
  approveReply(id: string): Promise<Enrollment> {
    return this.withLock(id, async () => {
      const e = await this.load(id);
      if (e.step !== 'awaiting-consent' || !e.pendingReply) throw new EnrollRequestError('wrongStep', 'No reply is waiting for approval.');
      return this.run(await this.sendReply(e, e.pendingReply));
    });
  }

  /** "Ask before replying": the user said no; the mail is kept as refused and never answered. */
  declineReply(id: string): Promise<Enrollment> {
    return this.withLock(id, async () => {
      const e = await this.load(id);
      if (e.step !== 'awaiting-consent' || !e.pendingReply) throw new EnrollRequestError('wrongStep', 'No reply is waiting for approval.');
      const p = e.pendingReply;
      const refused = this.withRefusal(e, { headerMessageId: p.headerMessageId, subject: p.subject, author: p.author, at: this.deps.clock.now(), reasons: ['user-declined'], detail: 'You chose not to answer this mail.' });
      return this.transition(refused, 'awaiting-mail', { pendingReply: undefined }, 'reply declined by the user');
    });
  }

  /** The passphrase, asked again after a restart, so the certificate can be installed. */
  providePassphrase(id: string, passphrase: string): Promise<Enrollment> {
    return this.withLock(id, async () => {
      const e = await this.load(id);
      if (e.step !== 'installing') throw new EnrollRequestError('wrongStep', 'This enrollment does not need a passphrase now.');
      await this.deps.session.set({ [KEYS.passphrase(id)]: passphrase });
      return this.run(e);
    });
  }

  cancel(id: string): Promise<Enrollment> {
    return this.withLock(id, async () => {
      const e = await this.load(id);
      if (isTerminal(e.step)) return e;
      await this.deps.session.remove([KEYS.passphrase(id)]);
      return this.transition(e, 'cancelled', { encryptedKey: undefined, wakeAt: undefined, pendingReply: undefined }, 'cancelled by the user');
    });
  }

  /** Removes a finished enrollment from the list (its installed certificate stays). */
  dismiss(id: string): Promise<void> {
    return this.withLock(id, async () => {
      const e = await this.load(id);
      if (!isTerminal(e.step)) throw new EnrollRequestError('wrongStep', 'Cancel the enrollment before removing it.');
      await this.deps.storage.remove([KEYS.enrollment(id)]);
    });
  }

  /** Manual mode: the response for a challenge mail that arrived in another mail client. */
  manualResponse(id: string, subject: string): Promise<string> {
    return this.withLock(id, async () => {
      const e = await this.load(id);
      if (e.step !== 'awaiting-mail' || e.tokenPart2 === undefined) throw new EnrollRequestError('wrongStep', 'This enrollment is not waiting for a challenge mail.');
      const thumbprint = await this.deps.acme.thumbprint(e.directoryUrl);
      return this.deps.mailCheck.respond(subject, e.tokenPart2, thumbprint, e.tokenJoin);
    });
  }

  /** Manual mode: the user sent the response from elsewhere; continue as after our own reply. */
  manualSent(id: string): Promise<Enrollment> {
    return this.withLock(id, async () => {
      const e = await this.load(id);
      if (e.step !== 'awaiting-mail') throw new EnrollRequestError('wrongStep', 'This enrollment is not waiting for a challenge mail.');
      const now = this.deps.clock.now();
      return this.run(await this.transition(e, 'replied', { answeredAt: now, wakeAt: now }, 'response sent by the user from another mail client'));
    });
  }

  /** Revokes the identity's certificate (RFC 8555 §7.6) and unsets it on the identity. */
  revoke(identityId: string, reason: RevocationReason): Promise<CertificateRecord> {
    return this.locks.run(LOCK.certificate(identityId), async () => {
      const record = await this.certificate(identityId);
      if (!record) throw new EnrollRequestError('noCertificate', 'This identity has no certificate from this add-on.');
      await this.deps.acme.revoke(record.directoryUrl, this.deps.keys.leafDer(record.chainPem), reason);
      await this.deps.certStore.clearIdentityCertificates(identityId, record.dbKey);
      const revoked: CertificateRecord = { ...record, revoked: { at: this.deps.clock.now(), reason } };
      await this.deps.storage.set({ [KEYS.certificate(identityId)]: revoked });
      return revoked;
    });
  }

  /** Starts a renewal of the identity's certificate with the same settings (RFC 9773 `replaces`). */
  async renew(identityId: string, passphrase: string | undefined, termsAgreed: boolean): Promise<{ enrollment: Enrollment; generatedPassphrase?: string }> {
    const record = await this.certificate(identityId);
    if (!record) throw new EnrollRequestError('noCertificate', 'This identity has no certificate from this add-on.');
    let replaces: string | undefined;
    try {
      replaces = await this.deps.acme.certificateId(record.chainPem);
    } catch (error) {
      this.deps.log.debug(`no ARI certificate id: ${messageOf(error)}`);
    }
    return this.start({
      identityId,
      email: record.email,
      keyType: record.keyType,
      usage: record.usage,
      termsAgreed,
      ...(passphrase === undefined ? {} : { passphrase }),
      ...(replaces === undefined ? {} : { replaces }),
    });
  }

  /** Daily alarm: refreshes ARI windows and tells the user when a certificate is due. */
  async checkRenewals(): Promise<void> {
    const now = this.deps.clock.now();
    for (const listed of await this.certificates()) {
      // Read again under the lock: a revocation or a new installation may have come since the list.
      await this.locks.run(LOCK.certificate(listed.identityId), async () => {
        const record = await this.certificate(listed.identityId);
        if (!record || record.revoked || record.notAfter <= now) return;
        let updated = record;
        try {
          const window = await this.deps.acme.renewalInfo(record.directoryUrl, record.chainPem);
          if (window) updated = { ...updated, renewAt: this.pickInWindow(window.start, window.end), renewalSource: 'ari' };
        } catch (error) {
          // ARI is advisory (RFC 9773 §4.3): keep the previous date and ask again tomorrow.
          this.deps.log.debug(`renewalInfo for ${record.email}: ${messageOf(error)}`);
        }
        if (updated.renewAt <= now && !updated.renewalNotified) {
          await this.deps.notifier.notify('renewalDue', record.email, new Date(record.notAfter).toISOString());
          updated = { ...updated, renewalNotified: true };
        }
        if (updated !== record) await this.deps.storage.set({ [KEYS.certificate(record.identityId)]: updated });
      });
    }
  }

  async list(): Promise<Enrollment[]> {
    const all = await this.deps.storage.getAll();
    return Object.entries(all)
      .filter(([key]) => key.startsWith(ENROLLMENT_PREFIX))
      .map(([, value]) => value as Enrollment)
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  async certificates(): Promise<CertificateRecord[]> {
    const all = await this.deps.storage.getAll();
    return Object.entries(all)
      .filter(([key]) => key.startsWith(CERTIFICATE_PREFIX))
      .map(([, value]) => value as CertificateRecord);
  }

  async certificate(identityId: string): Promise<CertificateRecord | undefined> {
    const key = KEYS.certificate(identityId);
    return (await this.deps.storage.get([key]))[key] as CertificateRecord | undefined;
  }

  // ---------------------------------------------------------------- the machine

  private async run(start: Enrollment): Promise<Enrollment> {
    let e = start;
    // Each pass either moves to another step or returns: the bound only stops a bug from spinning.
    for (let pass = 0; pass < 32; pass++) {
      if (isTerminal(e.step)) return e;
      const before = e;
      try {
        e = await this.step(e);
      } catch (error) {
        return this.failure(e, error);
      }
      if (e.step === before.step) return e;
    }
    return e;
  }

  /** One step's work. Returns the record unchanged in step when it must wait. */
  private async step(e: Enrollment): Promise<Enrollment> {
    const now = this.deps.clock.now();
    if (e.wakeAt !== undefined && e.wakeAt > now && e.step !== 'awaiting-mail') return e;
    switch (e.step) {
      case 'new':
        return this.ensureAccount(e);
      case 'account':
        return this.createOrder(e);
      case 'ordered':
        return this.fetchAuthorization(e);
      case 'awaiting-mail':
        return this.awaitMail(e);
      case 'awaiting-consent':
        return e;
      case 'replying':
        // Stopped between handing the reply to Thunderbird and recording it: it may have gone
        // out. Never send a second one; if it did not, the CA will say so.
        return this.transition(e, 'replied', { answeredMail: e.pendingReply?.headerMessageId, answeredAt: now, pendingReply: undefined, wakeAt: now }, 'restarted while replying; the reply is not sent again');
      case 'replied':
        return this.postAfterReply(e);
      case 'validating':
        return this.pollAuthorization(e);
      case 'finalizing':
        return this.finalize(e);
      case 'downloading':
        return this.download(e);
      case 'installing':
        return this.install(e);
      case 'installed':
      case 'failed':
      case 'cancelled':
        return e;
    }
  }

  private async ensureAccount(e: Enrollment): Promise<Enrollment> {
    const settings = await this.deps.settings();
    const { accountUrl } = await this.deps.acme.ensureAccount({
      directoryUrl: e.directoryUrl,
      contact: [`mailto:${e.email}`],
      termsAgreed: e.termsAgreed,
      ...(settings.eabKeyId !== '' && settings.eabHmacKey !== '' ? { eab: { keyId: settings.eabKeyId, hmacKey: settings.eabHmacKey } } : {}),
    });
    return this.transition(e, 'account', { accountUrl });
  }

  private async createOrder(e: Enrollment): Promise<Enrollment> {
    const order = await this.deps.acme.newOrder(e.directoryUrl, e.email, e.replaces);
    const authorizationUrl = order.authorizations[0];
    if (authorizationUrl === undefined) return this.fail(e, 'caRefused', 'The CA created an order without an authorization.');
    return this.transition(e, 'ordered', { orderUrl: order.url, finalizeUrl: order.finalize, authorizationUrl });
  }

  private async fetchAuthorization(e: Enrollment): Promise<Enrollment> {
    const authz = await this.deps.acme.getAuthorization(e.directoryUrl, e.authorizationUrl!);
    // A still-valid authorization from an earlier order: no mail needed (RFC 8555 §7.1.4).
    if (authz.status === 'valid') return this.transition(e, 'finalizing', {}, 'authorization already valid');
    if (authz.status !== 'pending') return this.fail(e, 'authorizationFailed', `The authorization is ${authz.status}.`);
    const challenge = authz.challenge;
    if (!challenge) return this.fail(e, 'noEmailChallenge', 'The CA offered no email-reply-00 challenge.');
    const now = this.deps.clock.now();
    const settings = await this.deps.settings();
    return this.transition(e, 'awaiting-mail', {
      challengeUrl: challenge.url,
      challengeFrom: challenge.from,
      tokenPart2: challenge.token,
      waitingSince: now,
      challengePosted: challenge.status === 'processing',
      wakeAt: now + settings.postChallengeAfterSeconds * 1000,
    });
  }

  /**
   * Waiting for the mail: scan recent mail once per background life (a mail may have come
   * while Thunderbird was closed, or before this step was saved); POST first after the wait;
   * once POSTed, poll the authorization in case the CA validates by other means or gives up.
   */
  private async awaitMail(start: Enrollment): Promise<Enrollment> {
    let e = start;
    // Backing off after a failure (a refused compose, a network error): not even a scan until then.
    const started = this.deps.clock.now();
    if (e.attempts > 0 && e.wakeAt !== undefined && e.wakeAt > started) return e;
    // Once per background life, and again when a mail is to be looked at again.
    if (!this.scanned.has(e.id) || (e.mailRetry !== undefined && e.mailRetry.at <= started)) {
      e = await this.scanRecent(e);
      // Marked only once the scan ran: a scan cut short by an error is tried again.
      this.scanned.add(e.id);
      if (e.step !== 'awaiting-mail') return e;
    }
    const now = this.deps.clock.now();
    if (e.wakeAt !== undefined && e.wakeAt > now) return e;
    const settings = await this.deps.settings();
    if (this.timedOut(e, settings, now)) {
      const unchecked = e.mailRetry === undefined ? '' : ` (a mail could not be checked: ${e.mailRetry.reason})`;
      return this.fail(e, 'timeout', `No valid challenge mail came in time${unchecked}.`);
    }
    if (!e.challengePosted) {
      await this.deps.acme.respondToChallenge(e.directoryUrl, e.challengeUrl!);
      return this.update(e, { challengePosted: true, attempts: 0, wakeAt: now + DEFAULT_POLL_MS }, 'no mail yet: challenge POSTed first');
    }
    const authz = await this.deps.acme.getAuthorization(e.directoryUrl, e.authorizationUrl!);
    if (authz.status === 'valid') return this.transition(e, 'finalizing', {});
    if (authz.status !== 'pending') return this.failChallenge(e, authz.challenge?.error, `The authorization is ${authz.status}.`);
    return this.update(e, { attempts: 0, wakeAt: now + this.pollDelay(authz.retryAfterMs) });
  }

  /**
   * Looks at every recent challenge-like mail not yet settled (answered or refused for good).
   * Ends by scheduling the next rescan when some mail could not be read or checked (with
   * back-off), or by clearing a scheduled one when all could.
   */
  private async scanRecent(start: Enrollment): Promise<Enrollment> {
    let e = start;
    let unfinished: string | undefined;
    let mails: readonly MailRef[];
    try {
      mails = await this.deps.mailbox.recent(e.createdAt - SCAN_MARGIN_MS);
    } catch (error) {
      return this.retryMailLater(e, `could not list recent mail: ${messageOf(error)}`);
    }
    for (const mail of mails.filter((m) => mayBeChallengeSubject(m.subject))) {
      if (e.step !== 'awaiting-mail') break;
      if (this.settled(e, mail.headerMessageId)) continue;
      const raw = await this.rawOrSkip(mail);
      if (!raw) {
        unfinished ??= `could not read ${mail.headerMessageId}`;
        continue;
      }
      if (!this.deps.mailCheck.addressedTo(raw).some((address) => address.toLowerCase() === e.email.toLowerCase())) continue;
      const outcome = await this.considerOrDefer(e, mail, raw);
      e = outcome.enrollment;
      unfinished ??= outcome.deferred;
    }
    if (e.step !== 'awaiting-mail') return e;
    if (unfinished !== undefined) return this.retryMailLater(e, unfinished);
    return e.mailRetry === undefined ? e : this.update(e, { mailRetry: undefined }, 'every waiting mail could be checked');
  }

  /** Answered, or refused for good: never looked at again (not even read). */
  private settled(e: Enrollment, headerMessageId: string): boolean {
    return e.answeredMail === headerMessageId || e.refusals.some((r) => r.headerMessageId === headerMessageId && !isTemporaryRefusal(r));
  }

  /**
   * considerMail, except that a check that could not finish — a temporary refusal, or a
   * transient failure (the account key's thumbprint, the CA) — leaves the mail to be looked at
   * again: `deferred` says why. Other errors are thrown.
   */
  private async considerOrDefer(e: Enrollment, mail: MailRef, raw: Uint8Array): Promise<{ enrollment: Enrollment; deferred?: string }> {
    let enrollment: Enrollment;
    try {
      enrollment = await this.considerMail(e, mail, raw);
    } catch (error) {
      if (error instanceof PortError && (error.kind === 'transient' || error.kind === 'rateLimited')) {
        return { enrollment: e, deferred: `could not check ${mail.headerMessageId}: ${messageOf(error)}` };
      }
      throw error;
    }
    const temporary = enrollment.step === 'awaiting-mail' ? enrollment.refusals.find((r) => r.headerMessageId === mail.headerMessageId && isTemporaryRefusal(r)) : undefined;
    return temporary === undefined ? { enrollment } : { enrollment, deferred: `could not check ${mail.headerMessageId} yet: ${temporary.detail}` };
  }

  /** Schedules a rescan of recent mail, with the flow's back-off; the history says why. */
  private retryMailLater(e: Enrollment, reason: string): Promise<Enrollment> {
    const now = this.deps.clock.now();
    const attempts = (e.mailRetry?.attempts ?? 0) + 1;
    const delay = backoffMs(attempts);
    // An earlier rescan already planned stays: a burst of failures does not push it back.
    const at = e.mailRetry !== undefined && e.mailRetry.at > now ? Math.min(e.mailRetry.at, now + delay) : now + delay;
    const mailRetry: MailRetry = { at, attempts, reason };
    return this.update(e, { mailRetry }, `${reason}; mail looked at again in ${Math.round((at - now) / 1000)} s`);
  }

  /**
   * A mail can vanish between the event and the read (a filter moved it, the user deleted it):
   * that mail is skipped, never the enrollment failed. The scan then schedules another one,
   * which finds it if it was only moved.
   */
  private async rawOrSkip(mail: MailRef): Promise<Uint8Array | undefined> {
    try {
      return await this.deps.mailbox.raw(mail);
    } catch (error) {
      this.deps.log.debug(`could not read ${mail.headerMessageId}: ${messageOf(error)}`);
      return undefined;
    }
  }

  /** The full check of one candidate mail; answers it, asks the user, or records why not. */
  private async considerMail(e: Enrollment, mail: MailRef, raw: Uint8Array): Promise<Enrollment> {
    if (this.settled(e, mail.headerMessageId)) return e;
    const early = e.preexistingMail?.includes(mail.headerMessageId) === true;
    const answeredElsewhere = !early && (await this.list()).some((other) => other.id !== e.id && other.answeredMail === mail.headerMessageId);
    if (early || answeredElsewhere) {
      const refused = this.withRefusal(e, {
        headerMessageId: mail.headerMessageId,
        subject: mail.subject,
        author: mail.author,
        at: this.deps.clock.now(),
        reasons: [early ? 'arrived-before-order' : 'already-answered'],
        detail: early ? 'This mail was already in Thunderbird before the request started, so it cannot be its challenge.' : 'This challenge mail was already answered for an earlier request.',
      });
      await this.save(refused);
      return refused;
    }
    const thumbprint = await this.deps.acme.thumbprint(e.directoryUrl);
    let verdict: Awaited<ReturnType<MailCheckPort['check']>>;
    try {
      verdict = await this.deps.mailCheck.check(raw, {
        email: e.email,
        from: e.challengeFrom!,
        tokenPart2: e.tokenPart2!,
        thumbprint,
        tokenJoin: e.tokenJoin,
        notBefore: e.createdAt,
      });
    } catch (error) {
      // The checks refuse bad mail with reasons; one that throws instead is still refused — a
      // crafted mail must not be able to end the enrollment.
      verdict = { verdict: 'refuse', reasons: ['malformed-message'], detail: `The mail could not be checked: ${messageOf(error)}` };
    }
    if (verdict.verdict === 'refuse') {
      const refusal = { headerMessageId: mail.headerMessageId, subject: mail.subject, author: mail.author, at: this.deps.clock.now(), detail: verdict.detail };
      if (isTemporaryRefusal(verdict)) {
        // The check could not finish (DNS unreachable): shown as such, and the mail is looked at
        // again (the caller schedules it); a later outcome replaces this entry.
        this.deps.log.debug(`could not check ${mail.headerMessageId} yet: ${verdict.reasons.join(', ')}`);
        const deferred = this.withRefusal(e, { ...refusal, reasons: [...verdict.reasons, 'will-retry'], temporary: true });
        await this.save(deferred);
        return deferred;
      }
      this.deps.log.debug(`refused ${mail.headerMessageId}: ${verdict.reasons.join(', ')}`);
      const refused = this.withRefusal(e, { ...refusal, reasons: verdict.reasons });
      await this.save(refused);
      await this.deps.notifier.notify('refused', e.email, verdict.detail);
      return refused;
    }
    // Authentic now: a note that it could not be checked before no longer applies.
    const authentic = this.withoutRefusal(e, mail.headerMessageId);
    const pending: PendingReply = {
      mailId: mail.id,
      headerMessageId: mail.headerMessageId,
      subject: mail.subject,
      author: mail.author,
      date: mail.date,
      replyTo: verdict.replyTo,
      replySubject: verdict.replySubject,
      body: verdict.body,
      joinUsed: verdict.joinUsed,
      authenticity: verdict.authenticity,
    };
    if ((await this.deps.settings()).askBeforeReplying) {
      const waiting = await this.transition(authentic, 'awaiting-consent', { pendingReply: pending }, `authentic (${verdict.authenticity}); waiting for the user's OK`);
      await this.deps.notifier.notify('needsConsent', e.email);
      return waiting;
    }
    return this.sendReply(authentic, pending, mail);
  }

  /** `mail` is given when it was seen in this session; otherwise it is found again by Message-ID. */
  private async sendReply(start: Enrollment, pending: PendingReply, seen?: MailRef): Promise<Enrollment> {
    const mail = seen ?? (await this.resolveMail(start, pending));
    // Recorded before sending: whatever happens next, this challenge is never answered twice.
    let e = await this.transition(start, 'replying', { pendingReply: pending }, `replying (${pending.authenticity}, token halves joined as ${pending.joinUsed})`);
    let result;
    try {
      result = await this.deps.reply.send({
        mail,
        identityId: e.identityId,
        body: pending.body,
        expectTo: pending.replyTo,
        expectSubject: pending.replySubject,
        expectFrom: e.email,
      });
    } catch (error) {
      // The compose API refused before sending: back to waiting, and look at the mail again later.
      this.scanned.delete(e.id);
      e = await this.transition(e, 'awaiting-mail', { pendingReply: undefined }, `reply failed: ${messageOf(error)}`);
      return this.failure(e, error);
    }
    if (!result.sent) {
      e = this.withRefusal(e, { headerMessageId: pending.headerMessageId, subject: pending.subject, author: pending.author, at: this.deps.clock.now(), reasons: ['compose-mismatch'], detail: `The reply Thunderbird prepared differed in: ${result.mismatch.join(', ')}; it was closed unsent.` });
      e = await this.transition(e, 'awaiting-mail', { pendingReply: undefined }, 'compose mismatch; closed unsent');
      await this.deps.notifier.notify('refused', e.email, result.mismatch.join(', '));
      return e;
    }
    const now = this.deps.clock.now();
    return this.transition(e, 'replied', {
      pendingReply: undefined,
      answeredMail: pending.headerMessageId,
      answeredAt: now,
      joinUsed: pending.joinUsed,
      authenticity: pending.authenticity,
      wakeAt: now + POST_AFTER_REPLY_MS,
    });
  }

  /** Thunderbird's message ids do not survive a restart: find the mail again by its Message-ID. */
  private async resolveMail(e: Enrollment, pending: PendingReply): Promise<MailRef> {
    const found = (await this.deps.mailbox.recent(e.createdAt - SCAN_MARGIN_MS)).find((m) => m.headerMessageId === pending.headerMessageId);
    if (!found) throw new EnrollRequestError('mailGone', 'The challenge mail is no longer in Thunderbird.');
    return found;
  }

  private async postAfterReply(e: Enrollment): Promise<Enrollment> {
    const now = this.deps.clock.now();
    if (!e.challengePosted) await this.deps.acme.respondToChallenge(e.directoryUrl, e.challengeUrl!);
    return this.transition(e, 'validating', { challengePosted: true, wakeAt: now + DEFAULT_POLL_MS });
  }

  private async pollAuthorization(e: Enrollment): Promise<Enrollment> {
    const authz = await this.deps.acme.getAuthorization(e.directoryUrl, e.authorizationUrl!);
    const now = this.deps.clock.now();
    if (authz.status === 'valid') return this.transition(e, 'finalizing', {});
    if (authz.status === 'pending') {
      if (this.timedOut(e, await this.deps.settings(), now)) return this.fail(e, 'timeout', 'The CA did not validate the reply in time.');
      return this.update(e, { attempts: 0, wakeAt: now + this.pollDelay(authz.retryAfterMs) });
    }
    return this.failChallenge(e, authz.challenge?.error, `The authorization is ${authz.status}.`);
  }

  private async finalize(e: Enrollment): Promise<Enrollment> {
    let order = await this.deps.acme.getOrder(e.directoryUrl, e.orderUrl!);
    // Re-read first: after a restart the CSR may already have been sent (RFC 8555 §7.4).
    if (order.status === 'ready') order = await this.deps.acme.finalize(e.directoryUrl, e.finalizeUrl!, base64ToBytes(e.csr!));
    const now = this.deps.clock.now();
    if (order.status === 'valid' && order.certificate !== undefined) return this.transition(e, 'downloading', { certificateUrl: order.certificate });
    if (order.status === 'invalid') return this.fail(e, 'orderInvalid', 'The CA marked the order invalid.', order.error);
    if (this.timedOut(e, await this.deps.settings(), now)) return this.fail(e, 'timeout', 'The CA did not issue the certificate in time.');
    return this.update(e, { attempts: 0, wakeAt: now + this.pollDelay(order.retryAfterMs) });
  }

  private async download(e: Enrollment): Promise<Enrollment> {
    const chainPem = await this.deps.acme.downloadCertificate(e.directoryUrl, e.certificateUrl!);
    return this.transition(e, 'installing', { chainPem });
  }

  private async install(e: Enrollment): Promise<Enrollment> {
    const passphrase = await this.passphrase(e.id);
    if (passphrase === undefined) return this.askPassphrase(e);
    let pkcs12: Uint8Array;
    try {
      pkcs12 = await this.deps.keys.buildPkcs12(base64ToBytes(e.encryptedKey!), passphrase, e.chainPem!, e.email);
    } catch (error) {
      if (error instanceof PortError && error.kind === 'wrongPassphrase') {
        await this.deps.session.remove([KEYS.passphrase(e.id)]);
        return this.askPassphrase(e, true);
      }
      throw error;
    }
    const summary = await this.deps.keys.inspect(e.chainPem!);
    let installed;
    try {
      installed = await this.deps.certStore.importPkcs12(pkcs12, passphrase, e.email, summary.sha256Fingerprint);
      await this.deps.certStore.setIdentityCertificates(e.identityId, installed, e.usage);
    } catch (error) {
      return this.fail(e, 'install', messageOf(error));
    }
    const now = this.deps.clock.now();
    let renewAt = summary.notBefore + ((summary.notAfter - summary.notBefore) * 2) / 3;
    let renewalSource: CertificateRecord['renewalSource'] = 'lifetime';
    try {
      const window = await this.deps.acme.renewalInfo(e.directoryUrl, e.chainPem!);
      if (window) {
        renewAt = this.pickInWindow(window.start, window.end);
        renewalSource = 'ari';
      }
    } catch (error) {
      this.deps.log.debug(`renewalInfo after install: ${messageOf(error)}`);
    }
    const record: CertificateRecord = {
      schema: SCHEMA_VERSION,
      identityId: e.identityId,
      email: e.email,
      directoryUrl: e.directoryUrl,
      enrollmentId: e.id,
      keyType: e.keyType,
      usage: e.usage,
      chainPem: e.chainPem!,
      emails: summary.emails,
      notBefore: summary.notBefore,
      notAfter: summary.notAfter,
      sha256Fingerprint: summary.sha256Fingerprint,
      serialNumber: summary.serialNumber,
      issuer: summary.issuer,
      dbKey: installed.dbKey,
      installedAt: now,
      renewAt,
      renewalSource,
    };
    await this.locks.run(LOCK.certificate(e.identityId), () => this.deps.storage.set({ [KEYS.certificate(e.identityId)]: record }));
    try {
      await this.deps.downloads.offer(`${e.email}.p12`, pkcs12, 'application/x-pkcs12');
    } catch (error) {
      // The certificate is installed; a refused download must not undo that. The popup says so.
      this.deps.log.debug(`download offer failed: ${messageOf(error)}`);
    }
    const done = await this.transition(e, 'installed', { needsPassphrase: undefined, wakeAt: undefined, encryptedKey: e.keepKey ? e.encryptedKey : undefined }, e.keepKey ? 'key kept (encrypted) for renewal' : 'pending key removed');
    await this.deps.session.remove([KEYS.passphrase(e.id)]);
    await this.deps.notifier.notify('installed', e.email);
    return done;
  }

  private async askPassphrase(e: Enrollment, wrong = false): Promise<Enrollment> {
    if (e.needsPassphrase && !wrong) return e;
    const waiting = await this.update(e, { needsPassphrase: true, wakeAt: undefined }, wrong ? 'the passphrase did not open the key' : 'certificate ready; passphrase needed');
    await this.deps.notifier.notify('needsPassphrase', e.email);
    if (wrong) throw new EnrollRequestError('wrongPassphrase', 'The passphrase does not open the key.');
    return waiting;
  }

  // ---------------------------------------------------------------- failures

  /** Transient errors wait and retry in the same step; the rest end the enrollment. */
  private async failure(e: Enrollment, error: unknown): Promise<Enrollment> {
    if (error instanceof EnrollRequestError) throw error;
    const now = this.deps.clock.now();
    if (error instanceof PortError && (error.kind === 'transient' || error.kind === 'rateLimited')) {
      const attempts = e.attempts + 1;
      if (error.kind === 'transient' && attempts >= MAX_ATTEMPTS) {
        return this.fail(e, 'network', `${messageOf(error)} (after ${attempts} attempts)`, error.problem);
      }
      // The CA's Retry-After when it gave one (rate limit, or a 5xx saying when it is back), else our back-off.
      const delay = error.kind === 'rateLimited'
        ? Math.max(error.retryAfterMs ?? 60_000, 1_000)
        : Math.min(Math.max(error.retryAfterMs ?? backoffMs(attempts), 1_000), MAX_POLL_MS);
      return this.update(e, { attempts, wakeAt: now + delay }, `${error.kind}: ${messageOf(error)}; retry in ${Math.round(delay / 1000)} s`);
    }
    if (error instanceof PortError && error.kind === 'userAction') {
      return this.fail(e, 'userActionRequired', messageOf(error), error.problem, error.link);
    }
    if (error instanceof PortError && error.kind === 'problem') return this.fail(e, 'caRefused', messageOf(error), error.problem);
    return this.fail(e, 'internal', messageOf(error), problemOf(error));
  }

  private failChallenge(e: Enrollment, problem: ProblemInfo | undefined, message: string): Promise<Enrollment> {
    return this.fail(e, e.challengePosted ? 'challengeInvalid' : 'authorizationFailed', problem?.detail ?? message, problem);
  }

  private async fail(e: Enrollment, code: ErrorCode, message: string, problem?: ProblemInfo, link?: string): Promise<Enrollment> {
    const error: EnrollError = {
      code,
      message,
      at: this.deps.clock.now(),
      ...(problem ? { problem } : {}),
      ...(link !== undefined ? { link } : {}),
    };
    // A failed enrollment will never be installed: its key goes with it (it was only ever
    // stored encrypted, but nothing should linger that has no use).
    await this.deps.session.remove([KEYS.passphrase(e.id)]);
    const failed = await this.transition(e, 'failed', { error, wakeAt: undefined, encryptedKey: undefined, pendingReply: undefined }, `${code}: ${message}`);
    await this.deps.notifier.notify('failed', e.email, problem?.detail ?? message);
    return failed;
  }

  // ---------------------------------------------------------------- helpers

  private timedOut(e: Enrollment, settings: Settings, now: number): boolean {
    const since = e.waitingSince ?? e.createdAt;
    return now - since > settings.validationTimeoutMinutes * 60_000;
  }

  private pollDelay(retryAfterMs: number | undefined): number {
    return Math.min(Math.max(retryAfterMs ?? DEFAULT_POLL_MS, 1_000), MAX_POLL_MS);
  }

  private pickInWindow(start: number, end: number): number {
    return end > start ? start + Math.floor((end - start) * this.deps.random()) : start;
  }

  /** Adds a refusal, replacing an earlier temporary one for the same mail (it was not final). */
  private withRefusal(e: Enrollment, refusal: Refusal): Enrollment {
    return { ...e, refusals: [...this.withoutRefusal(e, refusal.headerMessageId).refusals, refusal].slice(-MAX_REFUSALS) };
  }

  /** Drops the temporary refusal of a mail, if any; refusals for good are kept. */
  private withoutRefusal(e: Enrollment, headerMessageId: string): Enrollment {
    const refusals = e.refusals.filter((r) => r.headerMessageId !== headerMessageId || !isTemporaryRefusal(r));
    return refusals.length === e.refusals.length ? e : { ...e, refusals };
  }

  private async passphrase(id: string): Promise<string | undefined> {
    const key = KEYS.passphrase(id);
    const value = (await this.deps.session.get([key]))[key];
    return typeof value === 'string' ? value : undefined;
  }

  private async transition(e: Enrollment, step: Step, patch: Patch, note?: string): Promise<Enrollment> {
    const now = this.deps.clock.now();
    // A planned rescan is acted on only in `awaiting-mail`; kept while the flow may come back
    // there (a declined or failed reply), it then runs at once. Past that, no mail will be looked
    // at again: the rescan goes, and no refusal says "will be checked again" any more.
    const mayWaitAgain = MAY_RETURN_TO_AWAITING_MAIL.includes(step);
    const refusals = mayWaitAgain ? e.refusals : e.refusals.map(settleTemporary);
    const next = applyPatch({ ...e, step, attempts: 0, refusals, history: appendHistory(e.history, note === undefined ? { step, at: now } : { step, at: now, note }) }, { wakeAt: undefined, ...(mayWaitAgain ? {} : { mailRetry: undefined }), ...patch });
    await this.save(next);
    this.deps.log.debug(`${e.id}: ${e.step} → ${step}${note === undefined ? '' : ` (${note})`}`);
    return next;
  }

  /** A change within a step (retry time, flags); noted in the history only when it says something. */
  private async update(e: Enrollment, patch: Patch, note?: string): Promise<Enrollment> {
    const next = applyPatch(note === undefined ? e : { ...e, history: appendHistory(e.history, { step: e.step, at: this.deps.clock.now(), note }) }, patch);
    await this.save(next);
    if (note !== undefined) this.deps.log.debug(`${e.id}: ${note}`);
    return next;
  }

  private async save(e: Enrollment): Promise<void> {
    await this.deps.storage.set({ [KEYS.enrollment(e.id)]: e });
  }

  private async load(id: string): Promise<Enrollment> {
    const key = KEYS.enrollment(id);
    const value = (await this.deps.storage.get([key]))[key];
    if (value === undefined) throw new EnrollRequestError('unknownEnrollment', `No enrollment ${id}.`);
    return value as Enrollment;
  }

  private withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(LOCK.enrollment(id), fn);
  }
}
