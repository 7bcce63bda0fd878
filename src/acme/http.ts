/**
 * The ACME wire layer (internal): directory cache (RFC 8555 §7.1.1), signed POST and POST-as-GET
 * (§6.2, §6.3), every HTTP exchange with its retries. What it builds on, one job each:
 * ./nonce-pool.ts (§6.5), ./retry.ts (how often and how long), ./response.ts (reading bodies,
 * JSON and problem documents, §6.7), ./clock.ts (time, injected), ./jws.ts (signing).
 *
 * Deviations, all on the side of caution:
 * - A successful response without Replay-Nonce is accepted (the request did succeed); the pool
 *   then asks newNonce. Only a newNonce answer without a nonce is a protocol error.
 * - Redirects are not followed but refused as a protocol error.
 * - Bodies over {@link DEFAULT_MAX_RESPONSE_BYTES} are refused, whatever Content-Length says.
 * - Resource URLs must be https (plain http only when the caller allows it, for loopback tests).
 *
 * Nothing here is exported from index.ts but the types of the client's options: callers use the client.
 */
import { systemClock, sleepOrAbort, type AcmeClock } from './clock';
import {
  AcmeAbortError,
  AcmeNetworkError,
  AcmeProtocolError,
  BadNonceError,
  ServerInternalError,
  type RequestInfo,
} from './errors';
import { signJws, type JwsPayload, type KeyReference } from './jws';
import type { SigningKey } from './keys';
import { isNonce, NoncePool } from './nonce-pool';
import { parseDirectory } from './parse';
import { acmeResponse, DEFAULT_MAX_RESPONSE_BYTES, problemError, readBody, responseJson, type AcmeResponse } from './response';
import { backoffMs, DEFAULT_RETRY, serverErrorDelayMs, type RetryPolicy } from './retry';
import type { Directory } from './types';

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

/** POST options: the key, how the header names it, what to accept, and the caller's signal. */
export interface PostOptions {
  readonly key: SigningKey;
  readonly ref: KeyReference;
  readonly signal?: AbortSignal | undefined;
  readonly accept?: string;
}

/** Counts the exchanges of one logical request, retries included (RequestEvent.attempt). */
interface Tries {
  n: number;
}

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
  private readonly nonces = new NoncePool((signal) => this.newNonce(signal));
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
      const promise = this.get(this.directoryUrl, signal).then((response) => parseDirectory(responseJson(response), response.request, (u, what) => this.checkUrl(u, what, response.request)));
      this.directoryPromise = promise;
      // A failed fetch must not poison the cache for the next caller.
      promise.catch(() => {
        if (this.directoryPromise === promise) this.directoryPromise = undefined;
      });
    }
    return this.directoryPromise;
  }

  /** A fresh nonce: from the pool when it has one, else from newNonce. */
  nonce(signal?: AbortSignal): Promise<string> {
    return this.nonces.take(signal);
  }

  /** An unauthenticated GET (the directory, RFC 9773 renewalInfo), with 5xx and network retries. */
  async get(url: string, signal?: AbortSignal): Promise<AcmeResponse> {
    const response = await this.withServerRetries('GET', this.checkUrl(url, 'URL'), signal);
    if (response.status >= 400) throw problemError(response);
    return response;
  }

  /**
   * A signed POST (RFC 8555 §6.2) of `payload`, or POST-as-GET (§6.3). Re-signs with a fresh
   * nonce on badNonce and on retried 5xx/network failures; throws the typed problem otherwise.
   */
  async post(url: string, payload: JwsPayload, options: PostOptions): Promise<AcmeResponse> {
    const target = this.checkUrl(url, 'URL');
    const headers: Record<string, string> = { 'Content-Type': 'application/jose+json' };
    if (options.accept !== undefined) headers['Accept'] = options.accept;
    // Signed afresh for every try: a request lost on the network may have used up its nonce.
    const signed = async (): Promise<RequestInit> => {
      const nonce = await this.nonce(options.signal);
      const jws = await signJws(this.crypto, options.key, { url: target, nonce, ref: options.ref, payload });
      return { method: 'POST', headers, body: JSON.stringify(jws) };
    };
    let badNonces = 0;
    let serverErrors = 0;
    const tries: Tries = { n: 0 };
    for (;;) {
      const response = await this.exchangeRetryingNetwork('POST', target, signed, options.signal, tries);
      if (response.status < 400) return response;
      const error = problemError(response);
      if (error instanceof BadNonceError && badNonces < this.retry.badNonce) {
        badNonces++;
        continue;
      }
      if (error instanceof ServerInternalError && serverErrors < this.retry.serverError) {
        const wait = serverErrorDelayMs(this.retry, serverErrors, response.retryAfterMs);
        if (wait !== undefined) {
          serverErrors++;
          await sleepOrAbort(this.clock, wait, options.signal, response.request);
          continue;
        }
      }
      throw error;
    }
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

  /** RFC 8555 §7.2: HEAD newNonce, whose answer must carry a usable Replay-Nonce. */
  private async newNonce(signal?: AbortSignal): Promise<string> {
    const { newNonce } = await this.directory(signal);
    const response = await this.withServerRetries('HEAD', newNonce, signal, false);
    if (response.status >= 400) throw problemError(response);
    if (response.status !== 200 && response.status !== 204) {
      throw new AcmeProtocolError('unexpected-status', `newNonce answered HTTP ${response.status}`, response.request, response.status);
    }
    const nonce = response.headers.get('Replay-Nonce');
    if (!isNonce(nonce)) throw new AcmeProtocolError('missing-nonce', 'newNonce answered without a usable Replay-Nonce header', response.request, response.status);
    return nonce;
  }

  private async withServerRetries(method: 'GET' | 'HEAD', url: string, signal: AbortSignal | undefined, poolNonce = true): Promise<AcmeResponse> {
    const tries: Tries = { n: 0 };
    for (let attempt = 0; ; attempt++) {
      const response = await this.exchangeRetryingNetwork(method, url, () => Promise.resolve({ method }), signal, tries, poolNonce);
      if (response.status < 500 || attempt >= this.retry.serverError) return response;
      const wait = serverErrorDelayMs(this.retry, attempt, response.retryAfterMs);
      if (wait === undefined) return response;
      await sleepOrAbort(this.clock, wait, signal, response.request);
    }
  }

  /** exchange(), retrying network failures with back-off; `tries` counts exchanges of one logical request. */
  private async exchangeRetryingNetwork(
    method: string, url: string, init: () => Promise<RequestInit>, signal: AbortSignal | undefined, tries: Tries, poolNonce = true,
  ): Promise<AcmeResponse> {
    for (let failures = 0; ; failures++) {
      try {
        return await this.exchange(method, url, await init(), signal, tries, poolNonce);
      } catch (error) {
        if (!(error instanceof AcmeNetworkError) || failures >= this.retry.network) throw error;
        await sleepOrAbort(this.clock, backoffMs(this.retry, failures), signal, error.request);
      }
    }
  }

  /**
   * One HTTP exchange: fetch, read the body within the limit, pool the nonce. A failure to get
   * an answer is an AcmeNetworkError (the callers retry it, re-signing a POST with a fresh
   * nonce, since the lost request may have used up the old one).
   */
  private async exchange(method: string, url: string, init: RequestInit, signal: AbortSignal | undefined, tries: Tries, poolNonce: boolean): Promise<AcmeResponse> {
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
      body = await readBody(response, request, combined, this.maxBytes);
    } catch (error) {
      this.onRequest?.({ method, url, status: 0, attempt });
      if (error instanceof AcmeProtocolError) throw error;
      if (signal?.aborted) throw new AcmeAbortError('cancelled', request, { cause: signal.reason });
      throw new AcmeNetworkError(`${method} ${url} failed: ${error instanceof Error ? error.message : String(error)}`, request, { cause: error });
    }
    this.onRequest?.({ method, url, status: response.status, attempt });
    if (poolNonce) this.nonces.add(response.headers.get('Replay-Nonce'));
    return acmeResponse(response, body, request, this.clock.now());
  }
}
