/**
 * What every step shares: the ports, the locks, the record of which enrollments had their
 * recent mail scanned, and the few effects that persist a change (transition, update, fail).
 * The rules behind them are pure and live elsewhere: record updates in ./records.ts, the
 * failure policy in ./schedule.ts.
 */
import type { EnrollerDeps } from './deps';
import { authorizationsToRelease } from './addresses';
import { EnrollRequestError, messageOf } from './errors';
import { Locks, LOCK } from './lock';
import type { ProblemInfo } from './ports';
import { transitioned, updated, type Patch } from './records';
import { failurePolicy } from './schedule';
import { KEYS, type EnrollError, type Enrollment, type ErrorCode, type Step } from './state';
import { loadEnrollment, saveEnrollment } from './store';

export class Flow {
  readonly locks = new Locks();
  /** Enrollments whose recent mail was scanned since this background started. */
  readonly scanned = new Set<string>();

  constructor(readonly deps: EnrollerDeps) {}

  now(): number {
    return this.deps.clock.now();
  }

  /** Runs `fn` under the enrollment's lock: a mail event, a timer and a request never interleave on it. */
  withEnrollment<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(LOCK.enrollment(id), fn);
  }

  load(id: string): Promise<Enrollment> {
    return loadEnrollment(this.deps.storage, id);
  }

  save(e: Enrollment): Promise<void> {
    return saveEnrollment(this.deps.storage, e);
  }

  async transition(e: Enrollment, step: Step, patch: Patch, note?: string): Promise<Enrollment> {
    const next = transitioned(e, step, patch, this.now(), note);
    await this.save(next);
    this.deps.log.debug(`${e.id}: ${e.step} → ${step}${note === undefined ? '' : ` (${note})`}`);
    return next;
  }

  async update(e: Enrollment, patch: Patch, note?: string): Promise<Enrollment> {
    const next = updated(e, patch, this.now(), note);
    await this.save(next);
    if (note !== undefined) this.deps.log.debug(`${e.id}: ${note}`);
    return next;
  }

  /** Applies the failure policy: wait and retry in the same step, or end the enrollment. */
  async failure(e: Enrollment, error: unknown): Promise<Enrollment> {
    if (error instanceof EnrollRequestError) throw error;
    const action = failurePolicy(error, e.attempts);
    if (action.kind === 'retry') return this.update(e, { attempts: action.attempts, wakeAt: this.now() + action.delayMs }, action.note);
    return this.fail(e, action.code, action.message, action.problem, action.link);
  }

  /** The authorization or challenge went wrong: which, depends on whether we POSTed. */
  failChallenge(e: Enrollment, problem: ProblemInfo | undefined, message: string): Promise<Enrollment> {
    return this.fail(e, e.challengePosted ? 'challengeInvalid' : 'authorizationFailed', problem?.detail ?? message, problem);
  }

  async fail(e: Enrollment, code: ErrorCode, message: string, problem?: ProblemInfo, link?: string): Promise<Enrollment> {
    const error: EnrollError = {
      code,
      message,
      at: this.now(),
      ...(problem ? { problem } : {}),
      ...(link !== undefined ? { link } : {}),
    };
    // A failed enrollment will never be installed: its key goes with it (it was only ever
    // stored encrypted, but nothing should linger that has no use), and its order goes too.
    await this.deps.session.remove([KEYS.passphrase(e.id)]);
    await this.releaseOrder(e);
    const failed = await this.transition(e, 'failed', { error, wakeAt: undefined, encryptedKey: undefined, pendingReply: undefined }, `${code}: ${message}`);
    await this.deps.notifier.notify({ kind: 'failed', email: e.email, code, ...(problem ? { problem } : {}) });
    return failed;
  }

  /**
   * Deactivates the authorizations of an order that will not be finalized (RFC 8555 §7.5.2), so
   * that no order is left pending at the CA. Best effort: the enrollment ends either way.
   */
  async releaseOrder(e: Enrollment): Promise<void> {
    for (const url of authorizationsToRelease(e)) {
      try {
        await this.deps.acme.deactivateAuthorization(e.directoryUrl, url);
        this.deps.log.debug(`${e.id}: authorization ${url} deactivated`);
      } catch (error) {
        this.deps.log.debug(`${e.id}: could not deactivate ${url}: ${messageOf(error)}`);
      }
    }
  }

  /** The passphrase kept in storage.session, if this Thunderbird session still has it. */
  async passphrase(id: string): Promise<string | undefined> {
    const key = KEYS.passphrase(id);
    const value = (await this.deps.session.get([key]))[key];
    return typeof value === 'string' ? value : undefined;
  }
}
