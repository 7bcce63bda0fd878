/**
 * Challenge objects (RFC 8555 §8) through a registry keyed by type. The core knows only the
 * common fields; each plug-in adds the fields of its type (the token challenges of RFC 8555
 * §8.3/§8.4 and RFC 8737 here; email-reply-00 of RFC 8823 in ./challenges/email-reply.ts).
 * A type no plug-in knows is kept as data (`known: false`, members in `raw`), as certbot's
 * `acme` package does: a server offering a new challenge type must not break the client.
 */
import { AcmeProtocolError } from './errors';
import { parseProblem, statusOf, str } from './parse';
import { CHALLENGE_STATUSES, type ChallengeBase, type ChallengeParser, type ChallengePlugin, type ChallengeStatus, type RequestInfo, type UrlCheck } from './types';

export type { ChallengePlugin };

/** RFC 8555 §8.1: the token every token challenge carries, ≥ 128 bits of base64url. */
export function parseToken(raw: Readonly<Record<string, unknown>>, request: RequestInfo): string {
  const token = str(raw, 'token', request);
  // Fewer than 22 base64url characters carry fewer than 128 bits (§8.1).
  if (!/^[A-Za-z0-9_-]{22,}$/.test(token)) throw new AcmeProtocolError('invalid-field', '"token" is not base64url of at least 128 bits', request);
  return token;
}

/** http-01, dns-01, tls-alpn-01: `token` only. */
export interface TokenChallenge extends ChallengeBase {
  readonly type: 'http-01' | 'dns-01' | 'tls-alpn-01';
  readonly token: string;
}

/** The plug-in of one token challenge type (RFC 8555 §8.3 http-01, §8.4 dns-01, RFC 8737 tls-alpn-01). */
export function tokenChallengePlugin(type: TokenChallenge['type']): ChallengePlugin<TokenChallenge> {
  return {
    type,
    parse: (base, raw, request) => ({ ...base, type, known: true, token: parseToken(raw, request) }),
  };
}

export class ChallengeRegistry implements ChallengeParser {
  private readonly plugins = new Map<string, ChallengePlugin>();

  constructor(plugins: readonly ChallengePlugin[] = []) {
    for (const plugin of plugins) this.register(plugin);
  }

  register(plugin: ChallengePlugin): this {
    this.plugins.set(plugin.type, plugin);
    return this;
  }

  has(type: string): boolean {
    return this.plugins.has(type);
  }

  /** One challenge object: the common fields, then the plug-in's, or kept as data when the type is unknown. */
  parse(raw: Readonly<Record<string, unknown>>, request: RequestInfo, checkUrl: UrlCheck): ChallengeBase {
    const type = str(raw, 'type', request);
    const rawStatus = str(raw, 'status', request);
    const error = typeof raw['error'] === 'object' && raw['error'] !== null && !Array.isArray(raw['error']) ? parseProblem(raw['error'] as Record<string, unknown>) : undefined;
    const validated = typeof raw['validated'] === 'string' ? raw['validated'] : undefined;
    const base: ChallengeBase = {
      type,
      url: checkUrl(str(raw, 'url', request), 'challenge url'),
      status: statusOf<ChallengeStatus>(rawStatus, CHALLENGE_STATUSES),
      rawStatus,
      known: false,
      ...(validated === undefined ? {} : { validated }),
      ...(error === undefined ? {} : { error }),
      raw,
    };
    const plugin = this.plugins.get(type);
    return plugin ? plugin.parse(base, raw, request) : base;
  }
}

export function isTokenChallenge(challenge: ChallengeBase): challenge is TokenChallenge {
  return challenge.known && (challenge.type === 'http-01' || challenge.type === 'dns-01' || challenge.type === 'tls-alpn-01');
}
