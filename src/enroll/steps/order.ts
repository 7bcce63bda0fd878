/**
 * Steps `account` → `ordered` → `awaiting-mail`: the order for the addresses (RFC 8555 §7.4, an
 * `email` identifier each; RFC 9773 `replaces` for a renewal) and the email-reply-00 challenge
 * of the next authorization still pending (RFC 8823 §3). With several addresses the flow comes
 * back to `ordered` after each one is proven (../addresses.ts).
 */
import { addressesOf, isMultiAddress, sameAddress, unconfirmed } from '../addresses';
import type { Flow } from '../flow';
import type { AuthorizationInfo } from '../ports';
import type { ConfirmedAddress, Enrollment, OrderAddress } from '../state';

export async function createOrder(flow: Flow, e: Enrollment): Promise<Enrollment> {
  const addresses = addressesOf(e);
  const order = await flow.deps.acme.newOrder(e.directoryUrl, addresses.map((a) => a.email), e.replaces);
  const authorizationUrl = order.authorizations[0];
  if (authorizationUrl === undefined) return flow.fail(e, 'caRefused', 'The CA created an order without an authorization.');
  if (order.authorizations.length !== addresses.length) {
    return flow.fail(e, 'caRefused', `The CA created an order with ${order.authorizations.length} authorizations for ${addresses.length} addresses.`);
  }
  const patch = { orderUrl: order.url, finalizeUrl: order.finalize, orderedAt: flow.now() };
  if (!isMultiAddress(e)) return flow.transition(e, 'ordered', { ...patch, authorizationUrl });
  return flow.transition(e, 'ordered', { ...patch, authorizationUrls: order.authorizations, confirmed: [] });
}

export async function fetchAuthorization(flow: Flow, e: Enrollment): Promise<Enrollment> {
  if (isMultiAddress(e)) return nextAuthorization(flow, e);
  const authz = await flow.deps.acme.getAuthorization(e.directoryUrl, e.authorizationUrl!);
  // A still-valid authorization from an earlier order: no mail needed (RFC 8555 §7.1.4).
  if (authz.status === 'valid') return flow.transition(e, 'finalizing', {}, 'authorization already valid');
  return awaitChallenge(flow, e, authz);
}

/**
 * Several addresses: the authorizations not yet known valid are fetched, matched to the
 * addresses by their identifier (a CA lists them in any order), and the first address still
 * pending becomes the current one. Authorizations already valid (an earlier proof, RFC 8555
 * §7.1.4) count as confirmed without a mail; when all are, the order is finalized.
 */
async function nextAuthorization(flow: Flow, e: Enrollment): Promise<Enrollment> {
  const known = new Set((e.confirmed ?? []).map((c) => c.authorizationUrl));
  const byAddress = new Map<string, AuthorizationInfo>();
  for (const url of (e.authorizationUrls ?? []).filter((u) => !known.has(u))) {
    const authz = await flow.deps.acme.getAuthorization(e.directoryUrl, url);
    const address = unconfirmed(e).find((a) => authz.identifier.type === 'email' && sameAddress(a.email, authz.identifier.value));
    if (address === undefined) return flow.fail(e, 'caRefused', `The CA's authorization ${url} is for ${authz.identifier.value}, not one of the addresses ordered.`);
    byAddress.set(address.email.toLowerCase(), authz);
  }
  const alreadyValid: ConfirmedAddress[] = [];
  let next: { address: OrderAddress; authz: AuthorizationInfo } | undefined;
  for (const address of unconfirmed(e)) {
    const authz = byAddress.get(address.email.toLowerCase());
    if (authz === undefined) return flow.fail(e, 'caRefused', `The CA's order has no authorization for ${address.email}.`);
    if (authz.status === 'valid') alreadyValid.push({ ...address, authorizationUrl: authz.url });
    else next ??= { address, authz };
  }
  const confirmed = [...(e.confirmed ?? []), ...alreadyValid];
  const note = alreadyValid.length === 0 ? undefined : `already valid: ${alreadyValid.map((a) => a.email).join(', ')}`;
  if (next === undefined) return flow.transition(e, 'finalizing', { confirmed }, note ?? 'every authorization valid');
  const working = await flow.update(e, { confirmed, current: next.address, authorizationUrl: next.authz.url }, note);
  return awaitChallenge(flow, working, next.authz);
}

/** The authorization is pending: wait for its challenge mail (the POST-first wait counts from now). */
async function awaitChallenge(flow: Flow, e: Enrollment, authz: AuthorizationInfo): Promise<Enrollment> {
  if (authz.status !== 'pending') return flow.fail(e, 'authorizationFailed', `The authorization for ${authz.identifier.value} is ${authz.status}.`);
  const challenge = authz.challenge;
  if (!challenge) return flow.fail(e, 'noEmailChallenge', `The CA offered no email-reply-00 challenge for ${authz.identifier.value}.`);
  const now = flow.now();
  const settings = await flow.deps.settings();
  // A new address: its mail may already be here, so recent mail is scanned again.
  flow.scanned.delete(e.id);
  return flow.transition(e, 'awaiting-mail', {
    challengeUrl: challenge.url,
    challengeFrom: challenge.from,
    tokenPart2: challenge.token,
    waitingSince: now,
    challengePosted: challenge.status === 'processing',
    wakeAt: now + settings.postChallengeAfterSeconds * 1000,
  }, isMultiAddress(e) ? `waiting for the challenge mail to ${authz.identifier.value}` : undefined);
}
