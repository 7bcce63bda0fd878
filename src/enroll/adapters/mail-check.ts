/**
 * MailCheckPort over src/messages: RFC 8823 recognition, DKIM through the user's DNS-over-HTTPS
 * resolver (Thunderbird has no TXT lookups: docs/ADDON.md, "Thunderbird facts"), S/MIME, trusted Authentication-Results,
 * and the response. Every decision is src/messages'; this file only maps names.
 */
import {
  armouredBody,
  buildResponse,
  checkChallengeMail,
  createDohResolver,
  decodedValue,
  keyAuthorization,
  parseAddressList,
  parseMessage,
  responseValue,
  tokenFromSubject,
} from '../../messages/index';
import { PortError, type MailCheckPort } from '../ports';
import type { Settings } from '../settings';

export interface MailCheckAdapterOptions {
  readonly fetch: typeof fetch;
  readonly crypto: Crypto;
  readonly settings: () => Promise<Settings>;
  readonly now: () => number;
}

export function createMailCheckAdapter(options: MailCheckAdapterOptions): MailCheckPort {
  return {
    addressedTo(raw) {
      try {
        return parseMessage(raw)
          .all('to')
          .flatMap((field) => parseAddressList(decodedValue(field)).map((mailbox) => mailbox.address));
      } catch {
        // Not parseable: not addressed to anyone we know; the full check would refuse it anyway.
        return [];
      }
    },

    async check(raw, expectation) {
      const settings = await options.settings();
      const verdict = await checkChallengeMail(
        raw,
        { identity: expectation.email, challengeFrom: expectation.from, orderCreatedAt: new Date(expectation.notBefore) },
        {
          resolver: createDohResolver({ url: settings.dohUrl, fetch: options.fetch }),
          crypto: options.crypto,
          now: () => new Date(options.now()),
          trustedAuthservIds: settings.trustedAuthservIds,
          trustAnchors: settings.smimeTrustAnchors,
        },
      );
      if (verdict.verdict === 'refuse') {
        return { verdict: 'refuse', reasons: verdict.reasons.map((r) => r.code), detail: verdict.reasons[0]?.message ?? 'refused' };
      }
      const reply = await buildResponse(verdict.mail, { tokenPart2: expectation.tokenPart2, thumbprint: expectation.thumbprint, join: expectation.tokenJoin }, options.crypto);
      const other = await buildResponse(verdict.mail, { tokenPart2: expectation.tokenPart2, thumbprint: expectation.thumbprint, join: expectation.tokenJoin === 'string' ? 'bytes' : 'string' }, options.crypto);
      return {
        verdict: 'answer',
        tokenPart1: verdict.tokenPart1,
        replyTo: reply.to,
        replySubject: reply.subject,
        body: reply.body,
        joinUsed: reply.join,
        joinsAgree: other.body === reply.body,
        authenticity: `${verdict.authenticatedBy} ${verdict.authenticatedAs}`,
      };
    },

    async respond(subject, tokenPart2, thumbprint, join) {
      const parsed = tokenFromSubject(subject);
      if (!parsed.ok) throw new PortError('fatal', parsed.refusal.message, { cause: parsed.refusal });
      return armouredBody(await responseValue(keyAuthorization(parsed.token, tokenPart2, thumbprint, join), options.crypto));
    },
  };
}
