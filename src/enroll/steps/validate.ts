/**
 * Steps `replied` → `validating` → `finalizing`: POST to the challenge after our reply had time
 * to reach the CA (RFC 8555 §7.5.1), then poll the authorization, honouring Retry-After.
 */
import type { Flow } from '../flow';
import { confirmedPatch, currentAddress, isMultiAddress } from '../addresses';
import { rememberJoin, retryPatch, shouldTryOtherJoin } from '../joins';
import { FIRST_POLL_MS, pollDelay, timedOut } from '../schedule';
import type { Enrollment } from '../state';

/**
 * The current address's authorization is valid: finalize, or with several addresses, go back to
 * `ordered` for the next one still pending (../addresses.ts).
 */
export function authorizationValid(flow: Flow, e: Enrollment, note?: string): Promise<Enrollment> {
  if (!isMultiAddress(e)) return flow.transition(e, 'finalizing', {}, note);
  const address = currentAddress(e);
  return flow.transition(e, 'ordered', confirmedPatch(e, e.authorizationUrl!, flow.now()), `${address.email} confirmed${note === undefined ? '' : ` (${note})`}`);
}

export async function postAfterReply(flow: Flow, e: Enrollment): Promise<Enrollment> {
  const now = flow.now();
  if (!e.challengePosted) await flow.deps.acme.respondToChallenge(e.directoryUrl, e.challengeUrl!);
  return flow.transition(e, 'validating', { challengePosted: true, wakeAt: now + FIRST_POLL_MS });
}

export async function pollAuthorization(flow: Flow, e: Enrollment): Promise<Enrollment> {
  const authz = await flow.deps.acme.getAuthorization(e.directoryUrl, e.authorizationUrl!);
  const now = flow.now();
  if (authz.status === 'valid') {
    // The CA accepted the reply: the join it reads is known now (../joins.ts).
    await rememberJoin(flow.deps.storage, e, now);
    return authorizationValid(flow, e);
  }
  if (authz.status === 'pending') {
    if (timedOut(e, await flow.deps.settings(), now)) {
      const address = isMultiAddress(e) ? ` for ${currentAddress(e).email}` : '';
      return flow.fail(e, 'timeout', `The CA did not validate the reply${address} in time.`);
    }
    const polls = (e.polls ?? 0) + 1;
    return flow.update(e, { attempts: 0, polls, wakeAt: now + pollDelay(authz.retryAfterMs, polls) });
  }
  if (shouldTryOtherJoin(e)) {
    const retry = retryPatch(e, now, authz.challenge?.error);
    return flow.transition(e, 'account', retry, `the CA refused the reply (token halves joined as ${e.tokenJoin}${authz.challenge?.error ? `: ${authz.challenge.error.detail ?? authz.challenge.error.type}` : ''}); one new order, joined as ${retry.tokenJoin}`);
  }
  return flow.failChallenge(e, authz.challenge?.error, `The authorization is ${authz.status}.`);
}
