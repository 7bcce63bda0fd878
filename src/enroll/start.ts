/**
 * Starting an enrollment: the request checked (a CA configured, the addresses fit in one
 * certificate, none already in a running enrollment), key and CSR made first — so that nothing
 * after this needs the passphrase until installation — and the record saved in step `new`.
 * Under the lock of every identity the request names, taken in one order (no two requests can
 * both pass the "one running enrollment per identity" check, and none can deadlock).
 */
import { base64Encode as bytesToBase64 } from '../common/encoding';
import { addressListProblem, covers } from './addresses';
import { EnrollRequestError } from './errors';
import type { Flow } from './flow';
import { initialJoin } from './joins';
import { LOCK } from './lock';
import { challengeLikeMail } from './mail/intake';
import { MIN_PASSPHRASE_LENGTH, isAcceptablePassphrase } from './passphrase';
import type { KeyType, Usage } from './ports';
import { SCAN_MARGIN_MS } from './schedule';
import { KEYS, SCHEMA_VERSION, isTerminal, type Enrollment, type OrderAddress } from './state';
import { csrForKeptKey } from './steps/same-key';
import { listEnrollments } from './store';

export interface StartRequest {
  readonly identityId: string;
  readonly email: string;
  /**
   * Other identities the same certificate is for: one order with an `email` identifier for each
   * address, each challenge answered from its own identity, the certificate set on all of them.
   */
  readonly alsoFor?: readonly OrderAddress[];
  readonly keyType?: KeyType;
  readonly usage?: Usage;
  /** Absent: the flow generates one and returns it, to be shown once. */
  readonly passphrase?: string;
  readonly termsAgreed: boolean;
  readonly keepKey?: boolean;
  readonly replaces?: string;
  /** A renewal: who started it. */
  readonly renewal?: 'user' | 'auto';
  /**
   * The kept key (base64 EncryptedPrivateKeyInfo) to renew with: no new key is made, `passphrase`
   * is that key's, and without it the enrollment waits for it before ordering.
   */
  readonly keptKey?: string;
}

export interface Started {
  readonly enrollment: Enrollment;
  /** The passphrase the flow made, when none was given: shown once, never stored. */
  readonly generatedPassphrase?: string;
}

/** Records a new enrollment and returns it, with the passphrase the flow made when none was given (shown once). */
export function startEnrollment(flow: Flow, request: StartRequest): Promise<Started> {
  const identities = [request.identityId, ...(request.alsoFor ?? []).map((a) => a.identityId)];
  return flow.locks.runAll(identities.map(LOCK.identity), () => recordEnrollment(flow, request));
}

async function recordEnrollment(flow: Flow, request: StartRequest): Promise<Started> {
  const settings = await flow.deps.settings();
  if (settings.directoryUrl === '') throw new EnrollRequestError('noDirectory', 'No certificate authority is configured.');
  const addresses: OrderAddress[] = [{ identityId: request.identityId, email: request.email }, ...(request.alsoFor ?? [])];
  const problem = addressListProblem(addresses);
  if (problem !== undefined) throw new EnrollRequestError('badAddresses', `These addresses cannot share one certificate: ${problem}.`);
  const running = (await listEnrollments(flow.deps.storage)).filter((e) => !isTerminal(e.step));
  const busy = addresses.find((a) => running.some((e) => covers(e, a.identityId)));
  if (busy) throw new EnrollRequestError('busy', `An enrollment for ${busy.email} is already running.`);
  const keyType = request.keyType ?? settings.keyType;
  const usage = request.usage ?? settings.usage;
  const key = await keyFor(flow, request, addresses.map((a) => a.email), keyType, usage);
  const now = flow.now();
  const preexistingMail = await challengeLikeMail(flow, now - SCAN_MARGIN_MS);
  const join = await initialJoin(flow.deps.storage, settings.tokenJoin, settings.directoryUrl);
  const id = flow.deps.randomId();
  const base: Enrollment = {
    schema: SCHEMA_VERSION,
    id,
    identityId: request.identityId,
    email: request.email,
    directoryUrl: settings.directoryUrl,
    keyType,
    usage,
    tokenJoin: join.join,
    joinChoice: join.choice,
    keepKey: request.keepKey ?? settings.keepKey,
    termsAgreed: request.termsAgreed,
    createdAt: now,
    step: 'new',
    history: [{ step: 'new', at: now }],
    attempts: 0,
    challengePosted: false,
    refusals: [],
    encryptedKey: key.encryptedKey,
    preexistingMail,
  };
  const enrollment: Enrollment = {
    ...base,
    ...(addresses.length > 1 ? { addresses } : {}),
    ...(key.csr === undefined ? {} : { csr: key.csr }),
    ...(request.replaces === undefined ? {} : { replaces: request.replaces }),
    ...(request.renewal === undefined ? {} : { renewal: request.renewal }),
    ...(request.keptKey === undefined ? {} : { sameKey: true, keepKey: true }),
  };
  // The passphrase first: a record without it in the session would ask for it again at install.
  if (key.passphrase !== undefined) await flow.deps.session.set({ [KEYS.passphrase(id)]: key.passphrase });
  await flow.save(enrollment);
  flow.deps.log.debug(`enrollment ${id} for ${addresses.map((a) => a.email).join(', ')} recorded (${keyType}, ${usage}${request.keptKey === undefined ? '' : ', the kept key'}${key.csr === undefined ? '; waiting for its passphrase' : ''})`);
  return key.generated ? { enrollment, generatedPassphrase: key.passphrase! } : { enrollment };
}

/**
 * The key of a new enrollment: a new one under the given or a generated passphrase, or for a
 * renewal with the kept key, that key — its CSR made now when its passphrase is known, else
 * the enrollment waits in `new` for it (the popup asks, as for an install after a restart).
 */
async function keyFor(flow: Flow, request: StartRequest, emails: readonly string[], keyType: KeyType, usage: Usage): Promise<{ encryptedKey: string; csr?: string; passphrase?: string; generated: boolean }> {
  if (request.keptKey !== undefined) {
    if (request.passphrase === undefined) return { encryptedKey: request.keptKey, generated: false };
    const csr = await csrForKeptKey(flow, request.keptKey, request.passphrase, emails, usage);
    return { encryptedKey: request.keptKey, csr, passphrase: request.passphrase, generated: false };
  }
  const passphrase = request.passphrase ?? flow.deps.keys.generatePassphrase();
  if (!isAcceptablePassphrase(passphrase)) throw new EnrollRequestError('weakPassphrase', `The passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters.`);
  const key = await flow.deps.keys.generate(emails, keyType, usage, passphrase);
  return { encryptedKey: bytesToBase64(key.encryptedKey), csr: bytesToBase64(key.csrDer), passphrase, generated: request.passphrase === undefined };
}
