/**
 * A scripted ACME server behind an injected `fetch`, for unit tests. It VERIFIES every POST the
 * way RFC 8555 §6.2–§6.5 demand of a server: flattened JWS only, signature checked with the
 * account's registered key (kid) or the embedded one (jwk), `url` equal to the request URL,
 * a nonce it issued and that was never used, exactly one of kid/jwk, and jwk only where §6.2
 * allows it (newAccount, revokeCert). Anything wrong is recorded in `violations` and answered
 * with a malformed problem, so a test that forgets to look still fails.
 *
 * Replies come from JSON fixtures in test/fixtures/acme ({base} is replaced by the server URL).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { base64UrlDecode, utf8 } from '../../src/common/encoding';

export const BASE = 'https://acme.test';
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'acme');

/** A fixture with {base} filled in. */
export function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8').replaceAll('{base}', BASE)) as Record<string, unknown>;
}

export interface FakeReply {
  readonly status?: number;
  /** JSON body (content type application/json, or application/problem+json for status >= 400). */
  readonly json?: unknown;
  /** Raw body, with `contentType`. */
  readonly body?: string | Uint8Array;
  readonly contentType?: string | null;
  readonly headers?: Readonly<Record<string, string>>;
  /** Path or URL for Location. */
  readonly location?: string;
  /** Default true: add a fresh Replay-Nonce. */
  readonly nonce?: boolean;
  /** Throw this instead of answering (a network failure). */
  readonly networkError?: Error;
  /** Stream the body in chunks without Content-Length. */
  readonly streamed?: boolean;
  /** Never answer until the request's signal aborts. */
  readonly hang?: boolean;
}

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly path: string;
  readonly headers: Headers;
  /** Decoded protected header of a POST. */
  readonly protected?: Record<string, unknown>;
  /** Decoded payload; undefined for POST-as-GET. */
  readonly payload?: unknown;
  readonly postAsGet: boolean;
  /** The raw flattened JWS. */
  readonly jws?: { protected: string; payload: string; signature: string };
}

export type Handler = (request: SeenRequest) => FakeReply | Promise<FakeReply>;

const ALG_PARAMS: Record<string, { importParams: EcKeyImportParams | RsaHashedImportParams | Algorithm; verify: EcdsaParams | Algorithm }> = {
  ES256: { importParams: { name: 'ECDSA', namedCurve: 'P-256' }, verify: { name: 'ECDSA', hash: 'SHA-256' } },
  ES384: { importParams: { name: 'ECDSA', namedCurve: 'P-384' }, verify: { name: 'ECDSA', hash: 'SHA-384' } },
  RS256: { importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, verify: { name: 'RSASSA-PKCS1-v1_5' } },
  EdDSA: { importParams: { name: 'Ed25519' }, verify: { name: 'Ed25519' } },
};

/** Verifies a flattened JWS with `jwk`; returns the reason it fails, or undefined. */
export async function verifyJws(crypto: Crypto, jws: { protected: string; payload: string; signature: string }, jwk: JsonWebKey): Promise<string | undefined> {
  const header = JSON.parse(new TextDecoder().decode(base64UrlDecode(jws.protected))) as Record<string, unknown>;
  const alg = header['alg'];
  const params = typeof alg === 'string' ? ALG_PARAMS[alg] : undefined;
  if (!params) return `unsupported alg ${String(alg)}`;
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey('jwk', jwk, params.importParams, false, ['verify']);
  } catch (error) {
    return `key does not fit alg ${String(alg)}: ${String(error)}`;
  }
  const ok = await crypto.subtle.verify(params.verify, key, base64UrlDecode(jws.signature), utf8(`${jws.protected}.${jws.payload}`));
  return ok ? undefined : 'signature does not verify';
}

export class FakeAcme {
  readonly requests: SeenRequest[] = [];
  readonly violations: string[] = [];
  /** kid (account URL) → public JWK. */
  readonly accounts = new Map<string, JsonWebKey>();
  private readonly routes = new Map<string, Handler>();
  private readonly queued = new Map<string, Handler[]>();
  private readonly issued = new Set<string>();
  private readonly used = new Set<string>();
  private nonceCounter = 0;

  constructor(private readonly crypto: Crypto) {
    this.on('GET', '/dir', () => ({ json: fixture('directory.json'), nonce: false }));
    this.on('HEAD', '/acme/new-nonce', () => ({ status: 200 }));
    this.on('POST', '/acme/new-account', (req) => {
      const payload = req.payload as Record<string, unknown>;
      const jwk = req.protected?.['jwk'] as JsonWebKey;
      const existing = [...this.accounts].find(([, k]) => JSON.stringify(k) === JSON.stringify(jwk));
      if (existing) return { status: 200, json: fixture('account-valid.json'), location: existing[0] };
      if (payload['onlyReturnExisting'] === true) {
        return { status: 400, json: { type: 'urn:ietf:params:acme:error:accountDoesNotExist', detail: 'no account for this key' } };
      }
      const url = `${BASE}/acme/acct/${this.accounts.size + 1}`;
      this.accounts.set(url, jwk);
      return { status: 201, json: fixture('account-valid.json'), location: url };
    });
  }

  /** Persistent handler for `method path` (the last one registered wins). */
  on(method: string, path: string, handler: Handler | FakeReply): this {
    this.routes.set(`${method} ${path}`, typeof handler === 'function' ? handler : () => handler);
    return this;
  }

  /** One-shot handlers, used in order before the persistent one. */
  once(method: string, path: string, ...replies: (Handler | FakeReply)[]): this {
    const key = `${method} ${path}`;
    const list = this.queued.get(key) ?? [];
    list.push(...replies.map((r) => (typeof r === 'function' ? r : () => r)));
    this.queued.set(key, list);
    return this;
  }

  /** Requests to `path` (and `method`, when given). */
  seen(path: string, method?: string): SeenRequest[] {
    return this.requests.filter((r) => r.path === path && (method === undefined || r.method === method));
  }

  newNonce(): string {
    const nonce = `nonce-${++this.nonceCounter}-${Math.random().toString(36).slice(2, 10)}`;
    this.issued.add(nonce);
    return nonce;
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = (init?.method ?? 'GET').toUpperCase();
    const path = new URL(url).pathname;
    const headers = new Headers(init?.headers);
    const signal = init?.signal ?? undefined;
    let seen: SeenRequest = { method, url, path, headers, postAsGet: false };
    let rejection: FakeReply | undefined;
    if (method === 'POST') {
      const checked = await this.checkPost(url, path, headers, typeof init?.body === 'string' ? init.body : '');
      seen = { ...seen, ...checked.seen };
      if (checked.problem !== undefined) {
        this.violations.push(`${path}: ${checked.problem}`);
        rejection = { status: 400, json: { type: 'urn:ietf:params:acme:error:malformed', detail: `fake server: ${checked.problem}` } };
      }
    }
    this.requests.push(seen);
    const key = `${method} ${path}`;
    const handler = this.queued.get(key)?.shift() ?? this.routes.get(key);
    const reply: FakeReply = rejection ?? (handler ? await handler(seen) : { status: 404, json: { type: 'about:blank', detail: `no route ${key}` } });
    if (reply.networkError) throw reply.networkError;
    if (reply.hang) {
      return new Promise<Response>((_resolve, reject) => {
        signal?.addEventListener('abort', () => {
          reject(signal.reason as Error);
        });
      });
    }
    return this.respond(reply);
  };

  private respond(reply: FakeReply): Response {
    const status = reply.status ?? 200;
    const out = new Headers(reply.headers);
    if (reply.nonce !== false) out.set('Replay-Nonce', this.newNonce());
    if (reply.location !== undefined) out.set('Location', reply.location);
    let body: Uint8Array<ArrayBuffer> | null = null;
    if (reply.json !== undefined) {
      body = utf8(JSON.stringify(reply.json));
      out.set('Content-Type', status >= 400 ? 'application/problem+json' : 'application/json');
    } else if (reply.body !== undefined) {
      body = typeof reply.body === 'string' ? utf8(reply.body) : new Uint8Array(reply.body);
    }
    if (reply.contentType === null) out.delete('Content-Type');
    else if (reply.contentType !== undefined) out.set('Content-Type', reply.contentType);
    if (status === 204 || body === null) return new Response(null, { status, headers: out });
    if (reply.streamed) {
      const bytes = body;
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 4096) controller.enqueue(bytes.slice(i, i + 4096));
          controller.close();
        },
      });
      return new Response(stream, { status, headers: out });
    }
    out.set('Content-Length', String(body.length));
    return new Response(body, { status, headers: out });
  }

  /** RFC 8555 §6.2–§6.5 checks of one POST; `problem` says what is wrong. */
  private async checkPost(url: string, path: string, headers: Headers, body: string): Promise<{ seen: Partial<SeenRequest>; problem?: string }> {
    if (headers.get('Content-Type') !== 'application/jose+json') return { seen: {}, problem: 'Content-Type is not application/jose+json (§6.2)' };
    let jws: { protected: string; payload: string; signature: string };
    try {
      jws = JSON.parse(body) as typeof jws;
    } catch {
      return { seen: {}, problem: 'body is not JSON' };
    }
    const keys = Object.keys(jws).sort().join(',');
    if (keys !== 'payload,protected,signature') return { seen: {}, problem: `not a flattened JWS (members ${keys}) (§6.2)` };
    const header = JSON.parse(new TextDecoder().decode(base64UrlDecode(jws.protected))) as Record<string, unknown>;
    const postAsGet = jws.payload === '';
    const payload = postAsGet ? undefined : (JSON.parse(new TextDecoder().decode(base64UrlDecode(jws.payload))) as unknown);
    const seen: Partial<SeenRequest> = { protected: header, payload, postAsGet, jws };
    if (header['url'] !== url) return { seen, problem: `header url ${String(header['url'])} is not the request URL ${url} (§6.4)` };
    const nonce = header['nonce'];
    if (typeof nonce !== 'string' || !this.issued.has(nonce)) return { seen, problem: 'nonce missing or never issued (§6.5)' };
    if (this.used.has(nonce)) return { seen, problem: `nonce ${nonce} used twice (§6.5)` };
    this.used.add(nonce);
    const hasKid = 'kid' in header;
    const hasJwk = 'jwk' in header;
    if (hasKid === hasJwk) return { seen, problem: 'exactly one of kid and jwk must be present (§6.2)' };
    const jwkAllowed = path === '/acme/new-account' || path === '/acme/revoke-cert';
    if (hasJwk && !jwkAllowed) return { seen, problem: `jwk used for ${path}, which needs kid (§6.2)` };
    if (hasKid && path === '/acme/new-account') return { seen, problem: 'newAccount must use jwk (§7.3)' };
    const jwk = hasJwk ? (header['jwk'] as JsonWebKey) : this.accounts.get(String(header['kid']));
    if (!jwk) return { seen, problem: `unknown kid ${String(header['kid'])}` };
    if (hasJwk && 'd' in jwk) return { seen, problem: 'the jwk header carries a private key!' };
    const failure = await verifyJws(this.crypto, jws, jwk);
    return failure === undefined ? { seen } : { seen, problem: failure };
  }
}

/** A clock for tests: sleeping advances time at once and records the wait. */
export class FakeClock {
  readonly sleeps: number[] = [];
  constructor(public time = Date.parse('2026-11-23T12:00:00Z')) {}
  now(): number {
    return this.time;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    this.sleeps.push(ms);
    this.time += ms;
    return Promise.resolve();
  }
}
