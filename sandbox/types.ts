/**
 * The sandbox's public vocabulary: options, fault knobs and the records it keeps of the mail it
 * sent and received. Kept apart from the servers so tests and the CLI can import the types alone.
 */

/** When the CA sends the challenge mail (real CAs differ here: docs/ARCHITECTURE.md, "When the CA sends the challenge mail"). */
export type ChallengeTiming = 'on-create' | 'on-fetch' | 'after-post';
/**
 * How the CA joins token-part1 (mail Subject) and token-part2 (challenge `token`) before it adds
 * the account thumbprint (RFC 8823 §3 is ambiguous): the base64url strings, or the decoded bytes
 * re-encoded.
 */
export type TokenJoin = 'string' | 'bytes';
/**
 * How the CA writes token-part1 in the Subject: unpadded base64url of 16 random bytes (22
 * characters), or padded standard base64 of 32 bytes (44 characters ending in `=`), the form of
 * RFC 8823's own example (§3.1). Joined as strings, token-part1 is used exactly as written.
 */
export type TokenEncoding = 'base64url' | 'base64-padded';
/**
 * What makes the CA look at replies. `on-reply`: a reply is judged as soon as it has arrived and
 * the client has POSTed `{}` (whichever comes last); no valid reply within
 * `replyTimeoutSeconds` of the POST → invalid. `on-post`: only the POST triggers a check, which
 * looks at what has arrived, `ON_POST_TRIES` times `ON_POST_INTERVAL_MS` apart, and then gives up
 * (invalid); the POST's answer waits for that verdict.
 */
export type Validation = 'on-reply' | 'on-post';
/** `validation: 'on-post'`: how many times the CA looks, and how far apart. */
export const ON_POST_TRIES = 5;
export const ON_POST_INTERVAL_MS = 500;
/** Named bundles of the knobs above, each modelled on CAs in the field (sandbox/personalities.ts). */
export type PersonalityName = 'default' | 'rfc-example' | 'bytes-join' | 'mail-after-post' | 'validate-on-post';
/**
 * What the challenge sender forges, for security tests: nothing; no DKIM signature at all; a
 * valid DKIM signature by another domain (`d=` not the CA's); a From that is not the challenge's
 * `from`.
 */
export type Forgery = 'none' | 'unsigned' | 'wrong-d' | 'wrong-from';

/**
 * Fault knobs of the ACME server, all changeable at run time with `configure`. Rates are
 * fractions 0…1 and are applied deterministically (an accumulator, not a random draw): a rate of
 * 0.5 hits every second eligible request, so tests never flake on luck.
 */
export interface SandboxFaults {
  /** Share of JWS POSTs refused with `badNonce` although their nonce was good (RFC 8555 §6.5). */
  readonly badNonceRate: number;
  /** Share of requests answered with HTTP 500 and a `serverInternal` problem. */
  readonly serverErrorRate: number;
  /** Whether those 500s carry Retry-After (`retryAfterSeconds`), as a CA down for maintenance may. */
  readonly serverErrorRetryAfter: boolean;
  /** Share of requests refused with `rateLimited` (HTTP 429) and a Retry-After header. */
  readonly rateLimitRate: number;
  /** Retry-After sent with `rateLimited`, in seconds. */
  readonly retryAfterSeconds: number;
  /** Retry-After as delta-seconds (`'seconds'`) or as an IMF-fixdate (`'http-date'`, RFC 9110 §10.2.3). */
  readonly retryAfterFormat: 'seconds' | 'http-date';
  /** Delay added before every response, in milliseconds. */
  readonly delayMs: number;
  /** Share of requests whose TCP connection is destroyed without an answer. */
  readonly dropRate: number;
  /** After finalize, the order stays `processing` this many seconds before it becomes `valid`. */
  readonly processingSeconds: number;
}

export const NO_FAULTS: SandboxFaults = {
  badNonceRate: 0,
  serverErrorRate: 0,
  serverErrorRetryAfter: false,
  rateLimitRate: 0,
  retryAfterSeconds: 1,
  retryAfterFormat: 'seconds',
  delayMs: 0,
  dropRate: 0,
  processingSeconds: 0,
};

export interface SandboxUser {
  /** The mailbox and its login (IMAP and SMTP). */
  readonly email: string;
  readonly password: string;
  /**
   * Other addresses of this user, as a mail provider's aliases: the CA accepts each as an `email`
   * identifier, mail to it (challenge mail included) is delivered into this user's mailbox with
   * its To unchanged, and this user, logged in, may send as it (MAIL FROM and From); the reply is
   * DKIM-signed for the alias's own domain. Nobody else may send as it.
   */
  readonly aliases?: readonly string[];
}

export interface SandboxOptions {
  /**
   * A bundle of the four challenge knobs below (default `'default'`); an explicit knob given
   * next to it wins over the personality's value.
   */
  personality?: PersonalityName;
  /** Default `'on-fetch'`. */
  challengeTiming?: ChallengeTiming;
  /** Default `'string'`. */
  tokenJoin?: TokenJoin;
  /** Default `'base64url'`. */
  tokenEncoding?: TokenEncoding;
  /** Default `'on-reply'`. */
  validation?: Validation;
  /** Default `'none'`. */
  forgery?: Forgery;
  /** Require external account binding (RFC 8555 §7.3.4); the key is in `Sandbox.eab`. */
  requireEab?: boolean;
  faults?: Partial<SandboxFaults>;
  /** Validity of issued certificates; default 7 days. */
  certValidityDays?: number;
  /**
   * Validity of issued certificates in seconds, for short-lived certificates (renewal tests);
   * wins over `certValidityDays`. notAfter = issuance + this; notBefore is back-dated a minute.
   */
  certificateLifetimeSeconds?: number;
  /**
   * Mailbox users; default alice@example.test and bob@example.test (random passwords, no aliases:
   * `defaultUsers()`). Each domain of a user or an alias gets its own provider DKIM key. No
   * address may be given twice (as a user or an alias).
   */
  users?: SandboxUser[];
  /** How long a challenge waits for a valid reply after the client's POST; default 600 s. */
  replyTimeoutSeconds?: number;
  /** Fixed ports for the ACME server and the DoH endpoint (`npm run sandbox` uses 14000 and 14001, the
   * add-on's "local sandbox" preset); by default the OS picks free ones, as tests need. */
  acmePort?: number;
  dohPort?: number;
}

/** One challenge mail the CA delivered (or re-delivered). */
export interface SentChallenge {
  readonly authzUrl: string;
  readonly challengeUrl: string;
  /** The address the mail went to (the identifier's value; for an alias, the To it carries). */
  readonly identifier: string;
  /** The mailbox it was delivered into: the identifier's user, or the owner of the alias. */
  readonly mailbox: string;
  /** With angle brackets, as in the header. */
  readonly messageId: string;
  readonly subject: string;
  readonly tokenPart1: string;
  readonly forgery: Forgery;
  /** The mail's Date field. */
  readonly at: Date;
  /** When Dovecot acknowledged the LMTP delivery: the mail is in the mailbox (after DKIM signing). */
  readonly deliveredAt: Date;
}

/** One order the CA created, in creation order (`Sandbox.orders`). */
export interface CreatedOrder {
  readonly url: string;
  /** The identifiers' values (mailboxes). */
  readonly identifiers: readonly string[];
  readonly status: 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';
}

export type DkimVerdict = 'pass' | 'fail' | 'neutral' | 'policy' | 'temperror' | 'permerror' | 'none';

/** One mail that reached the CA's address through the submission MTA, with the checker's verdict. */
export interface ReceivedReply {
  readonly raw: string;
  /** The From address (lower-cased), or '' when there was none. */
  readonly from: string;
  /** The best DKIM result for the From domain. */
  readonly dkim: DkimVerdict;
  /** With angle brackets, or '' when absent. */
  readonly inReplyTo: string;
  /** The challenge this reply was matched to, if any. */
  readonly challengeUrl?: string;
  /**
   * `pending`: well-formed reply kept until the client POSTs to the challenge (RFC 8555 §7.5.1:
   * the POST is what makes the CA look). `valid`/`invalid`: the checker's decision.
   */
  readonly verdict: 'pending' | 'valid' | 'invalid';
  /** Why, in words a test failure message can show. */
  readonly detail: string;
  /** When the MTA had the whole message (before the checks above ran). */
  readonly at: Date;
}

/** The challenge knobs in force (a personality's, with any explicit knob or `configure` applied). */
export interface ChallengeKnobs {
  readonly challengeTiming: ChallengeTiming;
  readonly tokenJoin: TokenJoin;
  readonly tokenEncoding: TokenEncoding;
  readonly validation: Validation;
}

/** `tokenEncoding` applies to challenges created after the change. */
export type SandboxChanges = Partial<Pick<SandboxOptions, 'challengeTiming' | 'tokenJoin' | 'tokenEncoding' | 'validation' | 'forgery'>> & {
  faults?: Partial<SandboxFaults>;
};

export interface ImapSession {
  readonly user: string;
  /** The command in progress (`IDLE`, `FETCH`…), '' between commands. */
  readonly command: string;
}

export interface Sandbox {
  /** `https://127.0.0.1:<port>/directory`. */
  readonly directoryUrl: string;
  /**
   * The TLS root (as a WebPKI root): it signed the certificate of the ACME server and the DoH
   * endpoint, nothing else. Trust it to talk to the CA (`fetch`, Thunderbird's `C,,`).
   */
  readonly tlsRootPem: string;
  readonly tlsRootPath: string;
  /**
   * The mailbox root (as an S/MIME root): the issuing intermediate under it signs every mailbox
   * certificate. Trust it for e-mail (Thunderbird's `,C,`, `openssl cms -verify -CAfile`). Not
   * valid for TLS: the ACME server's certificate does not chain to it.
   */
  readonly mailboxRootPem: string;
  readonly mailboxRootPath: string;
  /** SHA-256 of the mailbox root's DER as `AB:CD:…` (upper-case, colon-separated), as Thunderbird shows it. */
  readonly mailboxRootSha256: string;
  /** The issuing intermediate under the mailbox root (its caIssuers URL names the root on the ACME server). */
  readonly mailboxIntermediatePem: string;
  /** The alternate mailbox root, which cross-signs the issuing intermediate (the `rel="alternate"` chain). */
  readonly alternateMailboxRootPem: string;
  readonly alternateMailboxRootPath: string;
  readonly imap: { readonly host: string; readonly port: number };
  /** Submission MTA (AUTH PLAIN, no TLS, loopback only). */
  readonly smtp: { readonly host: string; readonly port: number };
  /** Dovecot's LMTP listener. */
  readonly lmtp: { readonly host: string; readonly port: number };
  /** RFC 8484 endpoint, `https://127.0.0.1:<port>/dns-query`. */
  readonly dohUrl: string;
  /** DKIM TXT records by owner name, e.g. `{ "acme._domainkey.ca.test": ["v=DKIM1; k=rsa; p=…"] }`. */
  readonly zone: Readonly<Record<string, readonly string[]>>;
  /** The challenge `from`, e.g. `acme@ca.test`. */
  readonly caAddress: string;
  readonly users: readonly SandboxUser[];
  /** An external account binding key (RFC 8555 §7.3.4); always offered, required with `requireEab`. */
  readonly eab?: { readonly kid: string; readonly hmacKey: string };
  /** Temp folder holding all state (Dovecot config, maildirs, logs). Removed by `stop`. */
  readonly stateDir: string;
  /** The personality it was started with. */
  readonly personality: PersonalityName;
  /** The challenge knobs in force now. */
  knobs(): ChallengeKnobs;
  configure(changes: SandboxChanges): void;
  challengesSent(): readonly SentChallenge[];
  /** Every order created so far, oldest first, with its status now. */
  orders(): readonly CreatedOrder[];
  repliesReceived(): readonly ReceivedReply[];
  /** The IMAP sessions open at Dovecot now, with the command each is in (`IDLE` while a client waits for mail). */
  imapSessions(): readonly ImapSession[];
  /** Sends the challenge mail of a pending authorization again (same token, new Message-ID). */
  resendChallenge(authzUrl: string): Promise<void>;
  /**
   * Hands `raw` to the CA's response checker as if it had arrived at the CA's inbound MX from
   * anywhere on the Internet: unauthenticated and not signed by the sandbox MTA (tests of
   * unsigned, tampered or misaddressed replies).
   */
  deliverToCa(raw: string): Promise<void>;
  /** Puts any mail into a local mailbox over LMTP, as is (forgery tests); `to` may be an alias (its owner's mailbox). */
  deliverRaw(to: string, raw: string | Uint8Array): Promise<void>;
  /** Stops every server and process it started and removes the temp folder. */
  stop(): Promise<void>;
}

/** The ports `npm run sandbox` listens on by default: where the add-on's "local sandbox" preset looks. */
export const CLI_DEFAULT_PORTS = { acme: 14000, doh: 14001 } as const;
