/**
 * AcmePort over src/acme's AcmeClient (RFC 8555, RFC 9773). One client per directory, its
 * account key kept by an injected AccountStore (in Thunderbird: IndexedDB, holding the
 * non-extractable CryptoKey itself, so the key is never in storage.local or in the clear).
 *
 * A renewal order carries RFC 9773 §5 `replaces` only when the directory offers renewalInfo:
 * a CA without ARI may refuse a field it does not know.
 */
import {
  AcmeClient,
  AcmeNetworkError,
  AcmeProblemError,
  AcmeProtocolError,
  AcmeResourceFailedError,
  AcmeTimeoutError,
  BadNonceError,
  ExternalAccountRequiredError,
  RateLimitedError,
  ServerInternalError,
  UserActionRequiredError,
  accountKeyThumbprint,
  isEmailReplyChallenge,
  renewalCertId,
  signingKeyFromPair,
  type AccountKey,
  type Authorization,
  type Order,
  type Problem,
} from '../../acme/index';
import { certificateDer, importPkcs8 } from '../../pkcs12/index';
import { PortError, type AccountRequest, type AcmePort, type AuthorizationInfo, type CaInfo, type OrderInfo, type ProblemInfo, type RenewalWindow, type RevocationReason } from '../ports';

export interface StoredAccount {
  readonly key: AccountKey;
  readonly accountUrl?: string;
}

/** Where account keys live, per directory URL. */
export interface AccountStore {
  load(directoryUrl: string): Promise<StoredAccount | undefined>;
  save(directoryUrl: string, account: StoredAccount): Promise<void>;
}

export interface AcmeAdapterOptions {
  readonly fetch: typeof fetch;
  readonly crypto: Crypto;
  readonly accounts: AccountStore;
}

export function problemInfo(problem: Problem): ProblemInfo {
  return {
    type: problem.type,
    ...(problem.detail === undefined ? {} : { detail: problem.detail }),
    ...(problem.status === undefined ? {} : { status: problem.status }),
    ...(problem.instance === undefined ? {} : { instance: problem.instance }),
    ...(problem.identifier === undefined ? {} : { identifier: { type: problem.identifier.type, value: problem.identifier.value } }),
    ...(problem.subproblems === undefined ? {} : { subproblems: problem.subproblems.map(problemInfo) }),
  };
}

/** src/acme's error classes → what the flow does about them (retry, wait, report). */
export function toPortError(error: unknown): PortError {
  if (error instanceof PortError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof RateLimitedError) {
    return new PortError('rateLimited', message, { cause: error, problem: problemInfo(error.problem), ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }) });
  }
  if (error instanceof UserActionRequiredError) {
    const link = error.actionUrl;
    return new PortError('userAction', message, { cause: error, problem: problemInfo(error.problem), ...(link === undefined ? {} : { link }) });
  }
  // Retried inside src/acme already (bounded); here they mean "try again later".
  if (error instanceof BadNonceError) return new PortError('transient', message, { cause: error, problem: problemInfo(error.problem) });
  // A CA down for maintenance may say when to come back (RFC 9110 §10.2.3, with 503).
  if (error instanceof ServerInternalError) {
    return new PortError('transient', message, { cause: error, problem: problemInfo(error.problem), ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }) });
  }
  if (error instanceof AcmeNetworkError || error instanceof AcmeTimeoutError) return new PortError('transient', message, { cause: error });
  if (error instanceof ExternalAccountRequiredError) return new PortError('problem', message, { cause: error, problem: problemInfo(error.problem) });
  if (error instanceof AcmeProblemError) return new PortError('problem', message, { cause: error, problem: problemInfo(error.problem) });
  if (error instanceof AcmeResourceFailedError) return new PortError('problem', message, { cause: error, ...(error.problem ? { problem: problemInfo(error.problem) } : {}) });
  // A 5xx page that is not JSON is an outage, not a protocol break: worth another try.
  if (error instanceof AcmeProtocolError && (error.httpStatus ?? 0) >= 500) return new PortError('transient', message, { cause: error });
  return new PortError('fatal', message, { cause: error });
}

function orderInfo(order: Order): OrderInfo {
  return {
    url: order.url,
    status: order.status,
    authorizations: order.authorizations,
    finalize: order.finalize,
    ...(order.certificate === undefined ? {} : { certificate: order.certificate }),
    ...(order.error === undefined ? {} : { error: problemInfo(order.error) }),
    ...(order.retryAfterMs === undefined ? {} : { retryAfterMs: order.retryAfterMs }),
  };
}

function authorizationInfo(authz: Authorization): AuthorizationInfo {
  const challenge = authz.challenges.find(isEmailReplyChallenge);
  return {
    url: authz.url,
    status: authz.status,
    identifier: authz.identifier,
    ...(challenge
      ? { challenge: { url: challenge.url, status: challenge.status, token: challenge.token, from: challenge.from, ...(challenge.error ? { error: problemInfo(challenge.error) } : {}) } }
      : {}),
    ...(authz.expires === undefined ? {} : { expires: authz.expires }),
    ...(authz.retryAfterMs === undefined ? {} : { retryAfterMs: authz.retryAfterMs }),
  };
}

export function createAcmeAdapter(options: AcmeAdapterOptions): AcmePort {
  const clients = new Map<string, Promise<AcmeClient>>();

  async function newAccountKey(): Promise<AccountKey> {
    // Non-extractable: the account key can sign, never be read back, even by this add-on.
    const pair = await options.crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    return signingKeyFromPair(pair, options.crypto);
  }

  function client(directoryUrl: string): Promise<AcmeClient> {
    let made = clients.get(directoryUrl);
    if (!made) {
      made = (async () => {
        let stored = await options.accounts.load(directoryUrl);
        if (!stored) {
          stored = { key: await newAccountKey() };
          await options.accounts.save(directoryUrl, stored);
        }
        return new AcmeClient({
          directoryUrl,
          fetch: options.fetch,
          crypto: options.crypto,
          accountKey: stored.key,
          ...(stored.accountUrl === undefined ? {} : { accountUrl: stored.accountUrl }),
        });
      })();
      made.catch(() => clients.delete(directoryUrl));
      clients.set(directoryUrl, made);
    }
    return made;
  }

  /** A client that knows its account URL (after a restart that lost it: RFC 8555 §7.3.1 lookup). */
  async function withAccount(directoryUrl: string): Promise<AcmeClient> {
    const acme = await client(directoryUrl);
    if (acme.accountUrl === undefined) {
      const account = await acme.findAccount();
      await options.accounts.save(directoryUrl, { key: acme.accountKey, accountUrl: account.url });
    }
    return acme;
  }

  async function call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw toPortError(error);
    }
  }

  return {
    caInfo: (directoryUrl): Promise<CaInfo> =>
      call(async () => {
        const directory = await (await client(directoryUrl)).directory();
        return {
          ...(directory.meta.termsOfService === undefined ? {} : { termsOfService: directory.meta.termsOfService }),
          ...(directory.meta.website === undefined ? {} : { website: directory.meta.website }),
          externalAccountRequired: directory.meta.externalAccountRequired === true,
          renewalInfo: directory.renewalInfo !== undefined,
        };
      }),
    ensureAccount: (request: AccountRequest) =>
      call(async () => {
        const acme = await client(request.directoryUrl);
        const account = await acme.createAccount({
          termsOfServiceAgreed: request.termsAgreed,
          contact: request.contact,
          ...(request.eab ? { externalAccountBinding: { kid: request.eab.keyId, hmacKey: request.eab.hmacKey } } : {}),
        });
        await options.accounts.save(request.directoryUrl, { key: acme.accountKey, accountUrl: account.url });
        return { accountUrl: account.url };
      }),
    thumbprint: (directoryUrl) => call(async () => accountKeyThumbprint((await client(directoryUrl)).accountKey, options.crypto)),
    newOrder: (directoryUrl, emails, replaces) =>
      call(async () => {
        const acme = await withAccount(directoryUrl);
        const withReplaces = replaces !== undefined && (await acme.directory()).renewalInfo !== undefined;
        return orderInfo(await acme.newOrder(emails.map((value) => ({ type: 'email', value })), withReplaces ? { replaces } : {}));
      }),
    getOrder: (directoryUrl, orderUrl) => call(async () => orderInfo(await (await withAccount(directoryUrl)).getOrder(orderUrl))),
    getAuthorization: (directoryUrl, url) => call(async () => authorizationInfo(await (await withAccount(directoryUrl)).getAuthorization(url))),
    deactivateAuthorization: (directoryUrl, url) =>
      call(async () => {
        await (await withAccount(directoryUrl)).deactivateAuthorization(url);
      }),
    respondToChallenge: (directoryUrl, url) =>
      call(async () => {
        await (await withAccount(directoryUrl)).respondToChallenge(url);
      }),
    finalize: (directoryUrl, finalizeUrl, csrDer) => call(async () => orderInfo(await (await withAccount(directoryUrl)).finalize(finalizeUrl, csrDer))),
    downloadCertificate: (directoryUrl, url) => call(async () => (await (await withAccount(directoryUrl)).downloadCertificate(url)).pem),
    revoke: (directoryUrl, der, reason: RevocationReason) =>
      call(async () => {
        await (await withAccount(directoryUrl)).revoke(der, reason);
      }),
    revokeWithCertificateKey: (directoryUrl, der, pkcs8, reason: RevocationReason) =>
      call(async () => {
        // A client of its own, signing with the certificate's key (`jwk`), never the account's.
        // importPkcs8 wipes what it reads: a copy, so the caller's wipe stays its own.
        const key = await signingKeyFromPair(await importPkcs8(Uint8Array.from(pkcs8), options.crypto, { extractable: false }), options.crypto);
        await new AcmeClient({ directoryUrl, fetch: options.fetch, crypto: options.crypto, accountKey: key }).revoke(der, reason, { by: 'certificateKey', key });
      }),
    renewalInfo: (directoryUrl, pem): Promise<RenewalWindow | undefined> =>
      call(async () => {
        const info = await (await client(directoryUrl)).renewalInfo(certificateDer(pem));
        if (!info) return undefined;
        return {
          start: info.suggestedWindow.start.getTime(),
          end: info.suggestedWindow.end.getTime(),
          ...(info.retryAfterMs === undefined ? {} : { retryAfterMs: info.retryAfterMs }),
        };
      }),
    certificateId: (pem) => call(() => Promise.resolve(renewalCertId(certificateDer(pem)))),
  };
}
