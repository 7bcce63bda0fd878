/**
 * Manual mode's mail ports: no mailbox to watch. The user pastes the challenge mail (all of it,
 * raw) and it is handed to the flow as a new mail — so it gets every check the add-on makes,
 * DKIM included — and the "reply" the flow decides on is printed for the user to send from their
 * own mail program. A pasted subject alone skips the mail and goes through `manualResponse`.
 */
import { decodedValue, parseMessage } from '../../messages/index';
import type { MailboxPort, MailRef, ReplyPort, ReplyRequest } from '../../enroll/ports';

export interface ManualMail {
  readonly mailbox: MailboxPort;
  readonly reply: ReplyPort;
  /** Hands a pasted raw mail to the flow (as IDLE would a new one). */
  paste(raw: Uint8Array): MailRef;
  /** Called with the reply the flow decided on; it resolves once the user has it. */
  onReply(handler: (request: ReplyRequest) => Promise<void>): void;
}

function headerValue(raw: Uint8Array, name: string): string {
  try {
    const field = parseMessage(raw).all(name)[0];
    return field === undefined ? '' : decodedValue(field).trim();
  } catch {
    // A mail that cannot be parsed is refused by the flow's own check, with the reason.
    return '';
  }
}

export function createManualMail(onNew: (mails: MailRef[]) => void): ManualMail {
  const pasted = new Map<number, Uint8Array>();
  let handler: ((request: ReplyRequest) => Promise<void>) | undefined;
  return {
    mailbox: {
      recent: () => Promise.resolve([]),
      raw: (mail) => {
        const raw = pasted.get(mail.id);
        return raw === undefined ? Promise.reject(new Error(`no pasted mail ${mail.id}`)) : Promise.resolve(raw);
      },
    },
    reply: {
      async send(request) {
        if (!handler) return { sent: false, mismatch: ['no terminal'] };
        await handler(request);
        return { sent: true };
      },
    },
    paste(raw) {
      const id = pasted.size + 1;
      pasted.set(id, raw);
      const messageId = headerValue(raw, 'message-id').replace(/^<|>$/g, '');
      const ref: MailRef = {
        id,
        headerMessageId: messageId === '' ? `pasted-${id}` : messageId,
        subject: headerValue(raw, 'subject'),
        author: headerValue(raw, 'from'),
        date: Date.now(),
      };
      onNew([ref]);
      return ref;
    },
    onReply(h) {
      handler = h;
    },
  };
}
