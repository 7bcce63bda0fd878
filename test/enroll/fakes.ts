/**
 * Fake ports for the enrollment state machine: each records what the flow asked of it and can
 * be scripted to fail, so tests assert behaviour (what was sent, stored, answered) rather than
 * internals.
 */
import { usabilityMethods, VERIFIES } from '../helpers/cert-store';
import {
  PortError,
  type AccountRequest,
  type AcmePort,
  type AuthorizationInfo,
  type CertStorePort,
  type ChallengeExpectation,
  type InstalledCertificate,
  type KeyPort,
  type KeyType,
  type MailboxPort,
  type MailCheckAnswer,
  type MailCheckPort,
  type MailRefusal,
  type MailRef,
  type Notice,
  type OrderInfo,
  type ReplyPort,
  type RefusalReason,
  type ReplyRequest,
  type RevocationReason,
  type StoragePort,
  type TokenJoin,
  type Usage,
  type CertificateVerification,
} from '../../src/enroll/ports';
import { Enroller, type EnrollerDeps } from '../../src/enroll/enroller';
import { DEFAULT_SETTINGS, type Settings } from '../../src/enroll/settings';

export const DIRECTORY = 'https://ca.test/directory';
export const CA_FROM = 'acme@ca.test';
export const DAY = 86_400_000;

/** storage.local/session: JSON round trip on every write, as the real storage clones values. */
export class FakeStorage implements StoragePort {
  data: Record<string, unknown>;
  /** A copy of the whole store after each write: the states a killed background could leave. */
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
    Object.assign(this.data, JSON.parse(JSON.stringify(items)) as Record<string, unknown>);
    this.snapshots.push(structuredClone(this.data));
    return Promise.resolve();
  }
  remove(keys: readonly string[]): Promise<void> {
    this.data = Object.fromEntries(Object.entries(this.data).filter(([k]) => !keys.includes(k)));
    this.snapshots.push(structuredClone(this.data));
    return Promise.resolve();
  }
}

type Scripted<T> = T | PortError;

/** A tiny ACME server in memory: one order, one authorization, scripted statuses. */
export class FakeAcme implements AcmePort {
  readonly calls: string[] = [];
  /** Statuses the authorization reports on successive fetches after the first; the last repeats. */
  authzAfterPost: AuthorizationInfo['status'][] = ['valid'];
  authzInitial: AuthorizationInfo['status'] = 'pending';
  authzRetryAfterMs: number | undefined;
  challengeError: { type: string; detail: string } | undefined;
  offerChallenge = true;
  orderStatusAfterFinalize: OrderInfo['status'][] = ['valid'];
  orderRetryAfterMs: number | undefined;
  ari: { start: number; end: number } | undefined;
  /** Failures to throw, per method name, consumed in order. */
  readonly failures = new Map<string, Scripted<never>[]>();
  posted = 0;
  finalized = 0;
  /** Orders (by number) whose challenge was POSTed / which were finalized: a renewal's order starts afresh. */
  private readonly postedOrders = new Set<string>();
  private readonly finalizedOrders = new Set<string>();
  /** A test that sets `posted` / `finalized` itself (what the CA remembers after a restart) means the one order it has. */
  private wasPosted(n: string): boolean {
    return this.postedOrders.size === 0 ? this.posted > 0 : this.postedOrders.has(n);
  }
  private wasFinalized(n: string): boolean {
    return this.finalizedOrders.size === 0 ? this.finalized > 0 : this.finalizedOrders.has(n);
  }
  revoked: { der: Uint8Array; reason: RevocationReason }[] = [];
  /** Revocations signed by the certificate's key: the CA checks that the key is the certificate's. */
  revokedByKey: { directoryUrl: string; der: Uint8Array; pkcs8: string; reason: RevocationReason }[] = [];
  /** CSRs sent to finalize, as text (the fake CSR names its key). */
  readonly finalizedCsrs: string[] = [];
  private orders = 0;
  private authzFetches = 0;
  private orderFetches = 0;
  /** Authorization id (`<order>` for the first address, `<order>-<i>` for the others) → its address. */
  private readonly perAuthz = new Map<string, string>();
  private readonly orderAuthzs = new Map<string, string[]>();
  /** Authorizations the flow deactivated (RFC 8555 §7.5.2). */
  readonly deactivated: string[] = [];

  failNext(method: string, ...errors: PortError[]): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), ...errors]);
  }

  private enter(method: string, detail = ''): void {
    this.calls.push(detail === '' ? method : `${method} ${detail}`);
    const queue = this.failures.get(method);
    const next = queue?.shift();
    if (next) throw next;
  }

  caInfo(): Promise<{ externalAccountRequired: boolean; renewalInfo: boolean; termsOfService: string }> {
    this.enter('caInfo');
    return Promise.resolve({ externalAccountRequired: false, renewalInfo: this.ari !== undefined, termsOfService: 'https://ca.test/terms' });
  }
  ensureAccount(_request: AccountRequest): Promise<{ accountUrl: string }> {
    this.enter('ensureAccount');
    return Promise.resolve({ accountUrl: 'https://ca.test/acct/1' });
  }
  thumbprint(): Promise<string> {
    this.enter('thumbprint');
    return Promise.resolve('THUMB');
  }
  newOrder(_d: string, emails: readonly string[], replaces?: string): Promise<OrderInfo> {
    const listed = emails.join(',');
    this.enter('newOrder', replaces === undefined ? listed : `${listed} replaces=${replaces}`);
    const n = ++this.orders;
    const ids = emails.map((email, i) => {
      const id = i === 0 ? String(n) : `${n}-${i + 1}`;
      this.perAuthz.set(id, email);
      return id;
    });
    this.orderAuthzs.set(String(n), ids);
    return Promise.resolve({ url: `https://ca.test/order/${n}`, status: 'pending', authorizations: ids.map((id) => `https://ca.test/authz/${id}`), finalize: `https://ca.test/order/${n}/finalize` });
  }
  deactivateAuthorization(_d: string, url: string): Promise<void> {
    this.enter('deactivateAuthorization', url);
    this.deactivated.push(url);
    return Promise.resolve();
  }
  getOrder(_d: string, url: string): Promise<OrderInfo> {
    this.enter('getOrder');
    const n = url.split('/').pop()!;
    const base = { url, authorizations: (this.orderAuthzs.get(n) ?? [n]).map((id) => `https://ca.test/authz/${id}`), finalize: `${url}/finalize` };
    if (!this.wasFinalized(n)) return Promise.resolve({ ...base, status: 'ready' });
    const status = this.orderStatusAfterFinalize[Math.min(this.orderFetches++, this.orderStatusAfterFinalize.length - 1)]!;
    return Promise.resolve(this.orderInfo(base, status));
  }
  private orderInfo(base: Omit<OrderInfo, 'status'>, status: OrderInfo['status']): OrderInfo {
    const extra = status === 'valid' ? { certificate: `${base.url}/cert` } : status === 'invalid' ? { error: { type: 'urn:ietf:params:acme:error:badCSR', detail: 'CSR refused' } } : {};
    return { ...base, status, ...extra, ...(this.orderRetryAfterMs === undefined ? {} : { retryAfterMs: this.orderRetryAfterMs }) };
  }
  getAuthorization(_d: string, url: string): Promise<AuthorizationInfo> {
    this.enter('getAuthorization');
    const n = url.split('/').pop()!;
    const email = this.perAuthz.get(n) ?? 'unknown@x';
    const status = !this.wasPosted(n) ? this.authzInitial : this.authzAfterPost[Math.min(this.authzFetches++, this.authzAfterPost.length - 1)]!;
    const challenge = this.offerChallenge
      ? { challenge: { url: `https://ca.test/chall/${n}`, status: status === 'invalid' ? ('invalid' as const) : ('pending' as const), token: `T2-${n}`, from: CA_FROM, ...(status === 'invalid' && this.challengeError ? { error: this.challengeError } : {}) } }
      : {};
    return Promise.resolve({ url, status, identifier: { type: 'email', value: email }, ...challenge, ...(this.authzRetryAfterMs === undefined ? {} : { retryAfterMs: this.authzRetryAfterMs }) });
  }
  respondToChallenge(_d?: string, challengeUrl?: string): Promise<void> {
    this.enter('respondToChallenge');
    this.posted++;
    this.postedOrders.add(challengeUrl?.split('/').pop() ?? '1');
    return Promise.resolve();
  }
  finalize(_d: string, finalizeUrl: string, csrDer?: Uint8Array): Promise<OrderInfo> {
    this.enter('finalize');
    if (csrDer !== undefined) this.finalizedCsrs.push(new TextDecoder().decode(csrDer));
    this.finalized++;
    const url = finalizeUrl.replace(/\/finalize$/, '');
    this.finalizedOrders.add(url.split('/').pop()!);
    const status = this.orderStatusAfterFinalize[Math.min(this.orderFetches++, this.orderStatusAfterFinalize.length - 1)]!;
    return Promise.resolve(this.orderInfo({ url, authorizations: [], finalize: finalizeUrl }, status));
  }
  downloadCertificate(_d?: string, url?: string): Promise<string> {
    this.enter('downloadCertificate');
    // The first order's certificate is LEAF; a later order's (a renewal) names its order.
    const n = Number(url?.split('/').at(-2) ?? '1');
    return Promise.resolve(`-----BEGIN CERTIFICATE-----\n${n > 1 ? `LEAF${n}` : 'LEAF'}\n-----END CERTIFICATE-----\n`);
  }
  revoke(_d: string, der: Uint8Array, reason: RevocationReason): Promise<void> {
    this.enter('revoke');
    this.revoked.push({ der, reason });
    return Promise.resolve();
  }
  revokeWithCertificateKey(directoryUrl: string, der: Uint8Array, pkcs8: Uint8Array, reason: RevocationReason): Promise<void> {
    this.enter('revokeWithCertificateKey');
    const key = new TextDecoder().decode(pkcs8);
    if (key !== `PKCS8(${new TextDecoder().decode(der)})`) return Promise.reject(new PortError('problem', 'the JWS key is not the certificate key', { problem: { type: 'urn:ietf:params:acme:error:unauthorized', status: 403 } }));
    this.revokedByKey.push({ directoryUrl, der, pkcs8: key, reason });
    return Promise.resolve();
  }
  renewalInfo(): Promise<{ start: number; end: number } | undefined> {
    this.enter('renewalInfo');
    return Promise.resolve(this.ari);
  }
  certificateId(): Promise<string | undefined> {
    this.enter('certificateId');
    return Promise.resolve(this.ari ? 'AKI.SERIAL' : undefined);
  }
}

/** A challenge mail as the fake mailbox holds it; `raw` is what the fake checker reads. */
export interface FakeMail extends MailRef {
  readonly to: string;
  /** What the fake checker decides for this mail. */
  readonly verdict: 'answer' | readonly RefusalReason[];
}

let mailCounter = 0;
export function challengeMail(to: string, options: Partial<FakeMail> = {}): FakeMail {
  mailCounter++;
  return { id: mailCounter, headerMessageId: `<challenge-${mailCounter}@ca.test>`, subject: `ACME: TOKEN1-${mailCounter}`, author: CA_FROM, date: 0, to, verdict: 'answer', ...options };
}

export class FakeMailbox implements MailboxPort {
  readonly mails: FakeMail[] = [];
  readonly rawFetched: string[] = [];
  recent(since: number): Promise<readonly MailRef[]> {
    return Promise.resolve(this.mails.filter((m) => m.date >= since));
  }
  raw(mail: MailRef): Promise<Uint8Array> {
    this.rawFetched.push(mail.headerMessageId);
    const found = this.mails.find((m) => m.headerMessageId === mail.headerMessageId);
    if (!found) return Promise.reject(new Error('no such mail'));
    return Promise.resolve(new TextEncoder().encode(JSON.stringify({ id: found.headerMessageId })));
  }
  byRaw(raw: Uint8Array): FakeMail {
    const { id } = JSON.parse(new TextDecoder().decode(raw)) as { id: string };
    return this.mails.find((m) => m.headerMessageId === id)!;
  }
}

export class FakeMailCheck implements MailCheckPort {
  readonly checked: { id: string; expectation: ChallengeExpectation }[] = [];
  constructor(private readonly mailbox: FakeMailbox) {}
  addressedTo(raw: Uint8Array): readonly string[] {
    return [this.mailbox.byRaw(raw).to];
  }
  check(raw: Uint8Array, expectation: ChallengeExpectation): Promise<MailCheckAnswer | MailRefusal> {
    const mail = this.mailbox.byRaw(raw);
    this.checked.push({ id: mail.headerMessageId, expectation });
    if (mail.verdict !== 'answer') return Promise.resolve({ verdict: 'refuse', reasons: mail.verdict, detail: `refused: ${mail.verdict.join(',')}` });
    const token1 = mail.subject.slice('ACME: '.length);
    return Promise.resolve({
      verdict: 'answer',
      tokenPart1: token1,
      replyTo: mail.author,
      replySubject: `Re: ${mail.subject}`,
      body: `-----BEGIN ACME RESPONSE-----\n${token1}.${expectation.tokenPart2}.${expectation.thumbprint}\n-----END ACME RESPONSE-----\n`,
      joinUsed: expectation.tokenJoin,
      authenticity: 'DKIM d=ca.test',
    });
  }
  respond(subject: string, tokenPart2: string, thumbprint: string, join: TokenJoin): Promise<string> {
    if (!subject.startsWith('ACME: ')) return Promise.reject(new PortError('fatal', 'not a challenge subject'));
    return Promise.resolve(`RESPONSE ${subject.slice(6)} ${tokenPart2} ${thumbprint} ${join}`);
  }
}

export class FakeReply implements ReplyPort {
  readonly sent: ReplyRequest[] = [];
  mismatch: string[] | undefined;
  failures: Error[] = [];
  send(request: ReplyRequest): Promise<{ sent: true } | { sent: false; mismatch: readonly string[] }> {
    const failure = this.failures.shift();
    if (failure) return Promise.reject(failure);
    if (this.mismatch) return Promise.resolve({ sent: false, mismatch: this.mismatch });
    this.sent.push(request);
    return Promise.resolve({ sent: true });
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** "Encrypts" by tagging with the passphrase's length and a checksum: enough to detect a wrong one, and no clear key. */
export class FakeKeys implements KeyPort {
  generated: { email: string; emails: readonly string[]; keyType: KeyType; usage: Usage }[] = [];
  /** Keys made so far: each key is named, and the fake CSR names the key it was made with. */
  private keyCount = 0;
  /** What a fake `.p12` holds (bytes `P12FILE:<name>`): its passphrase, certificate and key. */
  readonly p12Files = new Map<string, { passphrase: string; certificate: string; key: string }>();
  notBefore = 0;
  lifetime = 90 * DAY;
  generate(emails: readonly string[], keyType: KeyType, usage: Usage, passphrase: string): Promise<{ csrDer: Uint8Array; encryptedKey: Uint8Array }> {
    const email = emails[0]!;
    this.generated.push({ email, emails, keyType, usage });
    const key = `KEY${++this.keyCount}-${email}`;
    return Promise.resolve({ csrDer: enc.encode(`CSR:${emails.join(',')}:${key}`), encryptedKey: enc.encode(`ENC(${hash(passphrase)}):${key}`) });
  }
  csrForKey(encryptedKey: Uint8Array, passphrase: string, emails: readonly string[]): Promise<Uint8Array> {
    const text = dec.decode(encryptedKey);
    const prefix = `ENC(${hash(passphrase)}):`;
    if (!text.startsWith(prefix)) return Promise.reject(new PortError('wrongPassphrase', 'wrong passphrase'));
    return Promise.resolve(enc.encode(`CSR:${emails.join(',')}:${text.slice(prefix.length)}`));
  }
  openPkcs12(pkcs12: Uint8Array, passphrase: string): Promise<{ certificateDer: Uint8Array; pkcs8: Uint8Array }> {
    const file = this.p12Files.get(dec.decode(pkcs12).replace(/^P12FILE:/, ''));
    if (!file) return Promise.reject(new PortError('fatal', 'not a PKCS#12 file'));
    if (file.passphrase !== passphrase) return Promise.reject(new PortError('wrongPassphrase', 'wrong passphrase'));
    return Promise.resolve({ certificateDer: enc.encode(file.certificate), pkcs8: enc.encode(file.key) });
  }
  buildPkcs12(encryptedKey: Uint8Array, passphrase: string, chainPem: string, friendlyName: string): Promise<Uint8Array> {
    const text = dec.decode(encryptedKey);
    if (!text.startsWith(`ENC(${hash(passphrase)}):`)) return Promise.reject(new PortError('wrongPassphrase', 'wrong passphrase'));
    return Promise.resolve(enc.encode(`P12[${friendlyName}|${chainPem.length}]`));
  }
  /** As buildPkcs12, under a one-time secret instead of the passphrase. */
  async buildImportPkcs12(encryptedKey: Uint8Array, passphrase: string, chainPem: string, friendlyName: string): Promise<{ pkcs12: Uint8Array; secret: string }> {
    const strong = await this.buildPkcs12(encryptedKey, passphrase, chainPem, friendlyName);
    return { pkcs12: enc.encode(`ONCE${dec.decode(strong)}`), secret: 'one-time-secret' };
  }
  /** Fake files are strong only when this fake's buildPkcs12 made them. */
  isStrongPkcs12(pkcs12: Uint8Array): boolean {
    return dec.decode(pkcs12).startsWith('P12[');
  }
  inspect(chainPem = ''): Promise<{ emails: string[]; usage: Usage; notBefore: number; notAfter: number; sha256Fingerprint: string; serialNumber: string; issuer: string }> {
    // Each certificate its own fingerprint: AB:CD for the first order's, AB:CD:<n> for a later one's.
    // A chain from FakeAcme names its leaf in clear; a certificate out of a fake .p12 comes base64-encoded.
    const text = chainPem.includes('LEAF') ? chainPem : atob(chainPem.replace(/-----[^-]+-----|\s/g, ''));
    const leaf = /LEAF(\d*)/.exec(text)?.[1] ?? '';
    return Promise.resolve({ emails: ['x'], usage: 'both', notBefore: this.notBefore, notAfter: this.notBefore + this.lifetime, sha256Fingerprint: leaf === '' ? 'AB:CD' : `AB:CD:${leaf}`, serialNumber: '01', issuer: 'CN=Fake CA' });
  }
  leafDer(): Uint8Array {
    return enc.encode('LEAF-DER');
  }
  generatePassphrase(): string {
    return 'generated-passphrase-123';
  }
}

function hash(text: string): string {
  let h = 7;
  for (const c of text) h = (h * 31 + c.charCodeAt(0)) % 1_000_003;
  return String(h);
}

export class FakeCertStore implements CertStorePort {
  readonly imported: { email: string; passphrase: string }[] = [];
  readonly identities = new Map<string, { dbKey: string; usage: Usage }>();
  failImport: Error | undefined;
  importPkcs12(_p12: Uint8Array, passphrase: string, email: string): Promise<InstalledCertificate> {
    if (this.failImport) return Promise.reject(this.failImport);
    this.imported.push({ email, passphrase });
    // A second certificate for the same address (a renewal) gets its own key in the store.
    const n = this.imported.filter((i) => i.email === email).length;
    return Promise.resolve({ dbKey: n === 1 ? `DBKEY-${email}` : `DBKEY-${email}#${n}`, name: `cert ${email}` });
  }
  setIdentityCertificates(identityId: string, cert: InstalledCertificate, usage: Usage): Promise<void> {
    this.identities.set(identityId, { dbKey: cert.dbKey, usage });
    return Promise.resolve();
  }
  clearIdentityCertificates(identityId: string, dbKey: string): Promise<void> {
    if (this.identities.get(identityId)?.dbKey === dbKey) this.identities.delete(identityId);
    return Promise.resolve();
  }
  /** What NSS answers: usable unless a test says otherwise. */
  verification: CertificateVerification = VERIFIES;
  readonly sendDefaults: [string, boolean, boolean][] = [];
  private readonly usability = usabilityMethods(() => this.verification, this.sendDefaults);
  verifyCertificate = this.usability.verifyCertificate;
  findIssuerCandidates = this.usability.findIssuerCandidates;
  addIntermediates = this.usability.addIntermediates;
  trustRootForEmail = this.usability.trustRootForEmail;
  setSendDefaults = this.usability.setSendDefaults;
  /** Thunderbird's export: as strong as ours (the default), weaker (then the flow builds its own), or failing. */
  exportResult: 'strong' | 'weak' | 'fail' = 'strong';
  readonly exports: { dbKey: string; passphrase: string }[] = [];
  exportPkcs12(dbKey: string, passphrase: string): Promise<Uint8Array> {
    this.exports.push({ dbKey, passphrase });
    if (this.exportResult === 'fail') return Promise.reject(new Error('export failed'));
    return Promise.resolve(new TextEncoder().encode(this.exportResult === 'strong' ? `P12[exported ${dbKey}]` : `WEAK[${dbKey}]`));
  }
}

export class World {
  now = 1_000_000;
  readonly storage: FakeStorage;
  readonly session: FakeStorage;
  readonly acme = new FakeAcme();
  readonly mailbox = new FakeMailbox();
  readonly mailCheck = new FakeMailCheck(this.mailbox);
  readonly reply = new FakeReply();
  readonly keys = new FakeKeys();
  readonly certStore = new FakeCertStore();
  readonly notices: Notice[] = [];
  readonly downloads: { filename: string; bytes: Uint8Array }[] = [];
  readonly log: string[] = [];
  settings: Settings = { ...DEFAULT_SETTINGS, directoryUrl: DIRECTORY, postChallengeAfterSeconds: 60 };
  private ids = 0;

  constructor(storage: Record<string, unknown> = {}, session: Record<string, unknown> = {}) {
    this.storage = new FakeStorage(storage);
    this.session = new FakeStorage(session);
  }

  deps(): EnrollerDeps {
    return {
      acme: this.acme,
      mailCheck: this.mailCheck,
      mailbox: this.mailbox,
      reply: this.reply,
      keys: this.keys,
      certStore: this.certStore,
      storage: this.storage,
      session: this.session,
      clock: { now: () => this.now },
      notifier: { notify: (notice) => { this.notices.push(notice); return Promise.resolve(); } },
      downloads: { offer: (filename, bytes) => { this.downloads.push({ filename, bytes }); return Promise.resolve(); } },
      log: { debug: (m) => this.log.push(m) },
      settings: () => Promise.resolve(this.settings),
      randomId: () => `e${++this.ids}`,
      random: () => 0.5,
    };
  }

  enroller(): Enroller {
    return new Enroller(this.deps());
  }

  /** Delivers a mail: into the mailbox (for scans) and as a new-mail event. */
  deliver(enroller: Enroller, mail: FakeMail): Promise<void> {
    const dated = { ...mail, date: mail.date === 0 ? this.now : mail.date };
    this.mailbox.mails.push(dated);
    return enroller.onNewMail([dated]);
  }

  /** Moves the clock and lets due enrollments act, repeatedly, until nothing is due within `ms`. */
  async elapse(enroller: Enroller, ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      const next = await enroller.nextWakeAt();
      if (next === undefined || next > end) break;
      this.now = Math.max(this.now, next);
      await enroller.tick();
    }
    this.now = end;
  }
}
