/**
 * The public API of the ACME client (RFC 8555; RFC 9773 ARI; RFC 8823 email-reply-00 as a
 * challenge plug-in). Everything else under src/acme is internal: wire (http, nonce-pool, retry,
 * response, clock, jws, link, retry-after), parsing, and one module per resource. See
 * docs/ACME.md for the module map. `pollDelay` is the one polling rule, also the flow's.
 *
 * Typical issuance (the enrollment flow does the mail part in between):
 *
 *   const key = await generateAccountKey(crypto);                 // persist exportAccountKey(key, crypto)
 *   const acme = new AcmeClient({ directoryUrl, fetch, crypto, accountKey: key });
 *   const tos = await acme.termsOfService();                      // show it; ask the user
 *   await acme.createAccount({ termsOfServiceAgreed: true });     // persist acme.accountUrl
 *   const order = await acme.newOrder([{ type: 'email', value: 'alice@example.test' }]);
 *   const authz = await acme.getAuthorization(order.authorizations[0]!);
 *   const challenge = authz.challenges.find(isEmailReplyChallenge);   // .token, .from
 *   … reply to the CA's mail …
 *   const answered = await acme.respondToChallenge(challenge.url);
 *   await acme.waitForAuthorization(authz.url, { timeoutMs, signal, onProgress });
 *   const finalized = await acme.finalize(order, csrDer);
 *   const done = await acme.waitForOrder(order.url, 'valid', { initial: finalized });
 *   const { pem, certificates, alternates } = await acme.downloadCertificate(done.certificate!);
 *
 * After a restart: `new AcmeClient({..., accountKey: await importAccountKey(saved, crypto),
 * accountUrl })` and fetch the order by its URL.
 */
export { AcmeClient, defaultChallengeRegistry, type AcmeClientOptions } from './client';
export {
  accountKeyThumbprint,
  algorithmOfJwk,
  exportAccountKey,
  generateAccountKey,
  importAccountKey,
  signingKeyFromPair,
  JWS_ALGORITHMS,
  type AccountKey,
  type JwsAlgorithm,
  type SigningKey,
} from './keys';
export { jwkThumbprint, thumbprintInput, UnsupportedJwkError } from './thumbprint';
export type { EabAlgorithm, ExternalAccountBinding } from './jws';
export { systemClock, type AcmeClock } from './clock';
export type { RequestEvent } from './http';
export { DEFAULT_RETRY, type RetryPolicy } from './retry';
export { DEFAULT_MAX_RESPONSE_BYTES } from './response';
export { DEFAULT_POLL, pollDelay, type PollProgress, type PollSettings, type WaitOptions } from './poll';
export type { FinalizeTarget, NewOrderOptions } from './order';
export type { RevokeBy } from './revoke';
export { ChallengeRegistry, isTokenChallenge, tokenChallengePlugin, type TokenChallenge } from './challenges';
export { EMAIL_REPLY_00, emailReply00, isEmailReplyChallenge, type EmailReplyChallenge } from './challenges/email-reply';
export { parsePemChain, topIssuerNames, PEM_CHAIN_TYPE } from './certificate';
export { certIdFromParts, renewalCertId } from './renewal-info';
export { parseRetryAfter } from './retry-after';
export {
  AccountDoesNotExistError,
  AcmeAbortError,
  AcmeError,
  AcmeNetworkError,
  AcmeProblemError,
  AcmeProtocolError,
  AcmeResourceFailedError,
  AcmeTimeoutError,
  AcmeUsageError,
  BadNonceError,
  ExternalAccountRequiredError,
  MalformedError,
  ProblemTypes,
  RateLimitedError,
  ServerInternalError,
  UnauthorizedError,
  UserActionRequiredError,
  type ProtocolViolation,
  type RequestInfo,
} from './errors';
export * from './types';
