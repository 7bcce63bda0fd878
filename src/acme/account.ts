/**
 * The account resource, RFC 8555 §7.3: create (§7.3), find by key (§7.3.1 onlyReturnExisting),
 * update contact and terms agreement (§7.3.2, §7.3.3), External Account Binding (§7.3.4),
 * key rollover (§7.3.5) and deactivation (§7.3.6).
 *
 * Terms of service are never agreed on the user's behalf: the caller passes the user's answer
 * and can show `directory.meta.termsOfService` first.
 */
import { postAsAccount, postAsGet, requireAccount, urlCheck, type AcmeContext } from './context';
import { AcmeProtocolError, AcmeUsageError } from './errors';
import { signExternalAccountBinding, signKeyChangeInner, type ExternalAccountBinding } from './jws';
import type { AccountKey } from './keys';
import { parseAccount } from './parse';
import { responseJson, type AcmeResponse } from './response';
import type { Account } from './types';

export interface CreateAccountOptions {
  /** The user's own answer to the CA's terms (directory.meta.termsOfService). */
  readonly termsOfServiceAgreed: boolean;
  /** `mailto:` URLs (RFC 8555 §7.3). */
  readonly contact?: readonly string[];
  readonly externalAccountBinding?: ExternalAccountBinding;
  readonly signal?: AbortSignal;
}

function accountFrom(ctx: AcmeContext, response: AcmeResponse, url: string): Account {
  return parseAccount(responseJson(response), url, response.request, urlCheck(ctx, response));
}

/**
 * newAccount (RFC 8555 §7.3): creates the account, or returns the existing one for this key
 * (200 instead of 201). Either way the account URL is kept in the context and returned.
 */
export async function createAccount(ctx: AcmeContext, options: CreateAccountOptions): Promise<Account> {
  const directory = await ctx.http.directory(options.signal);
  if (directory.meta.externalAccountRequired === true && options.externalAccountBinding === undefined) {
    throw new AcmeUsageError('this CA requires an External Account Binding (RFC 8555 §7.3.4): ask the CA for a key id and HMAC key');
  }
  const payload: Record<string, unknown> = { termsOfServiceAgreed: options.termsOfServiceAgreed };
  if (options.contact !== undefined) payload['contact'] = options.contact;
  if (options.externalAccountBinding !== undefined) {
    payload['externalAccountBinding'] = await signExternalAccountBinding(ctx.http.crypto, options.externalAccountBinding, ctx.accountKey.publicJwk, directory.newAccount);
  }
  const response = await ctx.http.post(directory.newAccount, { json: payload }, { key: ctx.accountKey, ref: { jwk: true }, signal: options.signal });
  const url = ctx.http.location(response);
  const account = accountFrom(ctx, response, url);
  ctx.accountUrl = url;
  return account;
}

/**
 * newAccount with `onlyReturnExisting` (RFC 8555 §7.3.1): the account of this key, or
 * AccountDoesNotExistError. Never creates one.
 */
export async function findAccount(ctx: AcmeContext, signal?: AbortSignal): Promise<Account> {
  const directory = await ctx.http.directory(signal);
  const response = await ctx.http.post(directory.newAccount, { json: { onlyReturnExisting: true } }, { key: ctx.accountKey, ref: { jwk: true }, signal });
  const url = ctx.http.location(response);
  const account = accountFrom(ctx, response, url);
  ctx.accountUrl = url;
  return account;
}

/** The account's current state, by POST-as-GET to its URL (RFC 8555 §7.3.2 allows an empty update too). */
export async function getAccount(ctx: AcmeContext, signal?: AbortSignal): Promise<Account> {
  const url = requireAccount(ctx);
  const response = await postAsGet(ctx, url, signal);
  return accountFrom(ctx, response, url);
}

/** RFC 8555 §7.3.2 (contact) and §7.3.3 (agreeing to changed terms). */
export async function updateAccount(
  ctx: AcmeContext,
  changes: { readonly contact?: readonly string[]; readonly termsOfServiceAgreed?: true },
  signal?: AbortSignal,
): Promise<Account> {
  const url = requireAccount(ctx);
  const response = await postAsAccount(ctx, url, { json: changes }, signal);
  return accountFrom(ctx, response, url);
}

/** RFC 8555 §7.3.6: irreversible; the CA will refuse every later request signed by this account. */
export async function deactivateAccount(ctx: AcmeContext, signal?: AbortSignal): Promise<Account> {
  const url = requireAccount(ctx);
  const response = await postAsAccount(ctx, url, { json: { status: 'deactivated' } }, signal);
  const account = accountFrom(ctx, response, url);
  if (account.status !== 'deactivated') {
    throw new AcmeProtocolError('invalid-field', `deactivation answered status "${account.rawStatus}"`, response.request, response.status);
  }
  return account;
}

/**
 * Key rollover (RFC 8555 §7.3.5): the outer JWS is signed by the old key (kid = account URL),
 * the inner one by the new key. On success the context switches to the new key; the account
 * URL stays the same. The caller must persist the new key before anything else.
 */
export async function changeAccountKey(ctx: AcmeContext, newKey: AccountKey, signal?: AbortSignal): Promise<void> {
  const accountUrl = requireAccount(ctx);
  const { keyChange } = await ctx.http.directory(signal);
  const inner = await signKeyChangeInner(ctx.http.crypto, newKey, { keyChangeUrl: keyChange, accountUrl, oldKey: ctx.accountKey });
  await postAsAccount(ctx, keyChange, { json: inner }, signal);
  ctx.accountKey = newKey;
}
