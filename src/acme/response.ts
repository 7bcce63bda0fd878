/**
 * Reading what an ACME server answers (internal): the body within a size limit, the headers ACME
 * cares about (Location, Retry-After, Link), JSON bodies (RFC 8555 §6.2) and problem documents
 * (§6.7) turned into typed errors. Strict on purpose: anything malformed is an AcmeProtocolError,
 * never a crash and never an unbounded buffer.
 */
import {
  AcmeProblemError,
  AcmeProtocolError,
  problemErrorClass,
  ServerInternalError,
  type RequestInfo,
} from './errors';
import { linksWithRel, parseLinks, type Link } from './link';
import { parseProblem } from './parse';
import { parseRetryAfter } from './retry-after';

/** 1 MiB: a certificate chain is a few kilobytes; an order with 100 identifiers a few dozen. */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/** A response read in full, with the headers ACME cares about already parsed. */
export interface AcmeResponse {
  readonly request: RequestInfo;
  readonly status: number;
  readonly headers: Headers;
  readonly body: Uint8Array;
  readonly contentType: string;
  readonly location: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly links: readonly Link[];
}

/** The AcmeResponse of a fetch `response` whose body was read; `now` dates Retry-After. */
export function acmeResponse(response: Response, body: Uint8Array, request: RequestInfo, now: number): AcmeResponse {
  const location = response.headers.get('Location');
  return {
    request,
    status: response.status,
    headers: response.headers,
    body,
    contentType: (response.headers.get('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase(),
    location: location === null ? undefined : new URL(location, request.url).href,
    retryAfterMs: parseRetryAfter(response.headers.get('Retry-After'), now),
    links: parseLinks(response.headers.get('Link'), request.url),
  };
}

/**
 * Reads at most `maxBytes`, checked on Content-Length and again while streaming; more is a
 * protocol error. An abort of `signal` cancels the read and throws its reason.
 */
export async function readBody(response: Response, request: RequestInfo, signal: AbortSignal, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('Content-Length') ?? '0');
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new AcmeProtocolError('body-too-large', `Content-Length ${declared} exceeds ${maxBytes} bytes`, request, response.status);
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    if (signal.aborted) {
      await reader.cancel().catch(() => undefined);
      throw signal.reason;
    }
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new AcmeProtocolError('body-too-large', `the body exceeds ${maxBytes} bytes`, request, response.status);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** The body as a JSON object; a protocol error for anything else (RFC 8555 §6.2 requires JSON). */
export function responseJson(response: AcmeResponse): Record<string, unknown> {
  if (!/^application\/(?:[\w.+-]+\+)?json$/.test(response.contentType)) {
    throw new AcmeProtocolError('wrong-content-type', `expected JSON, got "${response.contentType || 'no content type'}"`, response.request, response.status);
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(response.body));
  } catch (error) {
    throw new AcmeProtocolError('not-json', 'the body is not valid UTF-8 JSON', response.request, response.status, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AcmeProtocolError('not-json', 'the body is JSON but not an object', response.request, response.status);
  }
  return value as Record<string, unknown>;
}

/** The typed error for a 4xx/5xx answer (RFC 8555 §6.7). */
export function problemError(response: AcmeResponse): AcmeProblemError | AcmeProtocolError {
  const details = {
    httpStatus: response.status,
    retryAfterMs: response.retryAfterMs,
    termsOfService: linksWithRel(response.links, 'terms-of-service')[0],
  };
  let body: Record<string, unknown> | undefined;
  try {
    body = responseJson(response);
  } catch (error) {
    // A proxy's HTML 502 is still a server failure worth retrying; a 4xx must be a problem document.
    if (response.status >= 500) {
      return new ServerInternalError(
        { type: 'about:blank', status: response.status, detail: `HTTP ${response.status} without a problem document`, raw: {} },
        response.request,
        details,
      );
    }
    return error as AcmeProtocolError;
  }
  const problem = parseProblem(body);
  const ErrorClass = problemErrorClass(problem.type, response.status);
  return new ErrorClass(problem, response.request, details);
}
