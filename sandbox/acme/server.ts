/**
 * The sandbox ACME server: RFC 8555 (directory, nonces, accounts with optional EAB, orders,
 * authorizations, challenges, finalize, certificate download with an alternate chain,
 * revocation, key change), RFC 8823 (`email` identifiers, one `email-reply-00` challenge per
 * authorization) and RFC 9773 (ARI `renewalInfo`), over HTTPS on 127.0.0.1.
 *
 * Strict like a production CA, because it is the peer of the end-to-end tests: every MUST of
 * RFC 8555 §6 is enforced (JWS form, url, nonce, kid/jwk rules, POST-as-GET for resources,
 * application/jose+json), `dns` identifiers are refused with rejectedIdentifier, and problem
 * documents carry the RFC 8555 §6.7 type and a detail that names the rule.
 * Known deviations: no pre-authorization (`newAuthz`), no authorization reuse, no
 * notBefore/notAfter in orders (refused as malformed, as Let's Encrypt does), no certificate
 * status service (revocation is recorded and reflected in ARI only).
 */
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as x509 from '@peculiar/x509';
import type { SandboxFaults } from '../types';
import type { SandboxPki } from '../pki';
import { closeServer } from '../dns/doh';
import { checkCsr } from './csr';
import { decodeB64url, importJwk, jwkThumbprint, verifyExternalAccountBinding, verifyJws, type Jwk, type VerifiedJws } from './jws';
import { AcmeProblem, subproblem, type ProblemDocument } from './problem';
import { CaState, type AccountRecord, type AuthorizationRecord, type ChallengeRecord, type Identifier, type OrderRecord } from './state';
import { newTokenPart } from './email-reply';

/** What the server asks of the RFC 8823 side (mail sending and reply checking). */
export interface ChallengeEvents {
  authzCreated(authz: AuthorizationRecord): Promise<void>;
  authzFetched(authz: AuthorizationRecord): Promise<void>;
  /** The client POSTed {} to the challenge; its status is now `processing`. */
  challengePosted(authz: AuthorizationRecord): Promise<void>;
}

export interface AcmeServerOptions {
  readonly pki: SandboxPki;
  readonly caAddress: string;
  /** Mailboxes the CA can deliver challenge mail to; others are rejectedIdentifier. */
  readonly mailboxes: readonly string[];
  /** Validity of issued certificates, in seconds. */
  readonly certLifetimeSeconds: number;
  /** token-part1 for a new challenge, in the CA's encoding (it goes in the mail Subject). */
  readonly newTokenPart1: () => string;
  readonly eab?: { readonly kid: string; readonly hmacKey: string };
  readonly requireEab: boolean;
  readonly faults: () => SandboxFaults;
  readonly events: ChallengeEvents;
  /** How long a posted challenge waits for a reply before it becomes invalid. */
  readonly replyTimeoutMs: number;
  /** TCP port on 127.0.0.1; 0 (the default) lets the OS pick a free one. */
  readonly port?: number;
}

const MAX_BODY = 65_536;
/** RFC 5280 §5.3.1 reasons a subscriber may give (CA/B BR §4.9.1.1). */
const SUBSCRIBER_REASONS = new Set([0, 1, 3, 4, 5, 9]);
const KEY_COMPROMISE = 1;
const DAY_MS = 86_400_000;

/** Applies a rate without randomness: rate 0.25 hits exactly every fourth call. */
class DeterministicRate {
  private accumulated = 0;
  hit(rate: number): boolean {
    if (!(rate > 0)) return false;
    this.accumulated += Math.min(rate, 1);
    if (this.accumulated >= 1 - 1e-9) {
      this.accumulated -= 1;
      return true;
    }
    return false;
  }
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string | string[]>;
  /** Raw body (certificate chains, terms, the roots named in caIssuers URLs). */
  text?: { contentType: string; body: string | Uint8Array };
}

export class AcmeServer {
  readonly state = new CaState();
  private readonly nonces = new Set<string>();
  private readonly rates = { badNonce: new DeterministicRate(), serverError: new DeterministicRate(), rateLimit: new DeterministicRate(), drop: new DeterministicRate() };
  private server?: Server;
  private base = '';
  private readonly eabKeys: ReadonlyMap<string, Buffer>;

  constructor(private readonly options: AcmeServerOptions) {
    this.eabKeys = new Map(options.eab ? [[options.eab.kid, Buffer.from(options.eab.hmacKey, 'base64url')]] : []);
  }

  get directoryUrl(): string {
    return `${this.base}/directory`;
  }

  async start(): Promise<void> {
    const server = createServer({ cert: this.options.pki.tls.certPem, key: this.options.pki.tls.keyPem }, (req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, '127.0.0.1', () => {
        resolve();
      });
    });
    const address = server.address();
    this.base = `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const challenge of this.state.challenges.values()) clearTimeout(challenge.timeout);
    if (this.server) await closeServer(this.server);
  }

  // ---------------------------------------------------------------- plumbing

  private newNonce(): string {
    const nonce = randomBytes(16).toString('base64url');
    this.nonces.add(nonce);
    // Bound memory; a nonce this old would be stale anyway.
    if (this.nonces.size > 10_000) this.nonces.delete(this.nonces.values().next().value!);
    return nonce;
  }

  private newId(): string {
    return randomBytes(12).toString('base64url');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    let reply: Reply;
    try {
      if (url.pathname !== '/terms') {
        const faults = this.options.faults();
        if (faults.delayMs > 0) await new Promise((r) => setTimeout(r, faults.delayMs));
        if (this.rates.drop.hit(faults.dropRate)) {
          req.socket.destroy();
          return;
        }
        const retryAfter = faults.retryAfterFormat === 'seconds'
          ? String(faults.retryAfterSeconds)
          : new Date(Date.now() + faults.retryAfterSeconds * 1000).toUTCString();
        if (this.rates.serverError.hit(faults.serverErrorRate)) {
          throw new AcmeProblem('serverInternal', 'injected fault: internal server error', faults.serverErrorRetryAfter ? { headers: { 'retry-after': retryAfter } } : {});
        }
        if (this.rates.rateLimit.hit(faults.rateLimitRate)) {
          throw new AcmeProblem('rateLimited', 'injected fault: too many requests', { headers: { 'retry-after': retryAfter } });
        }
      }
      const body = req.method === 'POST' ? await readBody(req) : '';
      reply = await this.route(req, url, body);
    } catch (error) {
      const problem = error instanceof AcmeProblem
        ? error
        : new AcmeProblem('serverInternal', `sandbox CA bug: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      reply = { status: problem.status, body: problem.toDocument(), headers: { ...problem.headers } };
    }
    this.send(res, reply);
  }

  private send(res: ServerResponse, reply: Reply): void {
    const links = [`<${this.directoryUrl}>;rel="index"`];
    const extra = reply.headers?.['link'];
    if (extra !== undefined) links.push(...(Array.isArray(extra) ? extra : [extra]));
    const headers: Record<string, string | string[]> = {
      ...reply.headers,
      link: links,
      'replay-nonce': this.newNonce(),
      'cache-control': 'no-store',
    };
    if (reply.text) {
      headers['content-type'] = reply.text.contentType;
      res.writeHead(reply.status, headers).end(reply.text.body);
    } else if (reply.body === undefined) {
      res.writeHead(reply.status, headers).end();
    } else {
      const isProblem = reply.status >= 400;
      headers['content-type'] = isProblem ? 'application/problem+json' : 'application/json';
      res.writeHead(reply.status, headers).end(JSON.stringify(reply.body, null, 2));
    }
  }

  private async route(req: IncomingMessage, url: URL, body: string): Promise<Reply> {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path === '/directory' && (method === 'GET' || method === 'HEAD')) return { status: 200, body: this.directory() };
    if (path === '/new-nonce') {
      // RFC 8555 §7.2: HEAD → 200, GET → 204.
      if (method === 'HEAD') return { status: 200 };
      if (method === 'GET') return { status: 204 };
    }
    // RFC 5280 §4.2.2.1: the certificate named by an intermediate's caIssuers URL, DER.
    const caIssuer = path.startsWith('/ca/') ? this.options.pki.caIssuersFiles[path.slice('/ca/'.length)] : undefined;
    if (caIssuer !== undefined && (method === 'GET' || method === 'HEAD')) return { status: 200, text: { contentType: 'application/pkix-cert', body: caIssuer } };
    if (path === '/terms' && method === 'GET') return { status: 200, text: { contentType: 'text/plain; charset=utf-8', body: 'Sandbox CA terms: test certificates only, valid for a week, no warranty.\n' } };
    if (path.startsWith('/renewal-info/') && method === 'GET') return this.renewalInfo(decodeURIComponent(path.slice('/renewal-info/'.length)));
    if (method !== 'POST') {
      throw new AcmeProblem('malformed', `${method} ${path}: resources are fetched with POST-as-GET (RFC 8555 §6.3)`, { status: 405, headers: { allow: 'POST' } });
    }
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (contentType !== 'application/jose+json') {
      throw new AcmeProblem('malformed', `Content-Type must be application/jose+json (RFC 8555 §6.2), got ${contentType || 'none'}`, { status: 415 });
    }
    const requestUrl = `${this.base}${path}`;
    const jws = verifyJws(body, requestUrl, (kid) => this.accountForKid(kid).jwk);
    this.checkNonce(jws);
    const segments = path.split('/').filter((s) => s !== '');
    const [kind, id, sub] = segments;
    const allowedSub: Readonly<Record<string, readonly (string | undefined)[]>> = { acct: [undefined, 'orders'], order: [undefined, 'finalize'], cert: [undefined, 'alt'] };
    if (segments.length > 3 || (sub !== undefined && !(allowedSub[kind ?? ''] ?? []).includes(sub))) {
      throw new AcmeProblem('malformed', `no such resource ${path}`, { status: 404 });
    }
    switch (kind) {
      case 'new-account': return this.newAccount(jws, requestUrl);
      case 'new-order': return this.newOrder(this.requireKid(jws), jws.payload);
      case 'revoke-cert': return this.revoke(jws);
      case 'key-change': return this.keyChange(this.requireKid(jws), jws);
      case 'acct': return sub === 'orders' ? this.accountOrders(this.requireKid(jws), id ?? '', jws) : this.account(this.requireKid(jws), id ?? '', jws.payload);
      case 'order': return sub === 'finalize' ? this.finalize(this.requireKid(jws), id ?? '', jws.payload) : this.order(this.requireKid(jws), id ?? '', jws);
      case 'authz': return this.authz(this.requireKid(jws), id ?? '', jws.payload);
      case 'chall': return this.challenge(this.requireKid(jws), id ?? '', jws.payload);
      case 'cert': return this.certificate(this.requireKid(jws), id ?? '', sub === 'alt', jws);
      default: throw new AcmeProblem('malformed', `no such resource ${path}`, { status: 404 });
    }
  }

  private checkNonce(jws: VerifiedJws): void {
    if (jws.nonce === undefined) throw new AcmeProblem('badNonce', 'the protected header has no nonce (RFC 8555 §6.5)');
    if (!this.nonces.delete(jws.nonce)) throw new AcmeProblem('badNonce', `nonce ${jws.nonce} is unknown or already used (RFC 8555 §6.5)`);
    if (this.rates.badNonce.hit(this.options.faults().badNonceRate)) throw new AcmeProblem('badNonce', 'injected fault: nonce refused');
  }

  private accountForKid(kid: string): AccountRecord {
    const prefix = `${this.base}/acct/`;
    const account = kid.startsWith(prefix) ? this.state.accounts.get(kid.slice(prefix.length)) : undefined;
    if (!account) throw new AcmeProblem('accountDoesNotExist', `no account at kid ${kid}`);
    return account;
  }

  private requireKid(jws: VerifiedJws): AccountRecord {
    if (jws.kid === undefined) throw new AcmeProblem('malformed', 'this resource needs a kid (account URL), not a jwk (RFC 8555 §6.2)');
    const account = this.accountForKid(jws.kid);
    if (account.status !== 'valid') throw new AcmeProblem('unauthorized', `account is ${account.status}`);
    return account;
  }

  private directory(): unknown {
    return {
      newNonce: `${this.base}/new-nonce`,
      newAccount: `${this.base}/new-account`,
      newOrder: `${this.base}/new-order`,
      revokeCert: `${this.base}/revoke-cert`,
      keyChange: `${this.base}/key-change`,
      renewalInfo: `${this.base}/renewal-info`,
      meta: {
        termsOfService: `${this.base}/terms`,
        website: 'https://github.com/one-click-smime',
        externalAccountRequired: this.options.requireEab,
      },
    };
  }

  // ---------------------------------------------------------------- accounts

  private accountJson(account: AccountRecord): unknown {
    return { status: account.status, contact: account.contact, termsOfServiceAgreed: account.termsOfServiceAgreed, orders: `${account.url}/orders` };
  }

  private newAccount(jws: VerifiedJws, requestUrl: string): Reply {
    if (!jws.jwk) throw new AcmeProblem('malformed', 'newAccount must be signed with a jwk, not a kid (RFC 8555 §6.2)');
    const payload = objectPayload(jws.payload, 'newAccount');
    const thumbprint = jwkThumbprint(jws.jwk);
    const existing = this.state.accountByThumbprint(thumbprint);
    if (existing) {
      // RFC 8555 §7.3.6: nothing is accepted any more for a deactivated account's key.
      if (existing.status !== 'valid') throw new AcmeProblem('unauthorized', `the account of this key is ${existing.status}`);
      return { status: 200, body: this.accountJson(existing), headers: { location: existing.url } };
    }
    if (payload['onlyReturnExisting'] === true) throw new AcmeProblem('accountDoesNotExist', 'no account for this key (onlyReturnExisting)');
    if (payload['termsOfServiceAgreed'] !== true) {
      throw new AcmeProblem('userActionRequired', 'agree to the terms of service (termsOfServiceAgreed: true)', {
        headers: { link: `<${this.base}/terms>;rel="terms-of-service"` },
      });
    }
    let eabKid: string | undefined;
    if (payload['externalAccountBinding'] !== undefined) {
      eabKid = verifyExternalAccountBinding(payload['externalAccountBinding'], jws.jwk, requestUrl, this.eabKeys);
    } else if (this.options.requireEab) {
      throw new AcmeProblem('externalAccountRequired', 'this CA requires an external account binding (RFC 8555 §7.3.4)');
    }
    const contact = checkContacts(payload['contact']);
    const id = this.newId();
    const account: AccountRecord = {
      id, url: `${this.base}/acct/${id}`, jwk: publicJwk(jws.jwk), key: jws.key, thumbprint, status: 'valid', contact,
      termsOfServiceAgreed: true, orderUrls: [], ...(eabKid === undefined ? {} : { eabKid }),
    };
    this.state.accounts.set(id, account);
    return { status: 201, body: this.accountJson(account), headers: { location: account.url } };
  }

  private account(account: AccountRecord, id: string, payload: unknown): Reply {
    if (account.id !== id) throw new AcmeProblem('unauthorized', 'kid is not this account');
    if (payload !== undefined) {
      const update = objectPayload(payload, 'account update');
      if (update['contact'] !== undefined) account.contact = checkContacts(update['contact']);
      if (update['status'] !== undefined) {
        if (update['status'] !== 'deactivated') throw new AcmeProblem('malformed', 'an account can only be updated to status deactivated (RFC 8555 §7.3.6)');
        account.status = 'deactivated';
      }
    }
    return { status: 200, body: this.accountJson(account), headers: { location: account.url } };
  }

  private accountOrders(account: AccountRecord, id: string, jws: VerifiedJws): Reply {
    if (account.id !== id) throw new AcmeProblem('unauthorized', 'kid is not this account');
    requirePostAsGet(jws);
    return { status: 200, body: { orders: account.orderUrls } };
  }

  private keyChange(account: AccountRecord, outer: VerifiedJws): Reply {
    // RFC 8555 §7.3.5: the payload is a JWS signed by the new key, with the outer url.
    const innerText = JSON.stringify(outer.payload ?? null);
    const inner = verifyJws(innerText, outer.url, () => {
      throw new AcmeProblem('malformed', 'the inner keyChange JWS must carry a jwk, not a kid');
    });
    if (!inner.jwk) throw new AcmeProblem('malformed', 'the inner keyChange JWS must carry the new key as jwk');
    const change = objectPayload(inner.payload, 'keyChange inner payload');
    if (change['account'] !== account.url) throw new AcmeProblem('malformed', 'keyChange account is not the signing account');
    const oldKey = change['oldKey'];
    if (typeof oldKey !== 'object' || oldKey === null || jwkThumbprint(oldKey as Jwk) !== account.thumbprint) {
      throw new AcmeProblem('malformed', 'keyChange oldKey is not the account\'s current key');
    }
    const thumbprint = jwkThumbprint(inner.jwk);
    const holder = this.state.accountByThumbprint(thumbprint);
    if (holder) throw new AcmeProblem('malformed', 'the new key already belongs to an account', { status: 409, headers: { location: holder.url } });
    account.jwk = publicJwk(inner.jwk);
    account.key = inner.key;
    account.thumbprint = thumbprint;
    return { status: 200, body: this.accountJson(account), headers: { location: account.url } };
  }

  // ---------------------------------------------------------------- orders

  private orderJson(order: OrderRecord): unknown {
    const status = this.state.orderStatus(order);
    return {
      status,
      expires: order.expires.toISOString(),
      identifiers: order.identifiers,
      authorizations: order.authzIds.map((id) => this.state.authzs.get(id)!.url),
      finalize: `${order.url}/finalize`,
      ...(status === 'valid' && order.certificateId ? { certificate: this.state.certificates.get(order.certificateId)!.url } : {}),
      ...(order.replaces === undefined ? {} : { replaces: order.replaces }),
      ...(order.error ? { error: order.error } : status === 'invalid' ? { error: this.orderError(order) } : {}),
    };
  }

  private orderError(order: OrderRecord): ProblemDocument | undefined {
    const failed = order.authzIds.map((id) => this.state.authzs.get(id)!).filter((a) => this.state.authzStatus(a) !== 'valid' && this.state.authzStatus(a) !== 'pending');
    const first = failed[0]?.challenge.error;
    if (!first) return undefined;
    return { type: first.type, detail: `authorization for ${failed[0]!.identifier.value} failed: ${first.detail}`, status: first.status, identifier: failed[0]!.identifier };
  }

  private orderReply(order: OrderRecord, status = 200): Reply {
    const processing = this.state.orderStatus(order) === 'processing';
    return { status, body: this.orderJson(order), headers: { location: order.url, ...(processing ? { 'retry-after': '1' } : {}) } };
  }

  private async newOrder(account: AccountRecord, payload: unknown): Promise<Reply> {
    const request = objectPayload(payload, 'newOrder');
    if (request['notBefore'] !== undefined || request['notAfter'] !== undefined) {
      throw new AcmeProblem('malformed', 'this CA sets the validity itself; leave out notBefore and notAfter');
    }
    const identifiers = this.checkIdentifiers(request['identifiers']);
    let replaces: string | undefined;
    if (request['replaces'] !== undefined) {
      const certId = request['replaces'];
      const replaced = typeof certId === 'string' ? [...this.state.certificates.values()].find((c) => c.certId === certId) : undefined;
      if (!replaced || replaced.accountId !== account.id) throw new AcmeProblem('malformed', `replaces ${JSON.stringify(certId)} names no certificate of this account (RFC 9773 §5)`);
      if (replaced.replacedBy !== undefined) throw new AcmeProblem('malformed', `certificate ${JSON.stringify(certId)} was already replaced`, { status: 409 });
      replaces = certId as string;
    }
    const now = Date.now();
    const authzs = identifiers.map((identifier): AuthorizationRecord => {
      const id = this.newId();
      const challengeId = this.newId();
      const challenge: ChallengeRecord = {
        id: challengeId, url: `${this.base}/chall/${challengeId}`, authzId: id, tokenPart1: this.options.newTokenPart1(), tokenPart2: newTokenPart(16),
        status: 'pending', messageIds: [], waitingReplies: [],
      };
      const authz: AuthorizationRecord = {
        id, url: `${this.base}/authz/${id}`, accountId: account.id, identifier, expires: new Date(now + 7 * DAY_MS),
        deactivated: false, fetched: false, challenge,
      };
      this.state.authzs.set(id, authz);
      this.state.challenges.set(challengeId, challenge);
      return authz;
    });
    const id = this.newId();
    const order: OrderRecord = {
      id, url: `${this.base}/order/${id}`, accountId: account.id, identifiers, authzIds: authzs.map((a) => a.id),
      expires: new Date(now + 7 * DAY_MS), failed: false, ...(replaces === undefined ? {} : { replaces }),
    };
    this.state.orders.set(id, order);
    account.orderUrls.push(order.url);
    for (const authz of authzs) await this.options.events.authzCreated(authz);
    return this.orderReply(order, 201);
  }

  private checkIdentifiers(value: unknown): Identifier[] {
    if (!Array.isArray(value) || value.length === 0) throw new AcmeProblem('malformed', 'identifiers must be a non-empty array');
    if (value.length > 10) throw new AcmeProblem('rejectedIdentifier', 'at most 10 identifiers per order');
    const out: Identifier[] = [];
    const problems: ProblemDocument[] = [];
    for (const item of value) {
      if (typeof item !== 'object' || item === null || typeof (item as Identifier).type !== 'string' || typeof (item as Identifier).value !== 'string') {
        throw new AcmeProblem('malformed', 'each identifier needs string type and value');
      }
      const identifier = { type: (item as Identifier).type, value: (item as Identifier).value };
      if (identifier.type !== 'email') {
        const known = identifier.type === 'dns' || identifier.type === 'ip';
        problems.push(subproblem(known ? 'rejectedIdentifier' : 'unsupportedIdentifier',
          `this CA issues S/MIME certificates for email identifiers only (RFC 8823 §2), not ${identifier.type}`, identifier));
        continue;
      }
      if (!/^[^\s@<>()[\]\\,;:"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/.test(identifier.value)) {
        problems.push(subproblem('rejectedIdentifier', `${JSON.stringify(identifier.value)} is not a bare mailbox address (addr-spec, RFC 8823 §2)`, identifier));
        continue;
      }
      if (!this.options.mailboxes.some((m) => m.toLowerCase() === identifier.value.toLowerCase())) {
        problems.push(subproblem('rejectedIdentifier', `this sandbox CA can only mail its own users (${this.options.mailboxes.join(', ')})`, identifier));
        continue;
      }
      if (out.some((o) => o.value.toLowerCase() === identifier.value.toLowerCase())) throw new AcmeProblem('malformed', `identifier ${identifier.value} appears twice`);
      out.push(identifier);
    }
    if (problems.length > 0) {
      const type = problems.some((p) => p.type.endsWith(':rejectedIdentifier')) ? 'rejectedIdentifier' : 'unsupportedIdentifier';
      throw new AcmeProblem(type, problems.map((p) => p.detail).join('; '), { subproblems: problems });
    }
    return out;
  }

  private ownOrder(account: AccountRecord, id: string): OrderRecord {
    const order = this.state.orders.get(id);
    if (!order) throw new AcmeProblem('malformed', `no order ${id}`, { status: 404 });
    if (order.accountId !== account.id) throw new AcmeProblem('unauthorized', 'this order belongs to another account');
    return order;
  }

  private order(account: AccountRecord, id: string, jws: VerifiedJws): Reply {
    requirePostAsGet(jws);
    return this.orderReply(this.ownOrder(account, id));
  }

  private async finalize(account: AccountRecord, id: string, payload: unknown): Promise<Reply> {
    const order = this.ownOrder(account, id);
    const status = this.state.orderStatus(order);
    if (status !== 'ready') throw new AcmeProblem('orderNotReady', `order is ${status}, not ready (RFC 8555 §7.4)`);
    const request = objectPayload(payload, 'finalize');
    if (typeof request['csr'] !== 'string') throw new AcmeProblem('malformed', 'finalize needs csr, base64url DER');
    const csrDer = decodeB64url(request['csr'], 'csr');
    const checked = checkCsr(csrDer, order.identifiers.map((i) => i.value), account.key);
    // S/MIME BR §6.1.1.3: never certify a key known to be compromised. A key kept for renewal is
    // fine otherwise.
    const spki = Buffer.from(checked.spki);
    if ([...this.state.certificates.values()].some((c) => c.revokedReason === KEY_COMPROMISE && spki.equals(c.spki))) {
      throw new AcmeProblem('badCSR', 'the CSR\'s key belongs to a certificate revoked for keyCompromise; make a new key');
    }
    const issued = await this.options.pki.issue({ spki: checked.spki, emails: order.identifiers.map((i) => i.value), keyUsage: checked.keyUsage, lifetimeSeconds: this.options.certLifetimeSeconds });
    const certId = this.newId();
    const aki = issued.cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId ?? '';
    const serialHex = issued.cert.serialNumber;
    const record = {
      id: certId, url: `${this.base}/cert/${certId}`, accountId: account.id, der: new Uint8Array(issued.cert.rawData),
      chainPem: issued.chainPem, alternateChainPem: issued.alternateChainPem, serialHex,
      certId: `${Buffer.from(aki, 'hex').toString('base64url')}.${Buffer.from(serialHex.length % 2 ? `0${serialHex}` : serialHex, 'hex').toString('base64url')}`,
      spki: checked.spki, notBefore: issued.cert.notBefore, notAfter: issued.cert.notAfter,
    };
    this.state.certificates.set(certId, record);
    if (order.replaces !== undefined) {
      const replaced = [...this.state.certificates.values()].find((c) => c.certId === order.replaces);
      if (replaced) replaced.replacedBy = record.certId;
    }
    order.certificateId = certId;
    order.readyAt = new Date(Date.now() + this.options.faults().processingSeconds * 1000);
    return this.orderReply(order);
  }

  // ---------------------------------------------------------------- authorizations and challenges

  private challengeJson(challenge: ChallengeRecord): unknown {
    return {
      type: 'email-reply-00',
      url: challenge.url,
      status: challenge.status,
      token: challenge.tokenPart2,
      from: this.options.caAddress,
      ...(challenge.validated ? { validated: challenge.validated.toISOString() } : {}),
      ...(challenge.error ? { error: challenge.error } : {}),
    };
  }

  private ownAuthz(account: AccountRecord, id: string): AuthorizationRecord {
    const authz = this.state.authzs.get(id);
    if (!authz) throw new AcmeProblem('malformed', `no authorization ${id}`, { status: 404 });
    if (authz.accountId !== account.id) throw new AcmeProblem('unauthorized', 'this authorization belongs to another account');
    return authz;
  }

  private async authz(account: AccountRecord, id: string, payload: unknown): Promise<Reply> {
    const authz = this.ownAuthz(account, id);
    if (payload !== undefined) {
      const update = objectPayload(payload, 'authorization update');
      if (update['status'] !== 'deactivated') throw new AcmeProblem('malformed', 'an authorization can only be updated to status deactivated (RFC 8555 §7.5.2)');
      authz.deactivated = true;
      clearTimeout(authz.challenge.timeout);
    } else if (!authz.fetched) {
      authz.fetched = true;
      await this.options.events.authzFetched(authz);
    }
    const processing = authz.challenge.status === 'processing';
    return {
      status: 200,
      body: {
        identifier: authz.identifier,
        status: this.state.authzStatus(authz),
        expires: authz.expires.toISOString(),
        challenges: [this.challengeJson(authz.challenge)],
      },
      headers: processing ? { 'retry-after': '1' } : {},
    };
  }

  private async challenge(account: AccountRecord, id: string, payload: unknown): Promise<Reply> {
    const challenge = this.state.challenges.get(id);
    const authz = challenge ? this.ownAuthz(account, challenge.authzId) : undefined;
    if (!challenge || !authz) throw new AcmeProblem('malformed', `no challenge ${id}`, { status: 404 });
    if (payload !== undefined) {
      const request = objectPayload(payload, 'challenge response');
      // RFC 8555 §7.5.1: the client sends exactly "{}"; anything else is a client bug.
      if (Object.keys(request).length > 0) throw new AcmeProblem('malformed', `POST to a challenge carries {} (RFC 8555 §7.5.1), not ${JSON.stringify(request)}`);
      if (this.state.authzStatus(authz) !== 'pending') {
        // Idempotent for a challenge already decided; refused for a dead authorization.
        if (challenge.status !== 'valid' && challenge.status !== 'invalid') throw new AcmeProblem('malformed', `authorization is ${this.state.authzStatus(authz)}`);
      } else if (challenge.status === 'pending') {
        challenge.status = 'processing';
        challenge.postedAt = new Date();
        challenge.timeout = setTimeout(() => {
          if (challenge.status !== 'processing') return;
          challenge.status = 'invalid';
          challenge.error = new AcmeProblem('incorrectResponse', `no valid reply arrived within ${Math.round(this.options.replyTimeoutMs / 1000)} s of the POST`).toDocument();
        }, this.options.replyTimeoutMs);
        challenge.timeout.unref();
        await this.options.events.challengePosted(authz);
      }
    }
    return {
      status: 200,
      body: this.challengeJson(challenge),
      headers: { link: `<${authz.url}>;rel="up"`, ...(challenge.status === 'processing' ? { 'retry-after': '1' } : {}) },
    };
  }

  // ---------------------------------------------------------------- certificates

  private certificate(account: AccountRecord, id: string, alternate: boolean, jws: VerifiedJws): Reply {
    requirePostAsGet(jws);
    const cert = this.state.certificates.get(id);
    if (!cert) throw new AcmeProblem('malformed', `no certificate ${id}`, { status: 404 });
    if (cert.accountId !== account.id) throw new AcmeProblem('unauthorized', 'this certificate belongs to another account');
    const order = [...this.state.orders.values()].find((o) => o.certificateId === id);
    if (order && this.state.orderStatus(order) !== 'valid') throw new AcmeProblem('malformed', 'the certificate is not ready yet', { status: 404 });
    const other = alternate ? cert.url : `${cert.url}/alt`;
    return {
      status: 200,
      text: { contentType: 'application/pem-certificate-chain', body: alternate ? cert.alternateChainPem : cert.chainPem },
      headers: { link: `<${other}>;rel="alternate"` },
    };
  }

  private revoke(jws: VerifiedJws): Reply {
    const request = objectPayload(jws.payload, 'revokeCert');
    if (typeof request['certificate'] !== 'string') throw new AcmeProblem('malformed', 'revokeCert needs certificate, base64url DER');
    const der = decodeB64url(request['certificate'], 'certificate');
    const cert = [...this.state.certificates.values()].find((c) => Buffer.from(c.der).equals(der));
    if (!cert) throw new AcmeProblem('malformed', 'this CA did not issue that certificate', { status: 404 });
    if (jws.kid !== undefined) {
      const account = this.requireKid(jws);
      if (cert.accountId !== account.id) throw new AcmeProblem('unauthorized', 'only the account that ordered a certificate, or its key, may revoke it (RFC 8555 §7.6)');
    } else {
      // RFC 8555 §7.6: a request signed with a jwk must be signed by the certificate's own key.
      const certKey: KeyObject = createPublicKey({ key: Buffer.from(cert.spki), format: 'der', type: 'spki' });
      if (!certKey.equals(jws.key)) throw new AcmeProblem('unauthorized', 'the JWS is signed with a jwk that is not the certificate\'s public key; sign with the certificate\'s key, or with the ordering account (kid) (RFC 8555 §7.6)');
    }
    const reason = request['reason'] ?? 0;
    if (typeof reason !== 'number' || !SUBSCRIBER_REASONS.has(reason)) throw new AcmeProblem('badRevocationReason', `reason ${JSON.stringify(reason)} is not one of 0, 1, 3, 4, 5, 9`);
    if (cert.revokedReason !== undefined) throw new AcmeProblem('alreadyRevoked', 'the certificate is already revoked');
    cert.revokedReason = reason;
    return { status: 200 };
  }

  private renewalInfo(certId: string): Reply {
    const cert = [...this.state.certificates.values()].find((c) => c.certId === certId);
    if (!cert) throw new AcmeProblem('malformed', `no certificate with certID ${certId} (RFC 9773 §4.1)`, { status: 404 });
    const begin = cert.notBefore.getTime();
    const life = cert.notAfter.getTime() - begin;
    // Revoked: renew now (RFC 9773 §4.2 allows a window in the past).
    const window = cert.revokedReason !== undefined
      ? { start: new Date(Date.now() - 3_600_000), end: new Date(Date.now() - 60_000) }
      : { start: new Date(begin + (life * 2) / 3), end: new Date(begin + (life * 5) / 6) };
    return {
      status: 200,
      body: { suggestedWindow: { start: window.start.toISOString(), end: window.end.toISOString() } },
      headers: { 'retry-after': '21600' },
    };
  }
}

// ---------------------------------------------------------------- helpers

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new AcmeProblem('malformed', 'request body larger than 64 KiB', { status: 413 }));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

function objectPayload(payload: unknown, what: string): Record<string, unknown> {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new AcmeProblem('malformed', `${what} payload must be a JSON object${payload === undefined ? ' (this was a POST-as-GET)' : ''}`);
  }
  return payload as Record<string, unknown>;
}

function requirePostAsGet(jws: VerifiedJws): void {
  if (jws.payload !== undefined) throw new AcmeProblem('malformed', 'fetch this resource with POST-as-GET: an empty payload, not {} (RFC 8555 §6.3)');
}

function checkContacts(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((c) => typeof c === 'string')) throw new AcmeProblem('malformed', 'contact must be an array of strings');
  for (const contact of value) {
    if (!contact.startsWith('mailto:')) throw new AcmeProblem('unsupportedContact', `only mailto: contacts are supported, not ${contact}`);
    if (!/^mailto:[^\s@?,]+@[^\s@?,]+$/.test(contact)) throw new AcmeProblem('invalidContact', `${contact} is not a single mailto: address without hfields (RFC 8555 §7.3)`);
  }
  return value;
}

/** Keeps only the public members (a stored key never echoes anything else back). */
function publicJwk(jwk: Jwk): Jwk {
  importJwk(jwk);
  const keep = ['kty', 'crv', 'x', 'y', 'n', 'e'];
  return Object.fromEntries(Object.entries(jwk).filter(([k]) => keep.includes(k)));
}
