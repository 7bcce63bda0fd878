/**
 * The ACME wire layer (internal): directory cache (RFC 8555 §7.1.1), nonce pool (§6.5, §7.2),
 * signed POST and POST-as-GET (§6.2, §6.3), problem documents (§6.7), retries, and strict
 * reading of what the server sends back.
 *
 * Retries, all bounded (see {@link DEFAULT_RETRY}):
 * - badNonce (§6.5): at once, with the nonce the error response carried.
 * - 5xx / serverInternal: exponential back-off, or the server's Retry-After if it is shorter than the cap.
 * - network failure or request timeout: exponential back-off.
 * - rateLimited (§6.6) is never retried here: its wait can be hours; the caller decides.
 *
 * Deviations, all on the side of caution:
 * - A successful response without Replay-Nonce is accepted (the request did succeed); the pool
 *   then asks newNonce. Only a newNonce answer without a nonce is a protocol error.
 * - Redirects are not followed but refused as a protocol error.
 * - Bodies over {@link DEFAULT_MAX_RESPONSE_BYTES} are refused, whatever Content-Length says.
 * - Resource URLs must be https (plain http only when the caller allows it, for loopback tests).
 *
 * Nothing here is exported from index.ts: callers use the client.
 */
import {
  AcmeAbortError,
  AcmeNetworkError,
  AcmeProblemError,
  AcmeProtocolError,
  BadNonceError,
  problemErrorClass,
  ServerInternalError,
  type RequestInfo,
} from './errors';
import { signJws, type JwsPayload, type KeyReference } from './jws';
import type { SigningKey } from './keys';
import { linksWithRel, parseLinks, type Link } from './link';
import { parseDirectory, parseProblem } from './parse';
import { parseRetryAfter } from './retry-after';
import type { Directory } from './types';

/** Time, injected so tests never wait on the wall clock. */
export interface AcmeClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: AcmeClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason as Error);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export interface RetryPolicy {
  /** Extra attempts after a badNonce. Each costs one request and no wait. */
  readonly badNonce: number;
  /** Extra attempts after a 5xx answer. */
  readonly serverError: number;
  /** Extra attempts after a network failure or request timeout. */
  readonly network: number;
  /** First back-off; doubled each retry. */
  readonly baseDelayMs: number;
  /** Longest back-off (and longest Retry-After honoured for a retry) before giving up instead. */
  readonly maxDelayMs: number;
  /** A single HTTP exchange taking longer than this counts as a network failure. */
  readonly requestTimeoutMs: number;
}

/**
 * Why these numbers: a badNonce retry is free of waiting, and Pebble rejects up to half of all
 * nonces in tests, so 16 retries leave a 1-in-130 000 chance of a false failure per request
 * while still stopping a server that refuses every nonce. Three 5xx or network retries at
 * 1 s, 2 s, 4 s ride out a restarting CA or a dropped Wi-Fi without hiding a real outage for
 * long. 30 s per exchange is far above any honest ACME response time.
 */
export const DEFAULT_RETRY: RetryPolicy = {
  badNonce: 16,
  serverError: 3,
  network: 3,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  requestTimeoutMs: 30_000,
};

/** 1 MiB: a certificate chain is a few kilobytes; an order with 100 identifiers a few dozen. */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/** At most this many unused nonces are kept; older ones are likely stale anyway. */
const NONCE_POOL_SIZE = 16;

/** One HTTP exchange, reported after it ends (for counting and logging). */
export interface RequestEvent {
  readonly method: string;
  readonly url: string;
  /** HTTP status, or 0 when no response came (network failure). */
  readonly status: number;
  /** 0 for the first try; counts retries of the same logical request. */
  readonly attempt: number;
}

export interface HttpOptions {
  readonly directoryUrl: string;
  readonly fetch: typeof fetch;
  readonly crypto: Crypto;
  readonly clock?: AcmeClock;
  readonly retry?: Partial<RetryPolicy>;
  readonly maxResponseBytes?: number;
  readonly onRequest?: (event: RequestEvent) => void;
  /** Allow plain-http resource URLs (loopback test servers only). */
  readonly allowHttp?: boolean;
}

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

/** POST options: the key, how the header names it, what to accept, and the caller's signal. */
export interface PostOptions {
  readonly key: SigningKey;
  readonly ref: KeyReference;
  readonly signal?: AbortSignal | undefined;
  readonly accept?: string;
}

const NONCE_RE = /^[A-Za-z0-9_-]+$/;

export class AcmeHttp {
  readonly crypto: Crypto;
  readonly clock: AcmeClock;
  readonly retry: RetryPolicy;
  readonly directoryUrl: string;
  private readonly fetchFn: typeof fetch;
  private readonly maxBytes: number;
  private readonly onRequest: ((event: RequestEvent) => void) | undefined;
  private readonly allowHttp: boolean;
  private directoryPromise: Promise<Directory> | undefined;
  private readonly nonces: string[] = [];
  private count = 0;

  constructor(options: HttpOptions) {
    this.crypto = options.crypto;
    this.clock = options.clock ?? systemClock;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.fetchFn = options.fetch;
    this.maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.onRequest = options.onRequest;
    this.allowHttp = options.allowHttp ?? false;
    this.directoryUrl = this.checkUrl(options.directoryUrl, 'directory URL');
  }

  /** HTTP exchanges made so far, retries included. */
  get requestCount(): number {
    return this.count;
  }

  /** The directory, fetched once per client (RFC 8555 §7.1.1); `refresh` fetches it again. */
  directory(signal?: AbortSignal, refresh = false): Promise<Directory> {
    if (refresh || !this.directoryPromise) {
      const promise = this.get(this.directoryUrl, signal).then((response) => parseDirectory(this.json(response), response.request, (u, what) => this.checkUrl(u, what, response.request)));
      this.directoryPromise = promise;
      // A failed fetch must not poison the cache for the next caller.
      promise.catch(() => {
        if (this.directoryPromise === promise) this.directoryPromise = undefined;
      });
    }
    return this.directoryPromise;
  }

  /** A fresh nonce: from the pool when it has one, else from newNonce (RFC 8555 §7.2, HEAD). */
  async nonce(signal?: AbortSignal): Promise<string> {
    const pooled = this.nonces.pop();
    if (pooled !== undefined) return pooled;
    const { newNonce } = await this.directory(signal);
    const response = await this.withServerRetries('HEAD', newNonce, signal, false);
    if (response.status >= 400) throw this.problemError(response);
    if (response.status !== 200 && response.status !== 204) {
      throw new AcmeProtocolError('unexpected-status', `newNonce answered HTTP ${response.status}`, response.request, response.status);
    }
    const nonce = response.headers.get('Replay-Nonce');
    if (nonce === null || !NONCE_RE.test(nonce)) throw new AcmeProtocolError('missing-nonce', 'newNonce answered without a usable Replay-Nonce header', response.request, response.status);
    return nonce;
  }

  /** An unauthenticated GET (the directory, RFC 9773 renewalInfo), with 5xx and network retries. */
  async get(url: string, signal?: AbortSignal): Promise<AcmeResponse> {
    const response = await this.withServerRetries('GET', this.checkUrl(url, 'URL'), signal);
    if (response.status >= 400) throw this.problemError(response);
    return response;
  }

  /**
   * A signed POST (RFC 8555 §6.2) of `payload`, or POST-as-GET (§6.3). Re-signs with a fresh
   * nonce on badNonce and on retried 5xx/network failures; throws the typed problem otherwise.
   */
  async post(url: string, payload: JwsPayload, options: PostOptions): Promise<AcmeResponse> {
    const target = this.checkUrl(url, 'URL');
    let badNonces = 0;
    let serverErrors = 0;
    const tries = { n: 0 };
    for (;;) {
      const headers: Record<string, string> = { 'Content-Type': 'application/jose+json' };
      if (options.accept !== undefined) headers['Accept'] = options.accept;
      // Signed afresh for every try: a request lost on the network may have used up its nonce.
      const signed = async (): Promise<RequestInit> => {
        const nonce = await this.nonce(options.signal);
        const jws = await signJws(this.crypto, options.key, { url: target, nonce, ref: options.ref, payload });
        return { method: 'POST', headers, body: JSON.stringify(jws) };
      };
      const response = await this.exchangeRetryingNetwork('POST', target, signed, options.signal, tries);
      if (response.status < 400) return response;
      const error = this.problemError(response);
      if (error instanceof BadNonceError && badNonces < this.retry.badNonce) {
        badNonces++;
        continue;
      }
      if (error instanceof ServerInternalError && serverErrors < this.retry.serverError) {
        const wait = this.backoff(serverErrors, response.retryAfterMs);
        if (wait !== undefined) {
          serverErrors++;
          await this.sleep(wait, options.signal, response.request);
          continue;
        }
      }
      throw error;
    }
  }

  /** The body as a JSON object; a protocol error for anything else (RFC 8555 §6.2 requires JSON). */
  json(response: AcmeResponse): Record<string, unknown> {
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

  /** The Location header, required on created resources (RFC 8555 §7.3, §7.4), as an absolute URL. */
  location(response: AcmeResponse): string {
    if (response.location === undefined) throw new AcmeProtocolError('missing-location', 'the response has no Location header', response.request, response.status);
    return this.checkUrl(response.location, 'Location', response.request);
  }

  /** Validates a URL the server handed us: absolute, https (unless allowed), no credentials. */
  checkUrl(value: string, what: string, request?: RequestInfo, base?: string): string {
    let url: URL;
    try {
      url = new URL(value, base);
    } catch (error) {
      throw new AcmeProtocolError('invalid-field', `${what} "${value.slice(0, 200)}" is not a URL`, request, undefined, { cause: error });
    }
    const schemeOk = url.protocol === 'https:' || (this.allowHttp && url.protocol === 'http:');
    if (!schemeOk || url.username !== '' || url.password !== '') {
      throw new AcmeProtocolError('invalid-field', `${what} "${url.href.slice(0, 200)}" is not an https URL without credentials`, request);
    }
    return url.href;
  }

  /** Sleeps, turning an abort into AcmeAbortError. */
  async sleep(ms: number, signal: AbortSignal | undefined, request?: RequestInfo): Promise<void> {
    try {
      await this.clock.sleep(ms, signal);
    } catch (error) {
      throw new AcmeAbortError('cancelled while waiting', request, { cause: signal?.reason ?? error });
    }
  }

  /** Back-off before retry `n` (0-based): Retry-After when given and within the cap, else exponential. */
  private backoff(n: number, retryAfterMs: number | undefined): number | undefined {
    if (retryAfterMs !== undefined) return retryAfterMs <= this.retry.maxDelayMs ? retryAfterMs : undefined;
    return Math.min(this.retry.baseDelayMs * 2 ** n, this.retry.maxDelayMs);
  }

  private async withServerRetries(method: 'GET' | 'HEAD', url: string, signal: AbortSignal | undefined, poolNonce = true): Promise<AcmeResponse> {
    const tries = { n: 0 };
    for (let attempt = 0; ; attempt++) {
      const response = await this.exchangeRetryingNetwork(method, url, () => Promise.resolve({ method }), signal, tries, poolNonce);
      if (response.status < 500 || attempt >= this.retry.serverError) return response;
      const wait = this.backoff(attempt, response.retryAfterMs);
      if (wait === undefined) return response;
      await this.sleep(wait, signal, response.request);
    }
  }

  /**
   * One HTTP exchange: fetch, read the body within the limit, pool the nonce. A failure to get
   * an answer is an AcmeNetworkError (the callers retry it, re-signing a POST with a fresh
   * nonce, since the lost request may have used up the old one).
   */
  private async exchange(method: string, url: string, init: RequestInit, signal: AbortSignal | undefined, tries: { n: number }, poolNonce = true): Promise<AcmeResponse> {
    const request: RequestInfo = { method, url };
    if (signal?.aborted) throw new AcmeAbortError('cancelled', request, { cause: signal.reason });
    const timeout = AbortSignal.timeout(this.retry.requestTimeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: Response;
    let body: Uint8Array;
    this.count++;
    const attempt = tries.n++;
    try {
      // RFC 8555 resources never redirect; following one could carry a signed request elsewhere.
      response = await this.fetchFn(url, { ...init, signal: combined, redirect: 'manual', cache: 'no-store' });
      if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) {
        await response.body?.cancel().catch(() => undefined);
        throw new AcmeProtocolError('unexpected-status', `the server redirected (HTTP ${response.status}); ACME resources never do`, request, response.status);
      }
      body = await this.readBody(response, request, combined);
    } catch (error) {
      this.onRequest?.({ method, url, status: 0, attempt });
      if (error instanceof AcmeProtocolError) throw error;
      if (signal?.aborted) throw new AcmeAbortError('cancelled', request, { cause: signal.reason });
      throw new AcmeNetworkError(`${method} ${url} failed: ${error instanceof Error ? error.message : String(error)}`, request, { cause: error });
    }
    this.onRequest?.({ method, url, status: response.status, attempt });
    const nonce = response.headers.get('Replay-Nonce');
    if (poolNonce && nonce !== null && NONCE_RE.test(nonce)) {
      this.nonces.push(nonce);
      if (this.nonces.length > NONCE_POOL_SIZE) this.nonces.shift();
    }
    const location = response.headers.get('Location');
    return {
      request,
      status: response.status,
      headers: response.headers,
      body,
      contentType: (response.headers.get('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase(),
      location: location === null ? undefined : new URL(location, url).href,
      retryAfterMs: parseRetryAfter(response.headers.get('Retry-After'), this.clock.now()),
      links: parseLinks(response.headers.get('Link'), url),
    };
  }

  /** exchange(), retrying network failures with back-off; `tries` counts exchanges of one logical request. */
  private async exchangeRetryingNetwork(
    method: string, url: string, init: () => Promise<RequestInit>, signal: AbortSignal | undefined, tries: { n: number }, poolNonce = true,
  ): Promise<AcmeResponse> {
    for (let failures = 0; ; failures++) {
      try {
        return await this.exchange(method, url, await init(), signal, tries, poolNonce);
      } catch (error) {
        if (!(error instanceof AcmeNetworkError) || failures >= this.retry.network) throw error;
        await this.sleep(Math.min(this.retry.baseDelayMs * 2 ** failures, this.retry.maxDelayMs), signal, error.request);
      }
    }
  }

  /** Reads at most maxBytes; more is a protocol error, never an unbounded buffer. */
  private async readBody(response: Response, request: RequestInfo, signal: AbortSignal): Promise<Uint8Array> {
    const declared = Number(response.headers.get('Content-Length') ?? '0');
    if (declared > this.maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new AcmeProtocolError('body-too-large', `Content-Length ${declared} exceeds ${this.maxBytes} bytes`, request, response.status);
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
      if (total > this.maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new AcmeProtocolError('body-too-large', `the body exceeds ${this.maxBytes} bytes`, request, response.status);
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

  /** The typed error for a 4xx/5xx answer (RFC 8555 §6.7). */
  problemError(response: AcmeResponse): AcmeProblemError | AcmeProtocolError {
    const details = {
      httpStatus: response.status,
      retryAfterMs: response.retryAfterMs,
      termsOfService: linksWithRel(response.links, 'terms-of-service')[0],
    };
    let body: Record<string, unknown> | undefined;
    try {
      body = this.json(response);
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
}
