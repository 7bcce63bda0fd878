/**
 * Reading a sandbox user's mail as it was delivered: the raw message from the sandbox's Dovecot
 * over IMAP (imapflow), independent of Thunderbird.
 */
import { ImapFlow } from 'imapflow';
import type { Sandbox, SandboxUser } from '../../sandbox/index';

/** The raw messages in `user`'s INBOX whose subject is `subject`, oldest first. */
export async function mailWithSubject(sandbox: Sandbox, user: SandboxUser, subject: string): Promise<string[]> {
  const client = new ImapFlow({ host: sandbox.imap.host, port: sandbox.imap.port, secure: false, auth: { user: user.email, pass: user.password }, logger: false });
  await client.connect();
  const out: string[] = [];
  try {
    const lock = await client.getMailboxLock('INBOX');
    try {
      if (client.mailbox && client.mailbox.exists > 0) {
        for await (const message of client.fetch('1:*', { source: true, envelope: true })) {
          if (message.envelope?.subject === subject) out.push(message.source?.toString('utf8') ?? '');
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

/** Waits until a mail with `subject` is in `user`'s INBOX and returns it raw; rejects after `timeoutMs`. */
export async function deliveredMail(sandbox: Sandbox, user: SandboxUser, subject: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await mailWithSubject(sandbox, user, subject))[0];
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no mail "${subject}" in ${user.email}'s Inbox after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
