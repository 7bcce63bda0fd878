/**
 * The sandbox's submission MTA (RFC 6409 over npm smtp-server) and its LMTP delivery (RFC 2033,
 * nodemailer's LMTP client) into Dovecot.
 *
 * It behaves like a careful mail provider, because the CA's DKIM check of the reply depends on it:
 * AUTH PLAIN/LOGIN against the sandbox users is required (cleartext, loopback only); MAIL FROM
 * and the From header must each be one of the authenticated user's addresses — the login or one
 * of the user's aliases — (no spoofing a neighbour); the message is then DKIM-signed for the From
 * address's domain and delivered: to the CA's address → the response checker; to a local user or
 * alias → the owner's mailbox in Dovecot over LMTP, headers unchanged; anything else is refused
 * at RCPT (no relaying).
 */
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { mailboxAddress, parseMessage } from './message';

export interface MtaUser {
  /** The login, and the user's own address. */
  readonly email: string;
  readonly password: string;
  /** Further addresses of the user: delivered into the user's mailbox, and the user may send as them. */
  readonly aliases?: readonly string[];
}

export interface MtaOptions {
  readonly port: number;
  readonly users: readonly MtaUser[];
  readonly caAddress: string;
  /** DKIM-signs a message for the domain of its From address (prepends DKIM-Signature). */
  readonly sign: (raw: string, fromDomain: string) => Promise<string>;
  readonly toCa: (raw: string, envelopeFrom: string) => Promise<void>;
  readonly lmtp: { readonly host: string; readonly port: number };
}

export interface Mta {
  readonly port: number;
  stop(): Promise<void>;
}

export class MtaError extends Error {
  override readonly name = 'MtaError';
  constructor(message: string, readonly responseCode: number) {
    super(message);
  }
}

const MAX_MESSAGE_BYTES = 1_000_000;

/** Delivers one message over LMTP; rejects with the server's answer when a recipient is refused. */
export async function deliverLmtp(lmtp: { host: string; port: number }, from: string, to: readonly string[], raw: string | Uint8Array): Promise<void> {
  const options: SMTPTransport.Options = { host: lmtp.host, port: lmtp.port, lmtp: true, ignoreTLS: true, secure: false, name: 'sandbox.test' };
  const transport = nodemailer.createTransport(options);
  try {
    await transport.sendMail({ envelope: { from, to: [...to] }, raw: typeof raw === 'string' ? raw : Buffer.from(raw) });
  } finally {
    transport.close();
  }
}

/** The authenticated user; smtp-server types it loosely, onAuth above sets a lower-cased address. */
function sessionUser(session: SMTPServerSession): string {
  const user: unknown = session.user;
  return typeof user === 'string' ? user : '';
}

export async function startMta(options: MtaOptions): Promise<Mta> {
  const passwords = new Map(options.users.map((u) => [u.email.toLowerCase(), u.password]));
  /** Every local address → the login whose mailbox it is and who may send as it. */
  const ownerOf = new Map(options.users.flatMap((u) => {
    const login = u.email.toLowerCase();
    return [login, ...(u.aliases ?? []).map((a) => a.toLowerCase())].map((address) => [address, login] as const);
  }));
  const mayUse = (login: string, address: string): boolean => login !== '' && ownerOf.get(address.toLowerCase()) === login;
  const caAddress = options.caAddress.toLowerCase();
  const server = new SMTPServer({
    name: 'submission.sandbox.test',
    banner: 'One-Click S/MIME sandbox submission',
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: false,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    size: MAX_MESSAGE_BYTES,
    logger: false,
    // stop() waits this long for a client that keeps its connection open (nodemailer pools do).
    closeTimeout: 500,
    onAuth(auth, _session, callback) {
      const user = (auth.username ?? '').toLowerCase();
      if (auth.method !== 'XOAUTH2' && passwords.get(user) === auth.password) callback(null, { user });
      else callback(new MtaError('535 5.7.8 authentication failed', 535));
    },
    onMailFrom(address: SMTPServerAddress, session: SMTPServerSession, callback) {
      const user = sessionUser(session);
      if (!mayUse(user, address.address)) {
        callback(new MtaError(`553 5.7.1 ${user || '?'} may not send as ${address.address}`, 553));
        return;
      }
      callback();
    },
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      const to = address.address.toLowerCase();
      if (to === caAddress || ownerOf.has(to)) {
        callback();
        return;
      }
      callback(new MtaError(`550 5.7.1 relaying to ${address.address} denied`, 550));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if ((stream as { sizeExceeded?: boolean }).sizeExceeded) {
          callback(new MtaError('552 5.3.4 message too big', 552));
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        handle(raw, session).then(() => {
          callback();
        }, (error: unknown) => {
          callback(error instanceof MtaError ? error : new MtaError(`451 4.3.0 ${String(error)}`, 451));
        });
      });
    },
  });

  async function handle(raw: string, session: SMTPServerSession): Promise<void> {
    const user = sessionUser(session);
    let from: string;
    try {
      from = mailboxAddress(parseMessage(raw).get('from'));
    } catch (error) {
      throw new MtaError(`550 5.6.0 unparseable message: ${String(error)}`, 550);
    }
    if (!mayUse(user, from)) throw new MtaError(`550 5.7.1 From ${from || '(none)'} is not an address of the authenticated user ${user}`, 550);
    const signed = await options.sign(raw.replace(/\r?\n/g, '\r\n'), from.slice(from.lastIndexOf('@') + 1));
    const envelopeFrom = session.envelope.mailFrom === false ? user : session.envelope.mailFrom.address.toLowerCase();
    const recipients = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
    // An alias is delivered into its owner's mailbox (once, however many of the owner's addresses were named).
    const mailboxes = [...new Set(recipients.filter((r) => r !== caAddress).map((r) => ownerOf.get(r) ?? r))];
    if (recipients.includes(caAddress)) await options.toCa(signed, envelopeFrom);
    if (mailboxes.length > 0) await deliverLmtp(options.lmtp, envelopeFrom, mailboxes, signed);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      resolve();
    });
  });
  const address = server.server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    stop: () => new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    }),
  };
}
