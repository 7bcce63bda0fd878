/**
 * What every resource module shares (internal): the wire, the challenge registry, the account
 * key and URL. The account key and URL change on key rollover (RFC 8555 §7.3.5) and account
 * creation (§7.3), so they live here rather than being copied into each module.
 */
import { AcmeUsageError } from './errors';
import type { AcmeHttp } from './http';
import type { JwsPayload } from './jws';
import type { AccountKey } from './keys';
import type { PollSettings } from './poll';
import type { AcmeResponse } from './response';
import type { ChallengeParser } from './types';

export interface AcmeContext {
  readonly http: AcmeHttp;
  readonly registry: ChallengeParser;
  readonly poll: PollSettings;
  accountKey: AccountKey;
  accountUrl: string | undefined;
}

/** The account URL, or a usage error saying the account must be created or found first. */
export function requireAccount(ctx: AcmeContext): string {
  if (ctx.accountUrl === undefined) throw new AcmeUsageError('no account yet: call createAccount() or findAccount(), or pass accountUrl');
  return ctx.accountUrl;
}

/** A POST signed by the account key with `kid` = account URL (RFC 8555 §6.2). */
export function postAsAccount(ctx: AcmeContext, url: string, payload: JwsPayload, signal?: AbortSignal, accept?: string): Promise<AcmeResponse> {
  const kid = requireAccount(ctx);
  return ctx.http.post(url, payload, { key: ctx.accountKey, ref: { kid }, signal, ...(accept === undefined ? {} : { accept }) });
}

/** POST-as-GET (RFC 8555 §6.3): how every resource is fetched. */
export function postAsGet(ctx: AcmeContext, url: string, signal?: AbortSignal, accept?: string): Promise<AcmeResponse> {
  return postAsAccount(ctx, url, { postAsGet: true }, signal, accept);
}

/** The URL checker bound to a response, for the parse functions. */
export function urlCheck(ctx: AcmeContext, response: AcmeResponse): (value: string, what: string) => string {
  return (value, what) => ctx.http.checkUrl(value, what, response.request, response.request.url);
}
