/**
 * Authorizations (RFC 8555 §7.5, §7.1.4), responding to a challenge (§7.5.1), deactivation
 * (§7.5.2), and waiting for validation (§7.5.1, polling per ./poll.ts).
 */
import { postAsAccount, postAsGet, urlCheck, type AcmeContext } from './context';
import { AcmeResourceFailedError } from './errors';
import { parseAuthorization } from './parse';
import { pollUntil, type WaitOptions } from './poll';
import { responseJson, type AcmeResponse } from './response';
import type { Authorization, ChallengeBase } from './types';

function authorizationFrom(ctx: AcmeContext, response: AcmeResponse, url: string): Authorization {
  return parseAuthorization(responseJson(response), url, response.request, urlCheck(ctx, response), ctx.registry, response.retryAfterMs);
}

/** The authorization at `url` (POST-as-GET). */
export async function getAuthorization(ctx: AcmeContext, url: string, signal?: AbortSignal): Promise<Authorization> {
  const response = await postAsGet(ctx, url, signal);
  return authorizationFrom(ctx, response, url);
}

/** The challenge at `url` (POST-as-GET, RFC 8555 §7.5.1). */
export async function getChallenge(ctx: AcmeContext, url: string, signal?: AbortSignal): Promise<ChallengeBase> {
  const response = await postAsGet(ctx, url, signal);
  return ctx.registry.parse(responseJson(response), response.request, urlCheck(ctx, response));
}

/**
 * Tells the server the challenge is ready to be checked: POST `{}` (RFC 8555 §7.5.1). For
 * email-reply-00 some CAs only send the challenge mail after this (docs/ARCHITECTURE.md, "When
 * the CA sends the challenge mail").
 */
export async function respondToChallenge(ctx: AcmeContext, url: string, signal?: AbortSignal): Promise<ChallengeBase> {
  const response = await postAsAccount(ctx, url, { json: {} }, signal);
  return ctx.registry.parse(responseJson(response), response.request, urlCheck(ctx, response));
}

/** RFC 8555 §7.5.2: gives up an authorization (for example when the user cancels). */
export async function deactivateAuthorization(ctx: AcmeContext, url: string, signal?: AbortSignal): Promise<Authorization> {
  const response = await postAsAccount(ctx, url, { json: { status: 'deactivated' } }, signal);
  return authorizationFrom(ctx, response, url);
}

/** The problem of the first challenge that failed, for an error message worth reading. */
function failureOf(authz: Authorization) {
  return authz.challenges.find((c) => c.error !== undefined)?.error;
}

/**
 * Polls until the authorization leaves `pending` (RFC 8555 §7.5.1). Returns it when `valid`;
 * throws AcmeResourceFailedError (with the failing challenge's problem) for `invalid`,
 * `deactivated`, `expired` or `revoked`. An unknown status is polled on until the deadline.
 */
export async function waitForAuthorization(ctx: AcmeContext, url: string, options: WaitOptions<Authorization> = {}): Promise<Authorization> {
  const authz = await pollUntil(
    ctx.http.clock,
    ctx.poll,
    (signal) => getAuthorization(ctx, url, signal),
    (a) => a.status !== 'pending' && a.status !== 'unknown',
    (a) => a.retryAfterMs,
    options,
    `authorization ${url}`,
  );
  if (authz.status !== 'valid') {
    throw new AcmeResourceFailedError(`authorization for ${authz.identifier.type}:${authz.identifier.value} is "${authz.rawStatus}"`, authz, failureOf(authz));
  }
  return authz;
}
