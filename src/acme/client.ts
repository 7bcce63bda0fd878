/**
 * AcmeClient: one object per (CA directory, account key), the public face of src/acme.
 * RFC 8555 throughout; RFC 9773 for renewalInfo; RFC 8823 only through the email-reply-00
 * challenge plug-in.
 *
 * Restart-safe by design (the MV3 background can stop at any moment): the client holds no
 * state that cannot be rebuilt from the account key and URL — persist `exportAccountKey()` and
 * `accountUrl`, then `new AcmeClient({..., accountKey, accountUrl})` and re-fetch every order,
 * authorization and certificate by its URL.
 */
import * as account from './account';
import * as authorization from './authorization';
import * as certificate from './certificate';
import { ChallengeRegistry, tokenChallengePlugin } from './challenges';
import { emailReply00 } from './challenges/email-reply';
import type { AcmeClock } from './clock';
import type { AcmeContext } from './context';
import { AcmeHttp, type RequestEvent } from './http';
import type { ExternalAccountBinding } from './jws';
import type { AccountKey } from './keys';
import * as order from './order';
import { DEFAULT_POLL, type PollSettings, type WaitOptions } from './poll';
import { getRenewalInfo } from './renewal-info';
import type { RetryPolicy } from './retry';
import { revokeCertificate, type RevokeBy } from './revoke';
import type {
  Account,
  Authorization,
  CertificateDownload,
  ChallengeBase,
  Directory,
  Identifier,
  Order,
  RenewalInfo,
  RevocationReason,
} from './types';

export interface AcmeClientOptions {
  /** The CA's directory URL (RFC 8555 §7.1.1). https only, unless `allowHttp`. */
  readonly directoryUrl: string;
  /** `fetch`, injected: Thunderbird's global one, or a test's that trusts a test CA. */
  readonly fetch: typeof fetch;
  /** WebCrypto. */
  readonly crypto: Crypto;
  readonly accountKey: AccountKey;
  /** The account URL saved from an earlier `createAccount`/`findAccount`. */
  readonly accountUrl?: string;
  readonly clock?: AcmeClock;
  readonly retry?: Partial<RetryPolicy>;
  readonly poll?: Partial<PollSettings>;
  readonly maxResponseBytes?: number;
  /** Called after every HTTP exchange (retries included): for counting and logging. */
  readonly onRequest?: (event: RequestEvent) => void;
  /** Challenge plug-ins; default: http-01, dns-01, tls-alpn-01, email-reply-00. */
  readonly challengeRegistry?: ChallengeRegistry;
  /** Allow plain-http URLs (a loopback test server). Never for a real CA. */
  readonly allowHttp?: boolean;
}

/**
 * The registry a client uses unless given another: the token challenges (RFC 8555 §8.3, §8.4,
 * RFC 8737) and email-reply-00 (RFC 8823). Built here, above the plug-ins, so the registry itself
 * knows none of them.
 */
export function defaultChallengeRegistry(): ChallengeRegistry {
  return new ChallengeRegistry([tokenChallengePlugin('http-01'), tokenChallengePlugin('dns-01'), tokenChallengePlugin('tls-alpn-01'), emailReply00]);
}

export class AcmeClient {
  private readonly ctx: AcmeContext;

  constructor(options: AcmeClientOptions) {
    const http = new AcmeHttp({
      directoryUrl: options.directoryUrl,
      fetch: options.fetch,
      crypto: options.crypto,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.maxResponseBytes === undefined ? {} : { maxResponseBytes: options.maxResponseBytes }),
      ...(options.onRequest === undefined ? {} : { onRequest: options.onRequest }),
      ...(options.allowHttp === undefined ? {} : { allowHttp: options.allowHttp }),
    });
    this.ctx = {
      http,
      registry: options.challengeRegistry ?? defaultChallengeRegistry(),
      poll: { ...DEFAULT_POLL, ...options.poll },
      accountKey: options.accountKey,
      accountUrl: options.accountUrl === undefined ? undefined : http.checkUrl(options.accountUrl, 'accountUrl'),
    };
  }

  /** The account URL (persist it), once created, found, or given. */
  get accountUrl(): string | undefined {
    return this.ctx.accountUrl;
  }

  /** The current account key (it changes after {@link changeAccountKey}). */
  get accountKey(): AccountKey {
    return this.ctx.accountKey;
  }

  /** HTTP exchanges made so far, retries included. */
  get requestCount(): number {
    return this.ctx.http.requestCount;
  }

  /** RFC 8555 §7.1.1, cached for the client's life; `refresh` fetches it again. */
  directory(signal?: AbortSignal, refresh = false): Promise<Directory> {
    return this.ctx.http.directory(signal, refresh);
  }

  /** The terms the user must agree to before {@link createAccount} (meta.termsOfService), if any. */
  async termsOfService(signal?: AbortSignal): Promise<string | undefined> {
    return (await this.directory(signal)).meta.termsOfService;
  }

  /** RFC 8555 §7.3: creates the account or returns the existing one for this key. */
  createAccount(options: {
    termsOfServiceAgreed: boolean;
    contact?: readonly string[];
    externalAccountBinding?: ExternalAccountBinding;
    signal?: AbortSignal;
  }): Promise<Account> {
    return account.createAccount(this.ctx, options);
  }

  /** RFC 8555 §7.3.1: the existing account of this key, or AccountDoesNotExistError. */
  findAccount(signal?: AbortSignal): Promise<Account> {
    return account.findAccount(this.ctx, signal);
  }

  /** The account's current state (POST-as-GET to its URL, RFC 8555 §7.3.2 / §6.3). */
  getAccount(signal?: AbortSignal): Promise<Account> {
    return account.getAccount(this.ctx, signal);
  }

  /** RFC 8555 §7.3.2. */
  updateContact(contact: readonly string[], signal?: AbortSignal): Promise<Account> {
    return account.updateAccount(this.ctx, { contact }, signal);
  }

  /** RFC 8555 §7.3.3: after the user agreed to changed terms (UserActionRequiredError). */
  agreeToTerms(signal?: AbortSignal): Promise<Account> {
    return account.updateAccount(this.ctx, { termsOfServiceAgreed: true }, signal);
  }

  /** RFC 8555 §7.3.6. Irreversible. */
  deactivateAccount(signal?: AbortSignal): Promise<Account> {
    return account.deactivateAccount(this.ctx, signal);
  }

  /** RFC 8555 §7.3.5. Persist the new key as soon as this resolves. */
  changeAccountKey(newKey: AccountKey, signal?: AbortSignal): Promise<void> {
    return account.changeAccountKey(this.ctx, newKey, signal);
  }

  /** RFC 8555 §7.4. */
  newOrder(identifiers: readonly Identifier[], options: order.NewOrderOptions = {}): Promise<Order> {
    return order.newOrder(this.ctx, identifiers, options);
  }

  /** The order at `url` (POST-as-GET, RFC 8555 §7.1.3): how a restarted flow picks up where it was. */
  getOrder(url: string, signal?: AbortSignal): Promise<Order> {
    return order.getOrder(this.ctx, url, signal);
  }

  /** Polls until the order is `ready` or `valid` (RFC 8555 §7.4). */
  waitForOrder(url: string, target: 'ready' | 'valid', options: WaitOptions<Order> = {}): Promise<Order> {
    return order.waitForOrder(this.ctx, url, target, options);
  }

  /**
   * RFC 8555 §7.4: sends the DER CSR. `target`: the order, `{finalize, url?}`, or the
   * finalize URL as a string (not the order URL).
   */
  finalize(target: order.FinalizeTarget, csrDer: Uint8Array, signal?: AbortSignal): Promise<Order> {
    return order.finalizeOrder(this.ctx, target, csrDer, signal);
  }

  /** The authorization at `url` with its challenges parsed by the registry (RFC 8555 §7.1.4). */
  getAuthorization(url: string, signal?: AbortSignal): Promise<Authorization> {
    return authorization.getAuthorization(this.ctx, url, signal);
  }

  /** The challenge at `url` (POST-as-GET, RFC 8555 §7.5.1). */
  getChallenge(url: string, signal?: AbortSignal): Promise<ChallengeBase> {
    return authorization.getChallenge(this.ctx, url, signal);
  }

  /** RFC 8555 §7.5.1: POST `{}` to the challenge URL. */
  respondToChallenge(url: string, signal?: AbortSignal): Promise<ChallengeBase> {
    return authorization.respondToChallenge(this.ctx, url, signal);
  }

  /** Polls until the authorization is `valid` (RFC 8555 §7.5.1). */
  waitForAuthorization(url: string, options: WaitOptions<Authorization> = {}): Promise<Authorization> {
    return authorization.waitForAuthorization(this.ctx, url, options);
  }

  /** RFC 8555 §7.5.2. */
  deactivateAuthorization(url: string, signal?: AbortSignal): Promise<Authorization> {
    return authorization.deactivateAuthorization(this.ctx, url, signal);
  }

  /** RFC 8555 §7.4.2: the default chain and the alternates' URLs. */
  downloadCertificate(url: string, signal?: AbortSignal): Promise<CertificateDownload> {
    return certificate.downloadCertificate(this.ctx, url, signal);
  }

  /** The chain whose topmost certificate's issuer CN is `issuerCommonName`, else the default one. */
  downloadPreferredChain(url: string, issuerCommonName: string, signal?: AbortSignal): Promise<{ chain: CertificateDownload; matched: boolean }> {
    return certificate.downloadPreferredChain(this.ctx, url, issuerCommonName, signal);
  }

  /** RFC 8555 §7.6, signed by the account or by the certificate's own key. */
  revoke(certificateDer: Uint8Array, reason: RevocationReason | undefined, signer: RevokeBy = { by: 'account' }, signal?: AbortSignal): Promise<void> {
    return revokeCertificate(this.ctx, certificateDer, reason, signer, signal);
  }

  /** RFC 9773: the CA's suggested renewal window, or undefined when the CA offers no ARI. */
  renewalInfo(certificateDer: Uint8Array<ArrayBuffer>, signal?: AbortSignal): Promise<RenewalInfo | undefined> {
    return getRenewalInfo(this.ctx, certificateDer, signal);
  }
}
