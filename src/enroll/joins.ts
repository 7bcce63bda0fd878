/**
 * Which way of joining the two token halves a CA reads (RFC 8823 §3.1 leaves it open: acme4j,
 * acme2certifier and rapidmx join the base64url *strings*; CASTLE and acmez the decoded *bytes*).
 *
 * With the option on `auto` (the default), the flow joins as the CA was last seen to read it, or
 * as strings for a CA it has not met. When the CA marks the challenge invalid after our reply, the
 * join is not yet confirmed for that CA, and the two readings gave different responses, the flow
 * starts ONE new order with the other join (a new challenge mail, a new reply) — never more than
 * once per enrollment. The join that led to a certificate is remembered per directory URL. A join
 * set in the options, or by an administrator's policy, always wins: nothing is tried or learned.
 */
import { CHALLENGE_CLEARED } from './addresses';
import type { ProblemInfo, StoragePort, TokenJoin, TokenJoinSetting } from './ports';
import type { Patch } from './records';
import type { Enrollment } from './state';

/** storage.local: the join a CA was seen to accept, per directory URL. */
export const joinKey = (directoryUrl: string): string => `join:${directoryUrl}`;
export const JOIN_PREFIX = 'join:';

export interface LearnedJoin {
  readonly join: TokenJoin;
  /** When a certificate was issued with it. */
  readonly confirmedAt: number;
}

/** Where an enrollment's join came from: the options (or policy), what the CA accepted before, or the default. */
export type JoinChoice = 'setting' | 'learned' | 'default';

export function otherJoin(join: TokenJoin): TokenJoin {
  return join === 'string' ? 'bytes' : 'string';
}

function isLearnedJoin(value: unknown): value is LearnedJoin {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (v['join'] === 'string' || v['join'] === 'bytes') && typeof v['confirmedAt'] === 'number';
}

export async function learnedJoin(storage: StoragePort, directoryUrl: string): Promise<LearnedJoin | undefined> {
  const key = joinKey(directoryUrl);
  const value = (await storage.get([key]))[key];
  return isLearnedJoin(value) ? value : undefined;
}

/** Every CA's learned join (the options page lists them). */
export async function learnedJoins(storage: StoragePort): Promise<Record<string, LearnedJoin>> {
  const all = await storage.getAll();
  const out: Record<string, LearnedJoin> = {};
  for (const [key, value] of Object.entries(all)) if (key.startsWith(JOIN_PREFIX) && isLearnedJoin(value)) out[key.slice(JOIN_PREFIX.length)] = value;
  return out;
}

/** The join a new enrollment starts with, and why. */
export async function initialJoin(storage: StoragePort, setting: TokenJoinSetting, directoryUrl: string): Promise<{ join: TokenJoin; choice: JoinChoice }> {
  if (setting !== 'auto') return { join: setting, choice: 'setting' };
  const learned = await learnedJoin(storage, directoryUrl);
  return learned ? { join: learned.join, choice: 'learned' } : { join: 'string', choice: 'default' };
}

/**
 * Whether a refused reply is worth one more order with the other join: the join was chosen
 * automatically and not confirmed for this CA (a learned join that fails now points elsewhere),
 * the two readings really differed, a reply went out, no other reply of the order was accepted,
 * and this enrollment has not tried yet.
 */
export function shouldTryOtherJoin(e: Enrollment): boolean {
  // A reply of this order the CA already accepted (another address) shows the join was right.
  const acceptedBefore = (e.confirmed ?? []).some((c) => c.answeredMail !== undefined);
  return e.joinChoice === 'default' && e.joinRetriedFrom === undefined && e.answeredMail !== undefined && e.joinsAgree !== true && !acceptedBefore;
}

/**
 * The record for the second order: same key and CSR, the other join, the first reply remembered
 * as answered (never answered again), every trace of the first order cleared.
 */
export function retryPatch(e: Enrollment, now: number, problem: ProblemInfo | undefined): Patch & { readonly tokenJoin: TokenJoin } {
  return {
    ...CHALLENGE_CLEARED,
    tokenJoin: otherJoin(e.tokenJoin),
    joinRetriedFrom: { join: e.tokenJoin, at: now, ...(problem === undefined ? {} : { problem }) },
    earlierAnswers: [...(e.earlierAnswers ?? []), ...(e.answeredMail === undefined ? [] : [e.answeredMail])],
    orderUrl: undefined,
    finalizeUrl: undefined,
    authorizationUrls: undefined,
    confirmed: undefined,
    current: undefined,
  };
}

/** After a certificate was issued with an automatically chosen join that mattered: remember it for the CA. */
export async function rememberJoin(storage: StoragePort, e: Enrollment, now: number): Promise<void> {
  if (e.joinChoice === 'setting' || e.joinsAgree === true || e.joinUsed === undefined) return;
  await storage.set({ [joinKey(e.directoryUrl)]: { join: e.joinUsed, confirmedAt: now } satisfies LearnedJoin });
}
