/**
 * The user's side of the sandbox mail world for tests: read the INBOX over IMAP (imapflow) and
 * send replies through the submission MTA (nodemailer), as a mail program would.
 */
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import type { Sandbox, SandboxUser } from '../../sandbox/index';

export interface InboxMessage {
  readonly uid: number;
  readonly raw: string;
  readonly subject: string;
  readonly messageId: string;
}

/** Every message in `user`'s INBOX, oldest first. */
export async function readInbox(sandbox: Sandbox, user: SandboxUser): Promise<InboxMessage[]> {
  const client = new ImapFlow({ host: sandbox.imap.host, port: sandbox.imap.port, secure: false, auth: { user: user.email, pass: user.password }, logger: false });
  await client.connect();
  const out: InboxMessage[] = [];
  try {
    const lock = await client.getMailboxLock('INBOX');
    try {
      const mailbox = client.mailbox;
      if (mailbox && mailbox.exists > 0) {
        for await (const message of client.fetch('1:*', { uid: true, source: true, envelope: true })) {
          out.push({
            uid: message.uid,
            raw: message.source?.toString('utf8') ?? '',
            subject: message.envelope?.subject ?? '',
            messageId: message.envelope?.messageId ?? '',
          });
        }
      }
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
  return out;
}

/** Messages whose subject starts with "ACME: ". */
export async function challengeMails(sandbox: Sandbox, user: SandboxUser): Promise<InboxMessage[]> {
  return (await readInbox(sandbox, user)).filter((m) => m.subject.startsWith('ACME: '));
}

/**
 * Sends a reply from `user` through the sandbox MTA (AUTH PLAIN), threaded to `challenge`; `from`
 * (MAIL FROM and From) is the login unless another address is given, such as one of the user's aliases.
 */
export async function sendReply(sandbox: Sandbox, user: SandboxUser, challenge: InboxMessage, body: string, to = sandbox.caAddress, from = user.email): Promise<void> {
  const transport = nodemailer.createTransport({
    host: sandbox.smtp.host, port: sandbox.smtp.port, secure: false, ignoreTLS: true,
    auth: { user: user.email, pass: user.password, method: 'PLAIN' },
  });
  try {
    await transport.sendMail({
      from, to, subject: `Re: ${challenge.subject}`,
      inReplyTo: challenge.messageId, references: [challenge.messageId], text: body,
    });
  } finally {
    transport.close();
  }
}

export function armour(value: string): string {
  return `-----BEGIN ACME RESPONSE-----\r\n${value}\r\n-----END ACME RESPONSE-----\r\n`;
}
