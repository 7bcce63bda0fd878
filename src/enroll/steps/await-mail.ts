/**
 * Step `awaiting-mail`: scan recent mail once per background life (a mail may have come while
 * Thunderbird was closed, or before this step was saved) and again when a mail is to be looked
 * at again; POST to the challenge first only after the configured wait with no mail (some CAs
 * send the mail only then); once POSTed, poll the authorization in case the CA validates by
 * other means or gives up. Reply first, then POST, is the rule otherwise (./validate.ts).
 */
import { currentAddress, isMultiAddress } from '../addresses';
import type { Flow } from '../flow';
import { scanRecent } from '../mail/intake';
import { FIRST_POLL_MS, pollDelay, timedOut } from '../schedule';
import type { Enrollment } from '../state';
import { authorizationValid } from './validate';

export async function awaitMail(flow: Flow, start: Enrollment): Promise<Enrollment> {
  let e = start;
  // Backing off after a failure (a refused compose, a network error): not even a scan until then.
  const started = flow.now();
  if (e.attempts > 0 && e.wakeAt !== undefined && e.wakeAt > started) return e;
  // Once per background life, and again when a mail is to be looked at again.
  if (!flow.scanned.has(e.id) || (e.mailRetry !== undefined && e.mailRetry.at <= started)) {
    e = await scanRecent(flow, e);
    // Marked only once the scan ran: a scan cut short by an error is tried again.
    flow.scanned.add(e.id);
    if (e.step !== 'awaiting-mail') return e;
  }
  const now = flow.now();
  if (e.wakeAt !== undefined && e.wakeAt > now) return e;
  const settings = await flow.deps.settings();
  if (timedOut(e, settings, now)) {
    const unchecked = e.mailRetry === undefined ? '' : ` (a mail could not be checked: ${e.mailRetry.reason})`;
    const address = isMultiAddress(e) ? ` for ${currentAddress(e).email}` : '';
    return flow.fail(e, 'timeout', `No valid challenge mail${address} came in time${unchecked}.`);
  }
  if (!e.challengePosted) {
    await flow.deps.acme.respondToChallenge(e.directoryUrl, e.challengeUrl!);
    return flow.update(e, { challengePosted: true, attempts: 0, polls: 0, wakeAt: now + FIRST_POLL_MS }, 'no mail yet: challenge POSTed first');
  }
  const authz = await flow.deps.acme.getAuthorization(e.directoryUrl, e.authorizationUrl!);
  if (authz.status === 'valid') return authorizationValid(flow, e, 'valid without a reply from us');
  if (authz.status !== 'pending') return flow.failChallenge(e, authz.challenge?.error, `The authorization is ${authz.status}.`);
  const polls = (e.polls ?? 0) + 1;
  return flow.update(e, { attempts: 0, polls, wakeAt: now + pollDelay(authz.retryAfterMs, polls) });
}
