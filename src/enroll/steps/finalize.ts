/**
 * Step `finalizing` → `downloading`: send the CSR made at the start and poll the order until
 * the certificate is issued (RFC 8555 §7.4), honouring Retry-After.
 */
import { base64Decode as base64ToBytes } from '../../common/encoding';
import type { Flow } from '../flow';
import { pollDelay, timedOut } from '../schedule';
import type { Enrollment } from '../state';

export async function finalize(flow: Flow, e: Enrollment): Promise<Enrollment> {
  let order = await flow.deps.acme.getOrder(e.directoryUrl, e.orderUrl!);
  // Re-read first: after a restart the CSR may already have been sent (RFC 8555 §7.4).
  if (order.status === 'ready') order = await flow.deps.acme.finalize(e.directoryUrl, e.finalizeUrl!, base64ToBytes(e.csr!));
  const now = flow.now();
  if (order.status === 'valid' && order.certificate !== undefined) return flow.transition(e, 'downloading', { certificateUrl: order.certificate });
  if (order.status === 'invalid') return flow.fail(e, 'orderInvalid', 'The CA marked the order invalid.', order.error);
  if (timedOut(e, await flow.deps.settings(), now)) return flow.fail(e, 'timeout', 'The CA did not issue the certificate in time.');
  const polls = (e.polls ?? 0) + 1;
  return flow.update(e, { attempts: 0, polls, wakeAt: now + pollDelay(order.retryAfterMs, polls - 1) });
}
