/**
 * Reading server JSON into the vocabulary of ./types.ts (RFC 8555 §7.1, RFC 9773 §4.2).
 *
 * Strict where a wrong value would mislead the client (URLs, identifiers, the fields a state
 * machine reads), lenient where the RFC lets servers extend: unknown members are kept in
 * `raw`, unknown statuses become `'unknown'`. Every refusal is an AcmeProtocolError naming the
 * field, never a TypeError from deep inside.
 */
import { AcmeProtocolError } from './errors';
import {
  ACCOUNT_STATUSES,
  AUTHORIZATION_STATUSES,
  ORDER_STATUSES,
  type Account,
  type AccountStatus,
  type Authorization,
  type AuthorizationStatus,
  type ChallengeParser,
  type Directory,
  type Identifier,
  type Order,
  type OrderStatus,
  type Problem,
  type RenewalInfo,
  type RequestInfo,
  type UrlCheck,
} from './types';

export type { UrlCheck };

/** Subproblems nest only one level in RFC 8555 §6.7.1; deeper nesting is cut here. */
const MAX_SUBPROBLEMS = 100;

function fail(field: string, why: string, request: RequestInfo | undefined): never {
  throw new AcmeProtocolError('invalid-field', `"${field}" ${why}`, request);
}

export function str(obj: Readonly<Record<string, unknown>>, field: string, request: RequestInfo | undefined): string {
  const value = obj[field];
  if (typeof value !== 'string') fail(field, 'is missing or not a string', request);
  return value;
}

function optStr(obj: Readonly<Record<string, unknown>>, field: string, request: RequestInfo | undefined): string | undefined {
  const value = obj[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail(field, 'is not a string', request);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A status string mapped onto `known`, or `'unknown'`. */
export function statusOf<S extends string>(raw: string, known: readonly S[]): S | 'unknown' {
  return (known as readonly string[]).includes(raw) ? (raw as S) : 'unknown';
}

/** RFC 8555 §7.1.1. Every resource URL must be present and usable; `meta` is optional. */
export function parseDirectory(obj: Record<string, unknown>, request: RequestInfo, checkUrl: UrlCheck): Directory {
  const url = (field: string) => checkUrl(str(obj, field, request), `directory "${field}"`);
  const optUrl = (field: string) => {
    const value = optStr(obj, field, request);
    return value === undefined ? undefined : checkUrl(value, `directory "${field}"`);
  };
  const metaRaw = isRecord(obj['meta']) ? obj['meta'] : {};
  const tos = optStr(metaRaw, 'termsOfService', request);
  const website = optStr(metaRaw, 'website', request);
  const caa = metaRaw['caaIdentities'];
  const newAuthz = optUrl('newAuthz');
  const renewalInfo = optUrl('renewalInfo');
  return {
    newNonce: url('newNonce'),
    newAccount: url('newAccount'),
    newOrder: url('newOrder'),
    revokeCert: url('revokeCert'),
    keyChange: url('keyChange'),
    ...(newAuthz === undefined ? {} : { newAuthz }),
    ...(renewalInfo === undefined ? {} : { renewalInfo }),
    meta: {
      ...(tos === undefined ? {} : { termsOfService: tos }),
      ...(website === undefined ? {} : { website }),
      ...(Array.isArray(caa) ? { caaIdentities: caa.filter((c): c is string => typeof c === 'string') } : {}),
      ...(metaRaw['externalAccountRequired'] === true ? { externalAccountRequired: true } : {}),
    },
  };
}

/** RFC 8555 §6.7 / RFC 7807: a problem document; a missing `type` means `about:blank` (RFC 7807 §4.2). */
export function parseProblem(obj: Record<string, unknown>, depth = 0): Problem {
  const text = (field: string) => (typeof obj[field] === 'string' ? (obj[field]) : undefined);
  const type = text('type') ?? 'about:blank';
  const detail = text('detail');
  const title = text('title');
  const instance = text('instance');
  const status = typeof obj['status'] === 'number' ? obj['status'] : undefined;
  const identifier = isRecord(obj['identifier']) && typeof obj['identifier']['type'] === 'string' && typeof obj['identifier']['value'] === 'string'
    ? { type: obj['identifier']['type'], value: obj['identifier']['value'] }
    : undefined;
  const subRaw = obj['subproblems'];
  const subproblems = depth === 0 && Array.isArray(subRaw) ? subRaw.filter(isRecord).slice(0, MAX_SUBPROBLEMS).map((s) => parseProblem(s, depth + 1)) : undefined;
  return {
    type,
    ...(detail === undefined ? {} : { detail }),
    ...(title === undefined ? {} : { title }),
    ...(status === undefined ? {} : { status }),
    ...(instance === undefined ? {} : { instance }),
    ...(identifier === undefined ? {} : { identifier }),
    ...(subproblems === undefined ? {} : { subproblems }),
    raw: obj,
  };
}

function optProblem(obj: Record<string, unknown>, field: string): Problem | undefined {
  const value = obj[field];
  return isRecord(value) ? parseProblem(value) : undefined;
}

export function parseIdentifier(value: unknown, field: string, request: RequestInfo | undefined): Identifier {
  if (!isRecord(value)) fail(field, 'is not an identifier object', request);
  return { type: str(value, 'type', request), value: str(value, 'value', request) };
}

function urlList(obj: Record<string, unknown>, field: string, request: RequestInfo, checkUrl: UrlCheck): string[] {
  const value = obj[field];
  if (!Array.isArray(value)) fail(field, 'is not an array', request);
  return value.map((v, i) => {
    if (typeof v !== 'string') fail(`${field}[${i}]`, 'is not a string', request);
    return checkUrl(v, `${field}[${i}]`);
  });
}

/** RFC 8555 §7.1.2. */
export function parseAccount(obj: Record<string, unknown>, url: string, request: RequestInfo, checkUrl: UrlCheck): Account {
  const rawStatus = str(obj, 'status', request);
  const contact = Array.isArray(obj['contact']) ? obj['contact'].filter((c): c is string => typeof c === 'string') : [];
  const orders = optStr(obj, 'orders', request);
  return {
    url,
    status: statusOf<AccountStatus>(rawStatus, ACCOUNT_STATUSES),
    rawStatus,
    contact,
    ...(typeof obj['termsOfServiceAgreed'] === 'boolean' ? { termsOfServiceAgreed: obj['termsOfServiceAgreed'] } : {}),
    ...(orders === undefined ? {} : { orders: checkUrl(orders, 'orders') }),
    raw: obj,
  };
}

/** RFC 8555 §7.1.3. */
export function parseOrder(obj: Record<string, unknown>, url: string, request: RequestInfo, checkUrl: UrlCheck, retryAfterMs: number | undefined): Order {
  const rawStatus = str(obj, 'status', request);
  const identifiersRaw = obj['identifiers'];
  if (!Array.isArray(identifiersRaw)) fail('identifiers', 'is not an array', request);
  const certificate = optStr(obj, 'certificate', request);
  const error = optProblem(obj, 'error');
  const expires = optStr(obj, 'expires', request);
  const notBefore = optStr(obj, 'notBefore', request);
  const notAfter = optStr(obj, 'notAfter', request);
  const status = statusOf<OrderStatus>(rawStatus, ORDER_STATUSES);
  if (status === 'valid' && certificate === undefined) fail('certificate', 'is missing from a valid order', request);
  return {
    url,
    status,
    rawStatus,
    identifiers: identifiersRaw.map((v, i) => parseIdentifier(v, `identifiers[${i}]`, request)),
    authorizations: urlList(obj, 'authorizations', request, checkUrl),
    finalize: checkUrl(str(obj, 'finalize', request), 'finalize'),
    ...(certificate === undefined ? {} : { certificate: checkUrl(certificate, 'certificate') }),
    ...(error === undefined ? {} : { error }),
    ...(expires === undefined ? {} : { expires }),
    ...(notBefore === undefined ? {} : { notBefore }),
    ...(notAfter === undefined ? {} : { notAfter }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    raw: obj,
  };
}

/** RFC 8555 §7.1.4; each challenge goes through the registry (unknown types are kept as data). */
export function parseAuthorization(
  obj: Record<string, unknown>,
  url: string,
  request: RequestInfo,
  checkUrl: UrlCheck,
  registry: ChallengeParser,
  retryAfterMs: number | undefined,
): Authorization {
  const rawStatus = str(obj, 'status', request);
  const challengesRaw = obj['challenges'];
  if (!Array.isArray(challengesRaw)) fail('challenges', 'is not an array', request);
  const expires = optStr(obj, 'expires', request);
  return {
    url,
    identifier: parseIdentifier(obj['identifier'], 'identifier', request),
    status: statusOf<AuthorizationStatus>(rawStatus, AUTHORIZATION_STATUSES),
    rawStatus,
    challenges: challengesRaw.map((c, i) => {
      if (!isRecord(c)) fail(`challenges[${i}]`, 'is not an object', request);
      return registry.parse(c, request, checkUrl);
    }),
    ...(expires === undefined ? {} : { expires }),
    ...(obj['wildcard'] === true ? { wildcard: true } : {}),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    raw: obj,
  };
}

/** RFC 9773 §4.2: `suggestedWindow` with RFC 3339 `start` before `end`. */
export function parseRenewalInfo(obj: Record<string, unknown>, request: RequestInfo, retryAfterMs: number | undefined): RenewalInfo {
  const window = obj['suggestedWindow'];
  if (!isRecord(window)) fail('suggestedWindow', 'is missing', request);
  const start = new Date(str(window, 'start', request));
  const end = new Date(str(window, 'end', request));
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) fail('suggestedWindow', 'holds an unreadable date', request);
  if (end.getTime() < start.getTime()) fail('suggestedWindow', 'ends before it starts', request);
  const explanationURL = optStr(obj, 'explanationURL', request);
  return {
    suggestedWindow: { start, end },
    ...(explanationURL === undefined ? {} : { explanationURL }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}
