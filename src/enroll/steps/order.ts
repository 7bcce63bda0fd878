/**
 * Steps `account` → `ordered` → `awaiting-mail`: the order for the address (RFC 8555 §7.4,
 * RFC 9773 `replaces` for a renewal) and its authorization's email-reply-00 challenge
 * (RFC 8823 §3).
 */
import type { Flow } from '../flow';
import type { Enrollment } from '../state';

export async function createOrder(flow: Flow, e: Enrollment): Promise<Enrollment> {
  const order = await flow.deps.acme.newOrder(e.directoryUrl, e.email, e.replaces);
  const authorizationUrl = order.authorizations[0];
  if (authorizationUrl === undefined) return flow.fail(e, 'caRefused', 'The CA created an order without an authorization.');
  return flow.transition(e, 'ordered', { orderUrl: order.url, finalizeUrl: order.finalize, authorizationUrl, orderedAt: flow.now() });
}

export async function fetchAuthorization(flow: Flow, e: Enrollment): Promise<Enrollment> {
  const authz = await flow.deps.acme.getAuthorization(e.directoryUrl, e.authorizationUrl!);
  // A still-valid authorization from an earlier order: no mail needed (RFC 8555 §7.1.4).
  if (authz.status === 'valid') return flow.transition(e, 'finalizing', {}, 'authorization already valid');
  if (authz.status !== 'pending') return flow.fail(e, 'authorizationFailed', `The authorization is ${authz.status}.`);
  const challenge = authz.challenge;
  if (!challenge) return flow.fail(e, 'noEmailChallenge', 'The CA offered no email-reply-00 challenge.');
  const now = flow.now();
  const settings = await flow.deps.settings();
  return flow.transition(e, 'awaiting-mail', {
    challengeUrl: challenge.url,
    challengeFrom: challenge.from,
    tokenPart2: challenge.token,
    waitingSince: now,
    challengePosted: challenge.status === 'processing',
    wakeAt: now + settings.postChallengeAfterSeconds * 1000,
  });
}
