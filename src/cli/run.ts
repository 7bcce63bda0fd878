/**
 * One run of the enrollment flow from the command line: the same `Enroller` as the add-on, given
 * Node ports — a JSON file for storage, memory for the session, a key file per CA, IMAP/SMTP (or
 * the terminal, in manual mode) for mail, files for the certificate — and driven by a small loop
 * that does what the add-on's event page does: new mail → `onNewMail`, timers → `tick`.
 */
import { webcrypto } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { addressesOf } from '../enroll/addresses';
import { createAcmeAdapter } from '../enroll/adapters/acme';
import { createKeysAdapter } from '../enroll/adapters/keys';
import { createMailCheckAdapter } from '../enroll/adapters/mail-check';
import { Enroller } from '../enroll/enroller';
import type { AcmePort, KeyPort, KeyType, MailRef, TokenJoinSetting, Usage } from '../enroll/ports';
import { DEFAULT_SETTINGS, type Settings } from '../enroll/settings';
import { isTerminal, type Enrollment } from '../enroll/state';
import { createCsr, encryptPrivateKey, importPrivateKeyPem } from '../pkcs12/index';
import { FileAccountStore } from './node/accounts';
import { fetchTrusting } from './node/fetch';
import { FileDownloads, NoCertStore, ensureOutDir, outputPaths, type OutputPaths } from './node/files';
import { createMailWorld, type Credentials, type MailAccount, type MailWorld, type ServerSettings } from './node/mail';
import { createManualMail, type ManualMail } from './node/manual';
import { Progress } from './node/progress';
import { FileStorage, MemorySession, writeAtomically } from './node/storage';

export const crypto = webcrypto as unknown as Crypto;

/** Exit codes, for scripts and cron (listed in `acme-email --help`). */
export const EXIT = {
  ok: 0,
  /** The CA refused, the challenge failed, no authentic challenge mail came in time, a mail was refused (manual). */
  failed: 1,
  /** Bad options or an input file that cannot be used. */
  usage: 2,
  /** The CA or the DNS-over-HTTPS resolver could not be reached, even after retries. */
  network: 3,
  /** The IMAP or SMTP server could not be reached or refused the login. */
  mailServer: 4,
  /** Another acme-email is working in the same state folder. */
  locked: 5,
  /** Stopped by Ctrl-C or SIGTERM. */
  interrupted: 130,
} as const;

/** How to reach one mailbox; passwords and tokens stay in their files and are read at each run. */
export interface MailboxConfig {
  readonly addresses: readonly string[];
  readonly imap: ServerSettings;
  readonly smtp: ServerSettings;
  readonly user: string;
  readonly passwordFile?: string;
  readonly oauth2TokenFile?: string;
}

/** Everything a run needs, as given on the command line; kept per certificate so `renew` can run it again. */
export interface RunConfig {
  readonly directoryUrl: string;
  readonly emails: readonly string[];
  readonly keyType: KeyType;
  readonly usage: Usage;
  readonly tokenJoin: TokenJoinSetting;
  /** An existing key (PEM) to certify instead of a new one. */
  readonly keyFile?: string;
  readonly eab?: { readonly kid: string; readonly hmacKeyFile: string };
  readonly trustFiles: readonly string[];
  readonly dohUrl: string;
  readonly outDir: string;
  readonly passphraseFile?: string;
  readonly mail: { readonly mode: 'imap'; readonly mailboxes: readonly MailboxConfig[] } | { readonly mode: 'manual' };
  readonly postAfterSeconds: number;
  readonly timeoutMinutes: number;
  /** Ask on the terminal before each reply (the add-on's "ask before replying"); never in `renew`. */
  readonly ask?: boolean;
  /**
   * Every address in one certificate (one order, an `email` identifier each), owned by the
   * first; absent: a certificate per address.
   */
  readonly oneCertificate?: boolean;
}

/** The addresses that get a certificate of their own in this run: all, or with --one-certificate the first. */
export function certificateOwners(config: Pick<RunConfig, 'emails' | 'oneCertificate'>): readonly string[] {
  return config.oneCertificate === true ? config.emails.slice(0, 1) : config.emails;
}

/** A file the run needs and cannot use: exit 2, the message names it. */
export class InputFileError extends Error {
  override readonly name = 'InputFileError';
}

export function readSmallFile(path: string, what: string): string {
  try {
    const text = readFileSync(path, 'utf8');
    if (text.length > 1 << 20) throw new InputFileError(`${what} "${path}" is larger than 1 MiB`);
    return text;
  } catch (error) {
    if (error instanceof InputFileError) throw error;
    throw new InputFileError(`cannot read ${what} "${path}" (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
}

/** A secret file's first line; empty is an error. */
export function readSecret(path: string, what: string): string {
  const first = readSmallFile(path, what).split(/\r?\n/)[0] ?? '';
  if (first === '') throw new InputFileError(`${what} "${path}" is empty`);
  return first;
}

function credentialsOf(box: MailboxConfig): Credentials {
  if (box.oauth2TokenFile !== undefined) return { user: box.user, accessToken: readSecret(box.oauth2TokenFile, 'OAuth2 token file') };
  if (box.passwordFile !== undefined) return { user: box.user, password: readSecret(box.passwordFile, 'password file') };
  throw new InputFileError(`no password file or OAuth2 token file for ${box.user}`);
}

/** The passphrase an earlier run wrote beside the .p12, if there is a usable one. */
function earlierPassphrase(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const text = readSecret(path, 'passphrase file');
  return text.length >= 8 ? text : undefined;
}

/** --key: certify an existing key; the flow still keeps it only encrypted, as its own. */
function withExistingKey(keys: KeyPort, pem: string): KeyPort {
  return {
    ...keys,
    async generate(emails, _keyType, usage, passphrase) {
      const pair = await importPrivateKeyPem(pem, crypto, { extractable: true });
      const csrDer = await createCsr({ keys: pair, emails, usage }, crypto);
      return { csrDer, encryptedKey: await encryptPrivateKey(pair.privateKey, passphrase, crypto) };
    },
  };
}

export interface RunContext {
  readonly enroller: Enroller;
  readonly acme: AcmePort;
  readonly keys: KeyPort;
  readonly storage: FileStorage;
  readonly progress: Progress;
  readonly downloads: FileDownloads;
  readonly manual: ManualMail | undefined;
  readonly config: RunConfig;
  /** The passphrase of each certificate's owner for this run (given in a file, or generated and written beside the .p12). */
  readonly passphrases: ReadonlyMap<string, string>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves at the next new mail, or after `ms`. */
  waitForMail(ms: number): Promise<void>;
  /** The new mail reported since the last call. */
  takeMail(): MailRef[];
}

export interface ContextOptions {
  readonly stateDir: string;
  readonly progress: Progress;
  readonly storage: FileStorage;
  /** For tests: a shorter KDF than the default 600 000 rounds is never used by the command. */
  readonly iterations?: number;
}

export function createRunContext(config: RunConfig, options: ContextOptions): RunContext {
  const trust = config.trustFiles.map((path) => readSmallFile(path, 'trust root'));
  const fetch = fetchTrusting(trust);
  const eab = config.eab === undefined ? undefined : { keyId: config.eab.kid, hmacKey: readSecret(config.eab.hmacKeyFile, 'EAB HMAC key file') };
  const settings: Settings = {
    ...DEFAULT_SETTINGS,
    directoryUrl: config.directoryUrl,
    eabKeyId: eab?.keyId ?? '',
    eabHmacKey: eab?.hmacKey ?? '',
    tokenJoin: config.tokenJoin,
    keyType: config.keyType,
    usage: config.usage,
    askBeforeReplying: config.ask === true,
    dohUrl: config.dohUrl,
    postChallengeAfterSeconds: config.postAfterSeconds,
    validationTimeoutMinutes: config.timeoutMinutes,
    keepKey: false,
    debugLog: false,
    // `acme-email renew` decides and runs renewals itself; the flow's check only refreshes dates.
    autoRenew: 'off',
  };
  const baseKeys = createKeysAdapter({ crypto, ...(options.iterations === undefined ? {} : { iterations: options.iterations }) });
  const keys = config.keyFile === undefined ? baseKeys : withExistingKey(baseKeys, readSmallFile(config.keyFile, 'key file'));
  const passphrases = new Map<string, string>();
  const generated = new Set<string>();
  const given = config.passphraseFile === undefined ? undefined : readSecret(config.passphraseFile, 'passphrase file');
  for (const email of certificateOwners(config)) {
    const key = email.toLowerCase();
    if (given !== undefined) passphrases.set(key, given);
    else {
      // A renewal (or a second cert run) keeps the passphrase already beside the .p12, so whatever
      // reads the file with it keeps working; only the first run makes one.
      passphrases.set(key, earlierPassphrase(outputPaths(config.outDir, key).passphrase) ?? keys.generatePassphrase());
      generated.add(key);
    }
  }
  const downloads = new FileDownloads(config.outDir, (email) => (generated.has(email) ? passphrases.get(email) : undefined));
  const acme = createAcmeAdapter({ fetch, crypto, accounts: new FileAccountStore(options.stateDir, crypto) });

  let wake: (() => void) | undefined;
  const pendingMail: MailRef[] = [];
  const onNew = (mails: MailRef[]): void => {
    pendingMail.push(...mails);
    wake?.();
  };
  const progress = options.progress;
  let world: MailWorld | undefined;
  let manual: ManualMail | undefined;
  if (config.mail.mode === 'imap') {
    const accounts: MailAccount[] = config.mail.mailboxes.map((box) => ({ addresses: box.addresses, imap: box.imap, smtp: box.smtp, credentials: credentialsOf(box), ca: trust }));
    world = createMailWorld(accounts, onNew, (text) => { progress.debug(text); });
  } else {
    manual = createManualMail(onNew);
  }
  const mailbox = world?.mailbox ?? manual!.mailbox;
  const reply = world?.reply ?? manual!.reply;

  const enroller = new Enroller({
    acme,
    mailCheck: createMailCheckAdapter({ fetch, crypto, settings: () => Promise.resolve(settings), now: () => Date.now() }),
    mailbox,
    reply,
    keys,
    certStore: new NoCertStore(),
    storage: options.storage,
    session: new MemorySession(),
    clock: { now: () => Date.now() },
    notifier: progress,
    downloads,
    log: progress,
    settings: () => Promise.resolve(settings),
    randomId: () => crypto.randomUUID(),
    random: () => crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32,
  });

  return {
    enroller,
    acme,
    keys,
    storage: options.storage,
    progress,
    downloads,
    manual,
    config,
    passphrases,
    start: async () => {
      await world?.start();
    },
    stop: async () => {
      await world?.stop();
    },
    async waitForMail(ms) {
      if (pendingMail.length > 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done(): void {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
    },
    takeMail: () => pendingMail.splice(0),
  };
}

/** Stale work in the state folder: enrollments a killed run left (their passphrase is gone with it). */
export async function cancelStale(ctx: RunContext): Promise<void> {
  for (const e of await ctx.enroller.list()) {
    if (!isTerminal(e.step)) {
      ctx.progress.line(`${e.email}: an unfinished request of an earlier run is cancelled (its passphrase was only in that run's memory)`);
      await ctx.enroller.cancel(e.id);
    }
    await ctx.enroller.dismiss(e.id);
  }
}

/** Drives the enrollments `ids` until each has ended (installed, failed, cancelled) or `stopped()` says so. */
export async function driveUntilDone(ctx: RunContext, ids: readonly string[], stopped: () => boolean): Promise<Enrollment[]> {
  for (;;) {
    const mine = (await ctx.enroller.list()).filter((e) => ids.includes(e.id));
    if (mine.every((e) => isTerminal(e.step)) || stopped()) return mine;
    const next = await ctx.enroller.nextWakeAt();
    // IDLE wakes the loop at once; the 5 s bound only covers a mail IDLE did not report.
    const delay = Math.min(Math.max((next ?? Infinity) - Date.now(), 20), 5_000);
    await ctx.waitForMail(delay);
    const mails = ctx.takeMail();
    if (mails.length > 0) {
      await ctx.enroller.onNewMail(mails).catch((error: unknown) => {
        ctx.progress.debug(`new mail: ${error instanceof Error ? error.message : String(error)}`);
      });
    }
    await ctx.enroller.tick().catch((error: unknown) => {
      ctx.progress.debug(`tick: ${error instanceof Error ? error.message : String(error)}`);
    });
  }
}

/** What one certificate's owner got, for the summary (and --json). */
export interface Outcome {
  readonly email: string;
  /** Every address of a certificate for several (the owner first); absent for one. */
  readonly addresses?: readonly string[];
  readonly step: Enrollment['step'];
  readonly files?: OutputPaths & { readonly passphraseGenerated: boolean };
  readonly certificate?: { readonly serialNumber: string; readonly notAfter: string; readonly sha256Fingerprint: string; readonly issuer: string; readonly renewAt: string };
  readonly error?: { readonly code: string; readonly message: string; readonly problem?: unknown; readonly link?: string };
  readonly refusals: readonly { readonly messageId: string; readonly reasons: readonly string[]; readonly detail: string }[];
}

/** After an enrollment ended: the chain file beside the .p12, and what to report. */
export async function finish(ctx: RunContext, e: Enrollment): Promise<Outcome> {
  const refusals = e.refusals.map((r) => ({ messageId: r.headerMessageId, reasons: r.reasons, detail: r.detail }));
  const addresses = addressesOf(e).map((a) => a.email);
  const base = { email: e.email, ...(addresses.length > 1 ? { addresses } : {}), step: e.step, refusals };
  if (e.step !== 'installed') {
    return e.error ? { ...base, error: { code: e.error.code, message: e.error.message, ...(e.error.problem ? { problem: e.error.problem } : {}), ...(e.error.link === undefined ? {} : { link: e.error.link }) } } : base;
  }
  const record = await ctx.enroller.certificate(e.identityId);
  const email = e.email.toLowerCase();
  const failure = ctx.downloads.failures.get(email);
  const written = ctx.downloads.written.get(email);
  if (!record || failure || !written) {
    return { ...base, step: 'failed', error: { code: 'install', message: failure?.message ?? 'the PKCS#12 was not written' } };
  }
  const paths = outputPaths(ctx.config.outDir, email);
  ensureOutDir(ctx.config.outDir);
  writeAtomically(paths.chain, record.chainPem.endsWith('\n') ? record.chainPem : `${record.chainPem}\n`, 0o644);
  return {
    ...base,
    files: { ...paths, passphraseGenerated: ctx.config.passphraseFile === undefined },
    certificate: {
      serialNumber: record.serialNumber,
      notAfter: new Date(record.notAfter).toISOString(),
      sha256Fingerprint: record.sha256Fingerprint,
      issuer: record.issuer,
      renewAt: new Date(record.renewAt).toISOString(),
    },
  };
}

/** The exit code for a set of outcomes: the worst one wins. */
export function exitCodeOf(outcomes: readonly Outcome[]): number {
  if (outcomes.every((o) => o.step === 'installed')) return EXIT.ok;
  if (outcomes.some((o) => o.error?.code === 'mailServer')) return EXIT.mailServer;
  if (outcomes.some((o) => o.error?.code === 'network')) return EXIT.network;
  if (outcomes.some((o) => o.error?.code === 'input')) return EXIT.usage;
  return EXIT.failed;
}
