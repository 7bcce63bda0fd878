/**
 * The add-on's own decision path, in Node: the enrollment state machine (src/enroll/enroller.ts)
 * with the REAL mail-check adapter (src/enroll/adapters/mail-check.ts → src/messages), whose
 * DNS-over-HTTPS resolver is given a `fetch` that answers RFC 8484 wire-format queries from a
 * zone held here. Only the ports that reach outside the add-on (ACME server, Thunderbird's
 * mailbox and compose, certificate store, storage) are fakes, and they record what the flow did:
 * above all, every reply it handed to Thunderbird.
 *
 * Test-only: nothing here is used by the add-on.
 */
import { usabilityMethods } from '../helpers/cert-store';
import { createHash, webcrypto } from 'node:crypto';
import { Enroller, type EnrollerDeps } from '../../src/enroll/enroller';
import { createMailCheckAdapter } from '../../src/enroll/adapters/mail-check';
import {
  type AccountRequest,
  type AcmePort,
  type AuthorizationInfo,
  type CertificateSummary,
  type CertStorePort,
  type GeneratedKey,
  type InstalledCertificate,
  type KeyPort,
  type MailboxPort,
  type MailRef,
  type Notice,
  type OrderInfo,
  type ReplyPort,
  type ReplyRequest,
  type StoragePort,
  type Usage,
} from '../../src/enroll/ports';
import { DEFAULT_SETTINGS, type Settings } from '../../src/enroll/settings';
import { ENROLLMENT_PREFIX, type Enrollment } from '../../src/enroll/state';

export const crypto = webcrypto as unknown as Crypto;
export const DIRECTORY = 'https://ca.example/acme/directory';
export const DOH_URL = 'https://doh.test/dns-query';
/** The user's own provider, whose Authentication-Results the user chose to trust. */
export const PROVIDER_AUTHSERV_ID = 'mx.example.org';

// ------------------------------------------------------------------ DNS-over-HTTPS (RFC 8484)

/** DNS name → TXT records. */
export type Zone = Record<string, readonly string[]>;

function base64UrlToBytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
}

/** The question name of a DNS query (RFC 1035 §4.1.2), and where the question ends. */
function readQuestion(query: Uint8Array): { name: string; end: number } {
  const labels: string[] = [];
  let o = 12;
  for (;;) {
    const len = query[o];
    if (len === undefined) throw new Error('query runs past its end');
    if (len === 0) break;
    labels.push(Buffer.from(query.subarray(o + 1, o + 1 + len)).toString('latin1'));
    o += 1 + len;
  }
  return { name: labels.join('.').toLowerCase(), end: o + 1 + 4 };
}

/** A DNS response (RFC 1035 §4.1) answering `query` with `records` as TXT, or NXDOMAIN. */
export function txtResponse(query: Uint8Array, records: readonly string[] | undefined): Uint8Array {
  const { end } = readQuestion(query);
  const out: number[] = [query[0]!, query[1]!, 0x81, records ? 0x80 : 0x83, 0, 1, 0, records?.length ?? 0, 0, 0, 0, 0, ...query.subarray(12, end)];
  for (const record of records ?? []) {
    const bytes = Buffer.from(record, 'latin1');
    const strings: number[] = [];
    for (let i = 0; i < bytes.length || i === 0; i += 255) {
      const chunk = bytes.subarray(i, i + 255);
      strings.push(chunk.length, ...chunk);
      if (bytes.length === 0) break;
    }
    out.push(0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, strings.length >> 8, strings.length & 0xff, ...strings);
  }
  return new Uint8Array(out);
}

export interface DohControl {
  /** When true, every lookup fails as an unreachable resolver would. */
  down: boolean;
  /** Names asked, in order. */
  readonly asked: string[];
}

/** A `fetch` that serves RFC 8484 GET and POST queries for `zone` at DOH_URL, and nothing else. */
export function dohFetch(zone: () => Zone, control: DohControl): typeof fetch {
  return async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    if (control.down) throw new TypeError('fetch failed: resolver unreachable');
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (`${url.origin}${url.pathname}` !== DOH_URL) throw new TypeError(`fetch failed: ${url.href} is not the test resolver`);
    let query: Uint8Array;
    if ((init?.method ?? 'GET') === 'POST') query = new Uint8Array(await new Response(init?.body ?? null).arrayBuffer());
    else query = base64UrlToBytes(url.searchParams.get('dns') ?? '');
    const { name } = readQuestion(query);
    control.asked.push(name);
    const records = zone()[name];
    return new Response(Buffer.from(txtResponse(query, records && records.length > 0 ? records : undefined)), { status: 200, headers: { 'content-type': 'application/dns-message' } });
  };
}

// ------------------------------------------------------------------ ports

/** storage.local / storage.session: JSON round trip like the real one, every write kept. */
export class MemoryStorage implements StoragePort {
  data: Record<string, unknown> = {};
  /** Every value ever written, serialized, in order: what a disk image could show. */
  readonly writes: string[] = [];
  /** The whole store after each write or removal: the states a killed background can leave. */
  readonly snapshots: Record<string, unknown>[] = [];
  constructor(initial: Record<string, unknown> = {}) {
    this.data = structuredClone(initial);
  }
  get(keys: readonly string[]): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const k of keys) if (k in this.data) out[k] = structuredClone(this.data[k]);
    return Promise.resolve(out);
  }
  getAll(): Promise<Record<string, unknown>> {
    return Promise.resolve(structuredClone(this.data));
  }
  set(items: Record<string, unknown>): Promise<void> {
    const text = JSON.stringify(items);
    this.writes.push(text);
    Object.assign(this.data, JSON.parse(text) as Record<string, unknown>);
    this.snapshots.push(structuredClone(this.data));
    return Promise.resolve();
  }
  remove(keys: readonly string[]): Promise<void> {
    for (const k of keys) Reflect.deleteProperty(this.data, k);
    this.snapshots.push(structuredClone(this.data));
    return Promise.resolve();
  }
  enrollments(): Enrollment[] {
    return Object.entries(this.data)
      .filter(([k]) => k.startsWith(ENROLLMENT_PREFIX))
      .map(([, v]) => v as Enrollment);
  }
}

export interface ChallengeSetup {
  /** The challenge object's `from` (RFC 8823 §3.1). */
  readonly from: string;
  /** token-part2 of the challenge object. */
  readonly token: string;
  /** RFC 7638 thumbprint of the account key. */
  readonly thumbprint: string;
}

/** A small ACME server in memory: one authorization per order, valid once the challenge is POSTed. */
export class MemoryAcme implements AcmePort {
  readonly calls: string[] = [];
  posted = 0;
  finalized = 0;
  private orders = 0;
  private readonly emails = new Map<number, string>();
  constructor(
    private readonly challenge: ChallengeSetup,
    /** Issues the chain (PEM, leaf first) for a CSR; a placeholder when absent. */
    private readonly issue: (csrDer: Uint8Array) => Promise<string> = () => Promise.resolve('-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n'),
  ) {}
  private chain: string | undefined;
  caInfo(): Promise<{ externalAccountRequired: boolean; renewalInfo: boolean }> {
    this.calls.push('caInfo');
    return Promise.resolve({ externalAccountRequired: false, renewalInfo: false });
  }
  ensureAccount(_request: AccountRequest): Promise<{ accountUrl: string }> {
    this.calls.push('ensureAccount');
    return Promise.resolve({ accountUrl: 'https://ca.example/acme/acct/1' });
  }
  thumbprint(): Promise<string> {
    return Promise.resolve(this.challenge.thumbprint);
  }
  newOrder(_d: string, emails: readonly string[]): Promise<OrderInfo> {
    const email = emails.join(',');
    this.calls.push(`newOrder ${email}`);
    const n = ++this.orders;
    this.emails.set(n, email);
    return Promise.resolve({ url: `https://ca.example/acme/order/${n}`, status: 'pending', authorizations: [`https://ca.example/acme/authz/${n}`], finalize: `https://ca.example/acme/order/${n}/finalize` });
  }
  deactivateAuthorization(_d: string, url: string): Promise<void> {
    this.calls.push(`deactivateAuthorization ${url}`);
    return Promise.resolve();
  }
  getOrder(_d: string, url: string): Promise<OrderInfo> {
    this.calls.push('getOrder');
    const n = url.split('/').pop()!;
    const base = { url, authorizations: [`https://ca.example/acme/authz/${n}`], finalize: `${url}/finalize` };
    return Promise.resolve(this.finalized > 0 ? { ...base, status: 'valid', certificate: `${url}/cert` } : { ...base, status: 'ready' });
  }
  getAuthorization(_d: string, url: string): Promise<AuthorizationInfo> {
    this.calls.push('getAuthorization');
    const n = Number(url.split('/').pop());
    const status = this.posted > 0 ? 'valid' : 'pending';
    return Promise.resolve({
      url,
      status,
      identifier: { type: 'email', value: this.emails.get(n) ?? 'unknown@example.org' },
      challenge: { url: `https://ca.example/acme/chall/${n}`, status: status === 'valid' ? 'valid' : 'pending', token: this.challenge.token, from: this.challenge.from },
    });
  }
  respondToChallenge(): Promise<void> {
    this.calls.push('respondToChallenge');
    this.posted++;
    return Promise.resolve();
  }
  async finalize(_d: string, finalizeUrl: string, csrDer: Uint8Array): Promise<OrderInfo> {
    this.calls.push('finalize');
    this.finalized++;
    this.chain = await this.issue(csrDer);
    const url = finalizeUrl.replace(/\/finalize$/, '');
    return { url, status: 'valid', authorizations: [], finalize: finalizeUrl, certificate: `${url}/cert` };
  }
  async downloadCertificate(): Promise<string> {
    this.calls.push('downloadCertificate');
    // After a restart, this instance has not seen the finalize the CA remembers.
    this.chain ??= await this.issue(new Uint8Array());
    return this.chain;
  }
  revoke(): Promise<void> {
    return Promise.resolve();
  }
  revokeWithCertificateKey(): Promise<void> {
    return Promise.resolve();
  }
  renewalInfo(): Promise<undefined> {
    return Promise.resolve(undefined);
  }
  certificateId(): Promise<undefined> {
    return Promise.resolve(undefined);
  }
}

/** Thunderbird's mail store as the flow sees it: references plus the raw bytes. */
export class MemoryMailbox implements MailboxPort {
  readonly mails: { ref: MailRef; raw: Uint8Array }[] = [];
  recent(since: number): Promise<readonly MailRef[]> {
    return Promise.resolve(this.mails.filter((m) => m.ref.date >= since).map((m) => m.ref));
  }
  raw(mail: MailRef): Promise<Uint8Array> {
    const found = this.mails.find((m) => m.ref.id === mail.id) ?? this.mails.find((m) => m.ref.headerMessageId === mail.headerMessageId);
    return found ? Promise.resolve(found.raw) : Promise.reject(new Error('no such mail'));
  }
}

/** Compose: records every reply the flow hands to Thunderbird to send. */
export class RecordingReply implements ReplyPort {
  readonly sent: ReplyRequest[] = [];
  send(request: ReplyRequest): Promise<{ sent: true }> {
    this.sent.push(request);
    return Promise.resolve({ sent: true });
  }
}

/** A key port without crypto, for suites about mail: the "encrypted key" is an opaque tag. */
export class OpaqueKeys implements KeyPort {
  generate(emails: readonly string[]): Promise<GeneratedKey> {
    const email = emails.join(',');
    return Promise.resolve({ csrDer: new TextEncoder().encode(`CSR ${email}`), encryptedKey: new TextEncoder().encode(`SEALED ${email}`) });
  }
  buildPkcs12(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array([0x30, 0x00]));
  }
  csrForKey(_key: Uint8Array, _passphrase: string, emails: readonly string[]): Promise<Uint8Array> {
    return Promise.resolve(new TextEncoder().encode(`CSR ${emails.join(',')}`));
  }
  openPkcs12(): Promise<{ certificateDer: Uint8Array; pkcs8: Uint8Array }> {
    return Promise.reject(new Error('OpaqueKeys reads no .p12'));
  }
  buildImportPkcs12(): Promise<{ pkcs12: Uint8Array; secret: string }> {
    return Promise.resolve({ pkcs12: new Uint8Array([0x30, 0x00]), secret: 'one-time secret for tests' });
  }
  isStrongPkcs12(): boolean {
    return false;
  }
  inspect(): Promise<CertificateSummary> {
    return Promise.resolve({ emails: [], usage: 'both', notBefore: 0, notAfter: 90 * 86_400_000, sha256Fingerprint: 'AA', serialNumber: '01', issuer: 'CN=Test' });
  }
  leafDer(): Uint8Array {
    return new Uint8Array([0x30, 0x00]);
  }
  generatePassphrase(): string {
    return 'generated passphrase for tests';
  }
}

export class MemoryCertStore implements CertStorePort {
  readonly imported: { pkcs12: Uint8Array; passphrase: string; email: string }[] = [];
  readonly identities = new Map<string, { dbKey: string; usage: Usage }>();
  importPkcs12(pkcs12: Uint8Array, passphrase: string, email: string): Promise<InstalledCertificate> {
    this.imported.push({ pkcs12, passphrase, email });
    return Promise.resolve({ dbKey: `dbkey-${email}`, name: email });
  }
  setIdentityCertificates(identityId: string, cert: InstalledCertificate, usage: Usage): Promise<void> {
    this.identities.set(identityId, { dbKey: cert.dbKey, usage });
    return Promise.resolve();
  }
  clearIdentityCertificates(identityId: string): Promise<void> {
    this.identities.delete(identityId);
    return Promise.resolve();
  }
  private readonly usability = usabilityMethods();
  verifyCertificate = this.usability.verifyCertificate;
  findIssuerCandidates = this.usability.findIssuerCandidates;
  addIntermediates = this.usability.addIntermediates;
  trustRootForEmail = this.usability.trustRootForEmail;
  setSendDefaults = this.usability.setSendDefaults;
  exportPkcs12 = this.usability.exportPkcs12;
}

export interface FlowWorldOptions {
  readonly challenge: ChallengeSetup;
  /** storage.local and storage.session as a stopped background left them. */
  readonly storage?: Record<string, unknown>;
  readonly session?: Record<string, unknown>;
  readonly zone: () => Zone;
  readonly now: number;
  readonly keys?: KeyPort;
  readonly acme?: AcmePort;
  readonly settings?: Partial<Settings>;
}

/** One Thunderbird profile's worth of add-on state, with the real mail check inside. */
export class FlowWorld {
  now: number;
  readonly storage: MemoryStorage;
  readonly session: MemoryStorage;
  readonly mailbox = new MemoryMailbox();
  readonly reply = new RecordingReply();
  readonly certStore = new MemoryCertStore();
  readonly doh: DohControl = { down: false, asked: [] };
  readonly notices: Notice[] = [];
  readonly downloads: { filename: string; bytes: Uint8Array }[] = [];
  /** Everything the flow wrote to its debug log. */
  readonly logs: string[] = [];
  readonly acme: AcmePort;
  readonly keys: KeyPort;
  settings: Settings;
  private ids = 0;
  private mailIds = 0;

  constructor(private readonly options: FlowWorldOptions) {
    this.now = options.now;
    this.storage = new MemoryStorage(options.storage);
    this.session = new MemoryStorage(options.session);
    this.acme = options.acme ?? new MemoryAcme(options.challenge);
    this.keys = options.keys ?? new OpaqueKeys();
    this.settings = {
      ...DEFAULT_SETTINGS,
      directoryUrl: DIRECTORY,
      dohUrl: DOH_URL,
      // Long enough that the flow never POSTs first while a test is delivering mail.
      postChallengeAfterSeconds: 3600,
      trustedAuthservIds: [PROVIDER_AUTHSERV_ID],
      ...options.settings,
    };
  }

  deps(): EnrollerDeps {
    return {
      acme: this.acme,
      // The adapter the background builds (src/background), over the real src/messages.
      mailCheck: createMailCheckAdapter({ fetch: dohFetch(this.options.zone, this.doh), crypto, settings: () => Promise.resolve(this.settings), now: () => this.now }),
      mailbox: this.mailbox,
      reply: this.reply,
      keys: this.keys,
      certStore: this.certStore,
      storage: this.storage,
      session: this.session,
      clock: { now: () => this.now },
      notifier: {
        notify: (notice) => {
          this.notices.push(notice);
          return Promise.resolve();
        },
      },
      downloads: {
        offer: (filename, bytes) => {
          this.downloads.push({ filename, bytes });
          return Promise.resolve();
        },
      },
      log: {
        debug: (message) => {
          this.logs.push(message);
        },
      },
      settings: () => Promise.resolve(this.settings),
      randomId: () => `e${++this.ids}`,
      random: () => 0.5,
    };
  }

  enroller(): Enroller {
    return new Enroller(this.deps());
  }

  /** Puts a raw mail into the mailbox as Thunderbird would list it; returns its reference. */
  store(raw: string | Uint8Array, date: number, subject = subjectOf(raw)): MailRef {
    const bytes = typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw;
    const ref: MailRef = { id: ++this.mailIds, headerMessageId: messageIdOf(bytes) ?? `<no-id-${this.mailIds}@test>`, subject, author: 'sender', date };
    this.mailbox.mails.push({ ref, raw: new Uint8Array(bytes) });
    return ref;
  }

  /** Moves the clock and lets due enrollments act until nothing is due within `ms` (alarms). */
  async elapse(enroller: Enroller, ms: number): Promise<void> {
    const end = this.now + ms;
    for (let i = 0; i < 1000; i++) {
      const next = await enroller.nextWakeAt();
      if (next === undefined || next > end) break;
      this.now = Math.max(this.now, next);
      await enroller.tick();
    }
    this.now = end;
  }

  /** Stores a mail and fires messages.onNewMailReceived for it. */
  async deliver(enroller: Enroller, raw: string | Uint8Array, date = this.now, subject?: string): Promise<MailRef> {
    const ref = this.store(raw, date, subject);
    await enroller.onNewMail([ref]);
    return ref;
  }
}

function headerSection(raw: string | Uint8Array): string {
  const text = typeof raw === 'string' ? raw : Buffer.from(raw).toString('latin1');
  const lf = text.replace(/\r\n/g, '\n');
  const end = lf.indexOf('\n\n');
  return end < 0 ? lf : lf.slice(0, end);
}

/** The first field `name`, unfolded (as Thunderbird lists it; encoded-words left as they are). */
export function firstField(raw: string | Uint8Array, name: string): string | undefined {
  const re = new RegExp(`^${name}:([^\\n]*(?:\\n[ \\t][^\\n]*)*)`, 'im');
  return re.exec(headerSection(raw))?.[1]?.replace(/\n/g, '').trim();
}

export function subjectOf(raw: string | Uint8Array): string {
  return firstField(raw, 'subject') ?? '';
}

export function messageIdOf(raw: string | Uint8Array): string | undefined {
  return firstField(raw, 'message-id');
}

/**
 * The RFC 8823 §3.2 response value (string joining of the token halves), computed here
 * independently of src/messages: base64url(SHA-256(token-part1 || token-part2 "." thumbprint)).
 */
export function expectedResponseValue(tokenPart1: string, tokenPart2: string, thumbprint: string): string {
  return createHash('sha256').update(`${tokenPart1}${tokenPart2}.${thumbprint}`).digest('base64url');
}

/** The armoured value in a reply body, or undefined when the body is not exactly one armoured block. */
export function armouredValue(body: string): string | undefined {
  return /^-----BEGIN ACME RESPONSE-----\r?\n([A-Za-z0-9_-]{43})\r?\n-----END ACME RESPONSE-----\r?\n?$/.exec(body)?.[1];
}
