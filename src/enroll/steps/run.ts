/**
 * The state machine's driver: which step's work runs for the stored step, and how far an
 * enrollment goes in one advance. Every step persists its transition before returning, so a
 * background stopped at any moment resumes from the stored step (docs/ARCHITECTURE.md).
 */
import { downloadChain } from '../certificates/download';
import type { Flow } from '../flow';
import { isTerminal, type Enrollment } from '../state';
import { ensureAccount } from './account';
import { awaitMail } from './await-mail';
import { finalize } from './finalize';
import { install } from './install';
import { createOrder, fetchAuthorization } from './order';
import { replyingAfterRestart } from './reply';
import { awaitKeyPassphrase } from './same-key';
import { pollAuthorization, postAfterReply } from './validate';

/** Runs an enrollment as far as it can go now; a failure goes through the failure policy. */
export async function run(flow: Flow, start: Enrollment): Promise<Enrollment> {
  let e = start;
  // Each pass either moves to another step or returns: the bound only stops a bug from spinning.
  for (let pass = 0; pass < 32; pass++) {
    if (isTerminal(e.step)) return e;
    const before = e;
    try {
      e = await step(flow, e);
    } catch (error) {
      return flow.failure(e, error);
    }
    if (e.step === before.step) return e;
  }
  return e;
}

/** One step's work. Returns the record unchanged in step when it must wait. */
async function step(flow: Flow, e: Enrollment): Promise<Enrollment> {
  if (e.wakeAt !== undefined && e.wakeAt > flow.now() && e.step !== 'awaiting-mail') return e;
  switch (e.step) {
    case 'new':
      // A renewal with the kept key has no CSR until its passphrase is known.
      return e.csr === undefined ? awaitKeyPassphrase(flow, e) : ensureAccount(flow, e);
    case 'account':
      return createOrder(flow, e);
    case 'ordered':
      return fetchAuthorization(flow, e);
    case 'awaiting-mail':
      return awaitMail(flow, e);
    case 'awaiting-consent':
      return e;
    case 'replying':
      return replyingAfterRestart(flow, e);
    case 'replied':
      return postAfterReply(flow, e);
    case 'validating':
      return pollAuthorization(flow, e);
    case 'finalizing':
      return finalize(flow, e);
    case 'downloading':
      return downloadChain(flow, e);
    case 'installing':
      return install(flow, e);
    case 'installed':
    case 'failed':
    case 'cancelled':
      return e;
  }
}
