/**
 * The sandbox: a strict local RFC 8555 + RFC 8823 CA with real mail around it (private Dovecot,
 * a DKIM-signing submission MTA, an RFC 8484 DNS-over-HTTPS endpoint), all on 127.0.0.1.
 * It is the embedded default of the demo and the peer of every end-to-end test.
 *
 * Nothing here imports src/: what the CA checks (JWS, thumbprints, key authorizations, CSRs,
 * DKIM of replies) is written independently, so a bug shared with the client cannot hide itself.
 *
 * Mail world: users live at one domain (example.test by default) whose provider — the
 * submission MTA — DKIM-signs their outgoing mail; the CA is acme@ca.test and signs its
 * challenge mail for ca.test; evil.test is the forger's domain, with a real key in DNS, so
 * "signed, but by the wrong domain" can be tested.
 */
export type {
  ChallengeTiming, TokenJoin, TokenEncoding, Validation, PersonalityName, ChallengeKnobs, Forgery, SandboxFaults,
  SandboxUser, SandboxOptions, SentChallenge, CreatedOrder, DkimVerdict, ReceivedReply, SandboxChanges, Sandbox, ImapSession,
} from './types';
export { NO_FAULTS, ON_POST_INTERVAL_MS, ON_POST_TRIES } from './types';
export { PERSONALITIES, PERSONALITY_NAMES, type Personality } from './personalities';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_FAULTS, ON_POST_INTERVAL_MS, ON_POST_TRIES, type ChallengeKnobs, type Forgery, type ReceivedReply, type Sandbox, type SandboxFaults, type SandboxOptions, type SandboxUser, type SentChallenge } from './types';
import { PERSONALITIES } from './personalities';
import { SandboxPki } from './pki';
import { AcmeServer } from './acme/server';
import type { AuthorizationRecord } from './acme/state';
import { buildChallengeMail, CHALLENGE_SIGNED_HEADERS, dkimSummary, judgeReply, newTokenPart1, replyFacts } from './acme/email-reply';
import { AcmeProblem } from './acme/problem';
import { makeDkimKey, signMessage, verifyMessage, zoneResolver, type DkimCheck, type DkimKey } from './mail/dkim';
import { startDovecot, type Dovecot } from './mail/dovecot';
import { deliverLmtp, startMta } from './mail/mta';
import { startDoh } from './dns/doh';

export const CA_ADDRESS = 'acme@ca.test';
export const FORGER_DOMAIN = 'evil.test';
/** Header fields the provider's DKIM signature covers on users' mail (RFC 6376 §5.4.1). */
const USER_SIGNED_HEADERS = ['from', 'to', 'cc', 'subject', 'date', 'message-id', 'in-reply-to', 'references', 'mime-version', 'content-type', 'content-transfer-encoding'];

export class SandboxStartError extends Error {
  override readonly name = 'SandboxStartError';
}

interface ReplyRecord {
  raw: string;
  from: string;
  dkim: ReceivedReply['dkim'];
  checks: readonly DkimCheck[];
  inReplyTo: string;
  challengeUrl?: string;
  verdict: ReceivedReply['verdict'];
  detail: string;
  at: Date;
}

/** The sandbox's users when none are given: alice and bob of example.test, random passwords, no aliases. */
export function defaultUsers(): SandboxUser[] {
  return [
    { email: 'alice@example.test', password: randomBytes(9).toString('base64url') },
    { email: 'bob@example.test', password: randomBytes(9).toString('base64url') },
  ];
}

/**
 * Users lower-cased, and the mailbox each address (a user's own or an alias) is delivered into.
 * An address given twice would make delivery and "who may send as it" ambiguous: refused.
 */
function mailboxesOf(given: readonly SandboxUser[]): { users: SandboxUser[]; ownerOf: ReadonlyMap<string, string> } {
  const ownerOf = new Map<string, string>();
  const claim = (address: string, owner: string): void => {
    if (ownerOf.has(address)) throw new SandboxStartError(`${address} is given twice (as a user or an alias)`);
    ownerOf.set(address, owner);
  };
  const users = given.map((u): SandboxUser => {
    const email = u.email.toLowerCase();
    claim(email, email);
    if (u.aliases === undefined) return { email, password: u.password };
    const aliases = u.aliases.map((a) => a.toLowerCase());
    for (const alias of aliases) claim(alias, email);
    return { email, password: u.password, aliases };
  });
  return { users, ownerOf };
}

/** Starts every part on free loopback ports, state in a fresh temp folder. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const { users, ownerOf } = mailboxesOf(options.users ?? defaultUsers());
  /** The mailbox mail to `address` goes into (an unknown address is left for Dovecot to refuse). */
  const mailboxFor = (address: string): string => ownerOf.get(address.toLowerCase()) ?? address;
  const userDomains = [...new Set([...ownerOf.keys()].map((a) => a.slice(a.lastIndexOf('@') + 1)))];
  const caDomain = CA_ADDRESS.slice(CA_ADDRESS.indexOf('@') + 1);
  const personality = options.personality ?? 'default';
  const base = PERSONALITIES[personality];
  let knobs: ChallengeKnobs = {
    challengeTiming: options.challengeTiming ?? base.challengeTiming,
    tokenJoin: options.tokenJoin ?? base.tokenJoin,
    tokenEncoding: options.tokenEncoding ?? base.tokenEncoding,
    validation: options.validation ?? base.validation,
  };
  let forgery: Forgery = options.forgery ?? 'none';
  let faults: SandboxFaults = { ...NO_FAULTS, ...options.faults };
  const eab = { kid: `sandbox-eab-${randomBytes(6).toString('hex')}`, hmacKey: randomBytes(32).toString('base64url') };

  const stateDir = mkdtempSync(join(tmpdir(), 'oneclick-sandbox-'));
  chmodSync(stateDir, 0o755);
  const stoppers: (() => Promise<void>)[] = [];
  // If the process exits without stop(), at least the state folder goes (Dovecot has its own hook).
  const removeStateDir = (): void => {
    rmSync(stateDir, { recursive: true, force: true });
  };
  process.once('exit', removeStateDir);
  const stopAll = async (): Promise<void> => {
    process.removeListener('exit', removeStateDir);
    for (const stop of stoppers.splice(0).reverse()) {
      try {
        await stop();
      } catch {
        // keep stopping the rest; a half-stopped sandbox is worse than a lost error
      }
    }
    rmSync(stateDir, { recursive: true, force: true });
  };

  try {
    const [imapPort, lmtpPort, freeAcmePort] = await distinctFreePorts(3);
    const dovecotStart = startDovecot(stateDir, users, { imap: imapPort!, lmtp: lmtpPort! });
    // The ACME server's port is chosen now: the issuing intermediate names its root by a URL on it.
    const acmePort = options.acmePort ?? freeAcmePort!;
    const [pki, caKey, forgerKey, ...userKeys] = await Promise.all([
      SandboxPki.create(stateDir, `https://127.0.0.1:${acmePort}/ca`),
      makeDkimKey(caDomain, 'sandbox'),
      makeDkimKey(FORGER_DOMAIN, 'forged'),
      ...userDomains.map((d) => makeDkimKey(d, 'mail')),
    ]);
    const dovecot: Dovecot = await dovecotStart;
    stoppers.push(() => dovecot.stop());
    const keysByDomain = new Map<string, DkimKey>([caKey, forgerKey, ...userKeys].map((k) => [k.domain, k]));
    const zone: Record<string, string[]> = Object.fromEntries([...keysByDomain.values()].map((k) => [k.recordName, [k.record]]));
    const resolver = zoneResolver(() => zone);
    const lmtp = { host: '127.0.0.1', port: lmtpPort! };

    const sent: SentChallenge[] = [];
    const replies: ReplyRecord[] = [];

    const sendChallenge = async (authz: AuthorizationRecord): Promise<void> => {
      const challenge = authz.challenge;
      const messageId = `<${randomBytes(12).toString('hex')}@${caDomain}>`;
      const date = new Date();
      const mail = buildChallengeMail({ caAddress: CA_ADDRESS, forgerDomain: FORGER_DOMAIN, to: authz.identifier.value, tokenPart1: challenge.tokenPart1, messageId, date, forgery });
      const key = mail.signingDomain === '' ? undefined : keysByDomain.get(mail.signingDomain);
      const raw = key ? await signMessage(mail.raw, key, CHALLENGE_SIGNED_HEADERS) : mail.raw;
      // An alias's mail goes into its owner's mailbox, its To unchanged, as a provider delivers it.
      const mailbox = mailboxFor(authz.identifier.value);
      await deliverLmtp(lmtp, mail.from, [mailbox], raw);
      const deliveredAt = new Date();
      challenge.messageIds.push(messageId);
      sent.push({
        authzUrl: authz.url, challengeUrl: challenge.url, identifier: authz.identifier.value, mailbox, messageId,
        subject: `ACME: ${challenge.tokenPart1}`, tokenPart1: challenge.tokenPart1, forgery, at: date, deliveredAt,
      });
    };

    /** RFC 8555 §7.5.1: replies are looked at only once the client has POSTed to the challenge. */
    const decide = (authz: AuthorizationRecord): void => {
      const challenge = authz.challenge;
      while (challenge.status === 'processing' && challenge.waitingReplies.length > 0) {
        const reply = replies[challenge.waitingReplies.shift()!]!;
        const account = acme.state.accounts.get(authz.accountId)!;
        const verdict = judgeReply(reply.raw, reply.checks, {
          mailbox: authz.identifier.value, tokenPart1: challenge.tokenPart1, tokenPart2: challenge.tokenPart2,
          thumbprint: account.thumbprint, join: knobs.tokenJoin,
        });
        clearTimeout(challenge.timeout);
        reply.detail = verdict.detail;
        if (verdict.ok) {
          reply.verdict = 'valid';
          challenge.status = 'valid';
          challenge.validated = new Date();
        } else {
          reply.verdict = 'invalid';
          challenge.status = 'invalid';
          challenge.error = new AcmeProblem(verdict.problem, verdict.detail).toDocument();
        }
      }
      for (const index of challenge.waitingReplies.splice(0)) {
        const late = replies[index]!;
        late.verdict = 'invalid';
        late.detail = `challenge was already ${challenge.status} when this reply was looked at`;
      }
    };

    const receiveReply = async (raw: string): Promise<void> => {
      const at = new Date();
      const facts = replyFacts(raw);
      const checks = await verifyMessage(raw, resolver);
      const fromDomain = facts.from.slice(facts.from.lastIndexOf('@') + 1);
      const record: ReplyRecord = {
        raw, from: facts.from, dkim: dkimSummary(checks, fromDomain), checks, inReplyTo: facts.inReplyTo,
        verdict: 'invalid', detail: '', at,
      };
      const index = replies.push(record) - 1;
      const authz = facts.inReplyTo === '' ? undefined : [...acme.state.authzs.values()].find((a) => a.challenge.messageIds.includes(facts.inReplyTo));
      if (!authz) {
        record.detail = facts.inReplyTo === ''
          ? 'reply has no In-Reply-To; it cannot be matched to a challenge'
          : `In-Reply-To ${facts.inReplyTo} is not the Message-ID of any challenge mail this CA sent`;
        return;
      }
      record.challengeUrl = authz.challenge.url;
      if (authz.challenge.status === 'valid' || authz.challenge.status === 'invalid') {
        record.detail = `challenge was already ${authz.challenge.status}`;
        return;
      }
      record.verdict = 'pending';
      record.detail = knobs.validation === 'on-post' && authz.challenge.status === 'processing'
        ? 'waiting for the next of the CA\'s checks after the POST'
        : 'waiting for the client to POST {} to the challenge';
      authz.challenge.waitingReplies.push(index);
      // With on-post validation only the checks the POST started look at replies.
      if (authz.challenge.status === 'processing' && knobs.validation === 'on-reply') decide(authz);
    };

    /**
     * `validation: 'on-post'`: the POST looks at what has arrived, ON_POST_TRIES times
     * ON_POST_INTERVAL_MS apart, then gives up; the POST's answer waits for this.
     */
    const checkOnPost = async (authz: AuthorizationRecord): Promise<void> => {
      const challenge = authz.challenge;
      for (let attempt = 1; attempt <= ON_POST_TRIES && challenge.status === 'processing'; attempt++) {
        if (challenge.waitingReplies.length > 0) {
          decide(authz);
          return;
        }
        if (attempt < ON_POST_TRIES) await new Promise((resolve) => setTimeout(resolve, ON_POST_INTERVAL_MS));
      }
      if (challenge.status !== 'processing') return;
      clearTimeout(challenge.timeout);
      challenge.status = 'invalid';
      challenge.error = new AcmeProblem('incorrectResponse',
        `no reply had arrived after ${ON_POST_TRIES} checks ${ON_POST_INTERVAL_MS / 1000} s apart following the POST; this CA looks only when the challenge is POSTed`).toDocument();
    };

    const acme = new AcmeServer({
      pki, caAddress: CA_ADDRESS, mailboxes: [...ownerOf.keys()],
      certLifetimeSeconds: options.certificateLifetimeSeconds ?? (options.certValidityDays ?? 7) * 86_400,
      newTokenPart1: () => newTokenPart1(knobs.tokenEncoding),
      eab, requireEab: options.requireEab ?? false,
      faults: () => faults,
      replyTimeoutMs: (options.replyTimeoutSeconds ?? 600) * 1000,
      port: acmePort,
      events: {
        authzCreated: async (authz) => {
          if (knobs.challengeTiming === 'on-create') await sendChallenge(authz);
        },
        authzFetched: async (authz) => {
          if (knobs.challengeTiming === 'on-fetch' && authz.challenge.messageIds.length === 0) await sendChallenge(authz);
        },
        challengePosted: async (authz) => {
          if (knobs.challengeTiming === 'after-post' && authz.challenge.messageIds.length === 0) await sendChallenge(authz);
          if (knobs.validation === 'on-post') await checkOnPost(authz);
          else decide(authz);
        },
      },
    });
    await acme.start();
    stoppers.push(() => acme.stop());
    const [doh, mta] = await Promise.all([
      startDoh(pki.tls, () => zone, options.dohPort ?? 0),
      startMta({
        port: 0, users, caAddress: CA_ADDRESS, lmtp,
        sign: (raw, fromDomain) => {
          const key = keysByDomain.get(fromDomain);
          if (!key) throw new SandboxStartError(`no DKIM key for ${fromDomain}`);
          return signMessage(raw, key, USER_SIGNED_HEADERS);
        },
        toCa: receiveReply,
      }),
    ]);
    stoppers.push(() => doh.stop(), () => mta.stop());

    let stopped: Promise<void> | undefined;
    return {
      directoryUrl: acme.directoryUrl,
      tlsRootPem: pki.tlsRoot.pem,
      tlsRootPath: pki.tlsRoot.path,
      mailboxRootPem: pki.mailboxRoot.pem,
      mailboxRootPath: pki.mailboxRoot.path,
      mailboxRootSha256: pki.mailboxRoot.sha256,
      mailboxIntermediatePem: pki.issuerCert.toString('pem') + '\n',
      alternateMailboxRootPem: pki.alternateMailboxRoot.pem,
      alternateMailboxRootPath: pki.alternateMailboxRoot.path,
      imap: { host: '127.0.0.1', port: imapPort! },
      smtp: { host: '127.0.0.1', port: mta.port },
      lmtp,
      dohUrl: doh.url,
      zone,
      caAddress: CA_ADDRESS,
      users,
      eab,
      stateDir,
      personality,
      knobs: () => knobs,
      configure(changes) {
        knobs = {
          challengeTiming: changes.challengeTiming ?? knobs.challengeTiming,
          tokenJoin: changes.tokenJoin ?? knobs.tokenJoin,
          tokenEncoding: changes.tokenEncoding ?? knobs.tokenEncoding,
          validation: changes.validation ?? knobs.validation,
        };
        if (changes.forgery) forgery = changes.forgery;
        if (changes.faults) faults = { ...faults, ...changes.faults };
      },
      challengesSent: () => [...sent],
      orders: () => [...acme.state.orders.values()].map((o) => ({ url: o.url, identifiers: o.identifiers.map((i) => i.value), status: acme.state.orderStatus(o) })),
      imapSessions: () => dovecot.imapSessions(),
      repliesReceived: () => replies.map((r): ReceivedReply => ({
        raw: r.raw, from: r.from, dkim: r.dkim, inReplyTo: r.inReplyTo, verdict: r.verdict, detail: r.detail, at: r.at,
        ...(r.challengeUrl === undefined ? {} : { challengeUrl: r.challengeUrl }),
      })),
      async resendChallenge(authzUrl) {
        const authz = [...acme.state.authzs.values()].find((a) => a.url === authzUrl);
        if (!authz) throw new SandboxStartError(`no authorization ${authzUrl}`);
        await sendChallenge(authz);
      },
      deliverToCa: (raw) => receiveReply(raw.replace(/\r?\n/g, '\r\n')),
      deliverRaw: (to, raw) => deliverLmtp(lmtp, 'sandbox@sandbox.test', [mailboxFor(to)], raw),
      stop() {
        stopped ??= stopAll();
        return stopped;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}
