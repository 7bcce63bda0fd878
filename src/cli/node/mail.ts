/**
 * The user's mailbox for the command line, in place of Thunderbird: IMAP (imapflow) to list and
 * read the challenge mail — with IDLE, so a new mail is seen the moment the server has it — and
 * SMTP submission (nodemailer) to send the reply, signed by the user's provider as every mail of
 * theirs. Thin like the add-on's messenger ports: every decision (which mail, whether it is
 * authentic, what to answer) is the enrollment flow's.
 */
import { ImapFlow, type FetchMessageObject } from 'imapflow';
import nodemailer from 'nodemailer';
import { PortError, type MailboxPort, type MailRef, type ReplyPort } from '../../enroll/ports';

export type TlsMode = 'tls' | 'starttls' | 'none';
export const TLS_MODES: readonly TlsMode[] = ['tls', 'starttls', 'none'];

export interface ServerSettings {
  readonly host: string;
  readonly port: number;
  readonly tls: TlsMode;
}

/** A password, or an OAuth2 bearer token (RFC 7628 XOAUTH2/OAUTHBEARER, as the provider offers). */
export type Credentials = { readonly user: string; readonly password: string } | { readonly user: string; readonly accessToken: string };

/** One mailbox the command logs in to: the addresses it receives for, and how to reach it. */
export interface MailAccount {
  readonly addresses: readonly string[];
  readonly imap: ServerSettings;
  readonly smtp: ServerSettings;
  readonly credentials: Credentials;
  /** Extra roots for the servers' TLS certificates (besides the system's). */
  readonly ca: readonly string[];
}

/** Failures to reach or log in to the mail servers: the command exits with its own code. */
export class MailServerError extends Error {
  override readonly name = 'MailServerError';
}

/** Bounds the scan, as the add-on does: a challenge is never among thousands of recent mails. */
const MAX_SCANNED = 500;
/** IMAP SEARCH SINCE has day granularity in the server's time zone: search a day earlier, filter after. */
const DAY_MS = 24 * 60 * 60_000;

function bare(messageId: string): string {
  return messageId.trim().replace(/^<|>$/g, '');
}

/** Thunderbird's headerMessageId has no angle brackets; the flow compares it as such. */
function mailRef(id: number, folder: string, message: FetchMessageObject): MailRef {
  const date = message.internalDate === undefined ? Date.now() : new Date(message.internalDate).getTime();
  return {
    id,
    headerMessageId: bare(message.envelope?.messageId ?? `uid-${message.uid}`),
    subject: message.envelope?.subject ?? '',
    author: message.envelope?.from?.[0]?.address ?? '',
    date,
    folder,
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const extra = (error as { responseText?: string }).responseText;
    return extra ? `${error.message} (${extra})` : error.message;
  }
  return String(error);
}

/**
 * One IMAP connection watching one folder with IDLE and reading its mail by UID. A login gets
 * one for INBOX and one for the Junk folder when there is one: a challenge mail a spam filter
 * moved is still seen (as the add-on watches every folder).
 */
class ImapFolder {
  private client: ImapFlow | undefined;
  private connecting: Promise<ImapFlow> | undefined;
  private stopped = false;

  constructor(
    private readonly account: MailAccount,
    readonly folder: string,
    private readonly onNew: (messages: FetchMessageObject[]) => void,
    private readonly onError: (message: string) => void,
  ) {}

  private label(): string {
    return `${this.account.credentials.user} at ${this.account.imap.host}:${this.account.imap.port}`;
  }

  connection(): Promise<ImapFlow> {
    if (this.client?.usable) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<ImapFlow> {
    const { imap, credentials, ca } = this.account;
    const client = new ImapFlow({
      host: imap.host,
      port: imap.port,
      secure: imap.tls === 'tls',
      doSTARTTLS: imap.tls === 'starttls' ? true : imap.tls === 'none' ? false : undefined,
      auth: 'password' in credentials ? { user: credentials.user, pass: credentials.password } : { user: credentials.user, accessToken: credentials.accessToken },
      ...(ca.length > 0 ? { tls: { ca: [...ca] } } : {}),
      logger: false,
      // IDLE as soon as nothing else is asked: the challenge mail is seen when it lands.
      autoIdleDelay: 500,
    });
    client.on('error', (error: unknown) => { this.onError(`IMAP ${this.label()}: ${describe(error)}`); });
    try {
      await client.connect();
      await client.mailboxOpen(this.folder);
    } catch (error) {
      client.close();
      throw new MailServerError(`cannot open the ${this.folder} of ${this.label()}: ${describe(error)}`, { cause: error });
    }
    client.on('exists', (event: { count: number; prevCount: number }) => {
      if (event.count <= event.prevCount) return;
      void this.fetchNew(client, `${event.prevCount + 1}:${event.count}`);
    });
    client.on('close', () => {
      if (this.client === client) this.client = undefined;
      // Dropped by the server or the network: log in again, so IDLE keeps watching.
      if (!this.stopped) setTimeout(() => void this.connection().catch((error: unknown) => { this.onError(describe(error)); }), 1_000).unref();
    });
    this.client = client;
    return client;
  }

  private async fetchNew(client: ImapFlow, range: string): Promise<void> {
    try {
      const out: FetchMessageObject[] = [];
      for await (const message of client.fetch(range, { uid: true, envelope: true, internalDate: true })) out.push(message);
      if (out.length > 0) this.onNew(out);
    } catch (error) {
      this.onError(`IMAP ${this.label()}: could not read new mail: ${describe(error)}`);
    }
  }

  async recent(since: number): Promise<FetchMessageObject[]> {
    const client = await this.connection();
    try {
      const uids = await client.search({ since: new Date(since - DAY_MS), subject: 'ACME:' }, { uid: true });
      if (!uids || uids.length === 0) return [];
      const out: FetchMessageObject[] = [];
      for await (const message of client.fetch(uids.slice(-MAX_SCANNED).join(','), { uid: true, envelope: true, internalDate: true }, { uid: true })) out.push(message);
      return out.filter((m) => m.internalDate === undefined || new Date(m.internalDate).getTime() >= since);
    } catch (error) {
      throw new PortError('transient', `IMAP ${this.label()}: ${describe(error)}`, { cause: error });
    }
  }

  async raw(uid: number): Promise<Uint8Array> {
    const client = await this.connection();
    let message: FetchMessageObject | false;
    try {
      message = await client.fetchOne(String(uid), { source: true }, { uid: true });
    } catch (error) {
      throw new PortError('transient', `IMAP ${this.label()}: ${describe(error)}`, { cause: error });
    }
    if (!message || !message.source) throw new PortError('transient', `IMAP ${this.label()}: message UID ${uid} is gone`);
    return new Uint8Array(message.source);
  }

  /** The folder the server marks as Junk (RFC 6154 \\Junk, or by its usual names), when there is one. */
  async junkFolder(): Promise<string | undefined> {
    const client = await this.connection();
    try {
      return (await client.list()).find((folder) => folder.specialUse === '\\Junk')?.path;
    } catch (error) {
      this.onError(`IMAP ${this.label()}: cannot list folders: ${describe(error)}`);
      return undefined;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = undefined;
    if (client) await client.logout().catch(() => { client.close(); });
  }
}

export interface MailWorld {
  readonly mailbox: MailboxPort;
  readonly reply: ReplyPort;
  /** Logs in to every IMAP server and opens INBOX (fails early on a wrong password). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The mailbox and reply ports over one or more IMAP/SMTP logins (one per mailbox; aliases of one
 * mailbox share a login). `onNew` gets the new mail IDLE reported, ready for `Enroller.onNewMail`.
 */
export function createMailWorld(accounts: readonly MailAccount[], onNew: (mails: MailRef[]) => void, onError: (message: string) => void): MailWorld {
  // MailRef ids must stay stable for the run: one per (folder connection, UID).
  const ids = new Map<string, number>();
  const byId = new Map<number, { folder: ImapFolder; uid: number }>();
  const folders: ImapFolder[] = [];
  const refOf = (folder: ImapFolder, message: FetchMessageObject): MailRef => {
    const key = `${folders.indexOf(folder)}:${message.uid}`;
    let id = ids.get(key);
    if (id === undefined) {
      id = ids.size + 1;
      ids.set(key, id);
      byId.set(id, { folder, uid: message.uid });
    }
    return mailRef(id, folder.folder, message);
  };
  const watch = (account: MailAccount, path: string): ImapFolder => {
    const folder: ImapFolder = new ImapFolder(account, path, (messages) => {
      onNew(messages.map((m) => refOf(folder, m)));
    }, onError);
    folders.push(folder);
    return folder;
  };
  const inboxes = accounts.map((account) => ({ account, inbox: watch(account, 'INBOX') }));

  const mailbox: MailboxPort = {
    async recent(since) {
      const lists = await Promise.all(folders.map(async (folder) => (await folder.recent(since)).map((m) => refOf(folder, m))));
      return lists.flat();
    },
    raw(mail) {
      const where = byId.get(mail.id);
      if (!where) return Promise.reject(new PortError('transient', `no mail ${mail.id} in this run`));
      return where.folder.raw(where.uid);
    },
  };
  const reply: ReplyPort = {
    async send(request) {
      const account = accounts.find((a) => a.addresses.some((address) => address.toLowerCase() === request.expectFrom.toLowerCase()));
      if (!account) return { sent: false, mismatch: ['from'] };
      const { smtp, credentials, ca } = account;
      const transport = nodemailer.createTransport({
        host: smtp.host,
        port: smtp.port,
        secure: smtp.tls === 'tls',
        requireTLS: smtp.tls === 'starttls',
        ignoreTLS: smtp.tls === 'none',
        auth: 'password' in credentials ? { user: credentials.user, pass: credentials.password } : { type: 'OAuth2', user: credentials.user, accessToken: credentials.accessToken },
        ...(ca.length > 0 ? { tls: { ca: [...ca] } } : {}),
      });
      const messageId = `<${request.mail.headerMessageId}>`;
      try {
        // RFC 8823 §3.2: from the identity, to the challenge's Reply-To or From, "Re: " + its
        // subject, threaded to it, text/plain with only the armoured response.
        await transport.sendMail({
          from: request.expectFrom,
          to: request.expectTo,
          subject: request.expectSubject,
          inReplyTo: messageId,
          references: [messageId],
          text: request.body,
        });
      } catch (error) {
        throw new PortError('transient', `SMTP ${credentials.user} at ${smtp.host}:${smtp.port}: ${describe(error)}`, { cause: error });
      } finally {
        transport.close();
      }
      return { sent: true };
    },
  };

  return {
    mailbox,
    reply,
    async start() {
      await Promise.all(inboxes.map(({ inbox }) => inbox.connection()));
      for (const { account, inbox } of inboxes) {
        const junk = await inbox.junkFolder();
        if (junk !== undefined) await watch(account, junk).connection();
      }
    },
    async stop() {
      await Promise.all(folders.map((folder) => folder.stop()));
    },
  };
}
