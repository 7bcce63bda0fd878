/**
 * Orders (RFC 8555 §7.4, §7.1.3; `replaces` of RFC 9773 §5) and finalization with a CSR (§7.4), and waiting for an order
 * to become ready or valid (§7.4, polling per ./poll.ts).
 *
 * Identifiers are passed through as given: `email` (RFC 8823 §2) for the add-on, `dns` and `ip`
 * (RFC 8738) for tests against Pebble.
 */
import { base64UrlEncode } from '../common/encoding';
import { postAsAccount, postAsGet, requireAccount, urlCheck, type AcmeContext } from './context';
import { AcmeProtocolError, AcmeResourceFailedError } from './errors';
import { parseOrder } from './parse';
import { pollUntil, type WaitOptions } from './poll';
import { responseJson, type AcmeResponse } from './response';
import type { Identifier, Order, OrderStatus } from './types';

export interface NewOrderOptions {
  /** RFC 3339 dates (§7.4); most CAs ignore or refuse them. */
  readonly notBefore?: string;
  readonly notAfter?: string;
  /**
   * RFC 9773 §5: the certID (see renewalCertId) of the certificate this order renews, so the CA
   * can link them (and exempt the renewal from some rate limits). Only send it to a CA whose
   * directory offers renewalInfo; others may refuse the unknown field.
   */
  readonly replaces?: string;
  readonly signal?: AbortSignal;
}

function orderFrom(ctx: AcmeContext, response: AcmeResponse, url: string): Order {
  return parseOrder(responseJson(response), url, response.request, urlCheck(ctx, response), response.retryAfterMs);
}

/** newOrder (RFC 8555 §7.4): 201 with the order's URL in Location. */
export async function newOrder(ctx: AcmeContext, identifiers: readonly Identifier[], options: NewOrderOptions = {}): Promise<Order> {
  requireAccount(ctx); // before any request: a usage error should cost nothing
  const { newOrder: url } = await ctx.http.directory(options.signal);
  const payload: Record<string, unknown> = { identifiers: identifiers.map((i) => ({ type: i.type, value: i.value })) };
  if (options.notBefore !== undefined) payload['notBefore'] = options.notBefore;
  if (options.notAfter !== undefined) payload['notAfter'] = options.notAfter;
  if (options.replaces !== undefined) payload['replaces'] = options.replaces;
  const response = await postAsAccount(ctx, url, { json: payload }, options.signal);
  const order = orderFrom(ctx, response, ctx.http.location(response));
  // An order for other identifiers than asked would have the user prove (and the CA certify)
  // something else: refuse it rather than carry on. Case is ignored, as CAs normalise it.
  const key = (i: Identifier) => `${i.type}:${i.value.toLowerCase()}`;
  const asked = new Set(identifiers.map(key));
  const got = new Set(order.identifiers.map(key));
  if (asked.size !== got.size || [...asked].some((k) => !got.has(k))) {
    throw new AcmeProtocolError('invalid-field', `the new order is for ${[...got].join(', ')}, not ${[...asked].join(', ')}`, response.request, response.status);
  }
  return order;
}

/** The order at `url` (POST-as-GET, RFC 8555 §7.1.3). */
export async function getOrder(ctx: AcmeContext, url: string, signal?: AbortSignal): Promise<Order> {
  const response = await postAsGet(ctx, url, signal);
  return orderFrom(ctx, response, url);
}

/** What finalize needs: the order, or at least its finalize URL (the order URL then comes from Location). */
export type FinalizeTarget = Order | { readonly finalize: string; readonly url?: string } | string;

/**
 * finalize (RFC 8555 §7.4): sends the DER CSR to the order's finalize URL; answers with the
 * order, usually `processing` or already `valid`. `target` is the order, or `{finalize, url?}`,
 * or the finalize URL itself as a string (never the order URL). Without the order URL, the
 * answer's Location names the order (RFC 8555 §7.4 shows it; Pebble and Boulder send it).
 */
export async function finalizeOrder(ctx: AcmeContext, target: FinalizeTarget, csrDer: Uint8Array, signal?: AbortSignal): Promise<Order> {
  const finalizeUrl = typeof target === 'string' ? target : target.finalize;
  const known = typeof target === 'string' ? undefined : target.url;
  const response = await postAsAccount(ctx, finalizeUrl, { json: { csr: base64UrlEncode(csrDer) } }, signal);
  const orderUrl = known ?? ctx.http.location(response);
  const order = orderFrom(ctx, response, orderUrl);
  if (order.finalize !== ctx.http.checkUrl(finalizeUrl, 'finalize')) {
    throw new AcmeProtocolError('invalid-field', `the finalize answer is an order finalized at ${order.finalize}, not ${finalizeUrl}`, response.request, response.status);
  }
  return order;
}

/** The order statuses from which `target` can still be reached without the client doing anything. */
const MOVING_ON: Readonly<Record<'ready' | 'valid', readonly OrderStatus[]>> = {
  ready: ['pending', 'processing', 'unknown'],
  valid: ['processing', 'unknown'],
};

/**
 * Polls the order until it is `ready` (all authorizations valid) or `valid` (certificate issued).
 * Throws AcmeResourceFailedError when it turns `invalid`, or stops where only the client can
 * move it on (for example `ready` while waiting for `valid`: finalize first).
 */
export async function waitForOrder(
  ctx: AcmeContext,
  url: string,
  target: 'ready' | 'valid',
  options: WaitOptions<Order> = {},
): Promise<Order> {
  const order = await pollUntil(
    ctx.http.clock,
    ctx.poll,
    (signal) => getOrder(ctx, url, signal),
    (o) => !MOVING_ON[target].includes(o.status),
    (o) => o.retryAfterMs,
    options,
    `order ${url}`,
  );
  const reached = order.status === target || (target === 'ready' && order.status === 'valid');
  if (!reached) {
    throw new AcmeResourceFailedError(`order is "${order.rawStatus}", not "${target}"`, order, order.error);
  }
  return order;
}
