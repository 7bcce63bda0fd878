/**
 * Several addresses in one certificate (RFC 8555 §7.4: one order, one `email` identifier and one
 * authorization per address; RFC 8823 §3: one challenge mail per address). The flow takes the
 * authorizations one at a time, in the order the user listed the addresses: the challenge
 * fields of an enrollment are about its `current` address, each answered from that address's
 * own identity. Pure rules; the steps that use them are ./steps/order.ts and ./steps/validate.ts.
 */
import type { Patch } from './records';
import type { ConfirmedAddress, Enrollment, OrderAddress, Step } from './state';

/** Every address of the enrollment, the first being its owner. */
export function addressesOf(e: Pick<Enrollment, 'identityId' | 'email' | 'addresses'>): readonly OrderAddress[] {
  return e.addresses ?? [{ identityId: e.identityId, email: e.email }];
}

/** The address whose challenge the flow works on now. */
export function currentAddress(e: Enrollment): OrderAddress {
  return e.current ?? { identityId: e.identityId, email: e.email };
}

/** True when the enrollment's certificate is for more than one address. */
export function isMultiAddress(e: Pick<Enrollment, 'addresses'>): boolean {
  return (e.addresses?.length ?? 1) > 1;
}

/** True when the enrollment's certificate covers this identity. */
export function covers(e: Pick<Enrollment, 'identityId' | 'email' | 'addresses'>, identityId: string): boolean {
  return addressesOf(e).some((a) => a.identityId === identityId);
}

export function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** True once `email` is proven in the current order. */
export function isConfirmed(e: Pick<Enrollment, 'confirmed'>, email: string): boolean {
  return (e.confirmed ?? []).some((c) => sameAddress(c.email, email));
}

/** The addresses not yet proven in the current order, in the user's order. */
export function unconfirmed(e: Enrollment): readonly OrderAddress[] {
  return addressesOf(e).filter((a) => !isConfirmed(e, a.email));
}

/**
 * Checks a list of addresses for one certificate: at least one, each address once (case does not
 * make two mailboxes of one), each identity once. Returns what is wrong, or undefined.
 */
export function addressListProblem(addresses: readonly OrderAddress[]): string | undefined {
  if (addresses.length === 0) return 'no address';
  for (let i = 0; i < addresses.length; i++) {
    const a = addresses[i]!;
    if (!/^[^@\s]+@[^@\s]+$/.test(a.email)) return `"${a.email}" is not a mail address`;
    if (addresses.slice(0, i).some((b) => sameAddress(a.email, b.email))) return `${a.email} is listed twice`;
    if (addresses.slice(0, i).some((b) => b.identityId === a.identityId)) return `one identity (${a.identityId}) is listed twice`;
  }
  return undefined;
}

/** The challenge fields of the record: cleared when the flow moves to the next address or order. */
export const CHALLENGE_CLEARED: Patch = {
  authorizationUrl: undefined,
  challengeUrl: undefined,
  challengeFrom: undefined,
  tokenPart2: undefined,
  answeredMail: undefined,
  answeredAt: undefined,
  joinUsed: undefined,
  joinsAgree: undefined,
  authenticity: undefined,
  challengePosted: false,
  waitingSince: undefined,
  pendingReply: undefined,
  mailRetry: undefined,
};

/**
 * The current address is proven: it joins `confirmed` (its answered mail is never answered
 * again), and the challenge fields are cleared for the next address. The caller moves to
 * `ordered`, which fetches the next pending authorization.
 */
export function confirmedPatch(e: Enrollment, authorizationUrl: string, now: number): Patch {
  const address = currentAddress(e);
  const confirmed: ConfirmedAddress = {
    ...address,
    authorizationUrl,
    ...(e.answeredMail === undefined ? {} : { answeredMail: e.answeredMail, answeredAt: e.answeredAt ?? now }),
  };
  return {
    ...CHALLENGE_CLEARED,
    confirmed: [...(e.confirmed ?? []), confirmed],
    earlierAnswers: [...(e.earlierAnswers ?? []), ...(e.answeredMail === undefined ? [] : [e.answeredMail])],
    current: undefined,
  };
}

/** Steps in which the order may still have a pending authorization (before finalize). */
const ORDER_OPEN_STEPS: readonly Step[] = ['ordered', 'awaiting-mail', 'awaiting-consent', 'replying', 'replied', 'validating'];

/**
 * The authorizations to deactivate when the enrollment ends before its order was finalized
 * (RFC 8555 §7.5.2): every one of the current order not yet proven, so that the order becomes
 * invalid instead of lingering.
 */
export function authorizationsToRelease(e: Enrollment): readonly string[] {
  if (!ORDER_OPEN_STEPS.includes(e.step) || e.orderUrl === undefined) return [];
  if (!isMultiAddress(e)) return e.authorizationUrl === undefined ? [] : [e.authorizationUrl];
  const proven = new Set((e.confirmed ?? []).map((c) => c.authorizationUrl));
  return (e.authorizationUrls ?? []).filter((url) => !proven.has(url));
}
