/**
 * The little RFC 5322 / MIME reading the sandbox needs to check replies: split header from body,
 * unfold header fields (RFC 5322 §2.2.3), pull the addr-spec out of a mailbox, decode a single
 * text/plain body (RFC 2045 §6: 7bit, 8bit, quoted-printable, base64). Independent of
 * src/messages. Limits: a header block of at most 64 KiB and 1000 fields — a reply is small, and
 * the limits keep a hostile message from costing the checker anything.
 */

export class MessageFormatError extends Error {
  override readonly name = 'MessageFormatError';
}

export interface HeaderField {
  /** Lower-cased. */
  readonly name: string;
  /** Unfolded, trimmed. */
  readonly value: string;
}

export interface ParsedMessage {
  readonly headers: readonly HeaderField[];
  readonly body: string;
  get(name: string): string | undefined;
  all(name: string): string[];
}

const MAX_HEADER_BYTES = 65_536;
const MAX_FIELDS = 1000;

export function parseMessage(raw: string): ParsedMessage {
  const text = raw.replace(/\r?\n/g, '\r\n');
  const end = text.indexOf('\r\n\r\n');
  const headerBlock = end < 0 ? text : text.slice(0, end);
  const body = end < 0 ? '' : text.slice(end + 4);
  if (headerBlock.length > MAX_HEADER_BYTES) throw new MessageFormatError('header block larger than 64 KiB');
  const headers: HeaderField[] = [];
  for (const line of headerBlock.split('\r\n')) {
    if (/^[ \t]/.test(line) && headers.length > 0) {
      const last = headers.pop()!;
      headers.push({ name: last.name, value: `${last.value} ${line.trim()}`.trim() });
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MessageFormatError(`not a header field: ${JSON.stringify(line.slice(0, 60))}`);
    headers.push({ name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim() });
    if (headers.length > MAX_FIELDS) throw new MessageFormatError('more than 1000 header fields');
  }
  return {
    headers,
    body,
    get: (name) => headers.find((h) => h.name === name.toLowerCase())?.value,
    all: (name) => headers.filter((h) => h.name === name.toLowerCase()).map((h) => h.value),
  };
}

/** The addr-spec of a single-mailbox field (`Name <a@b>` or `a@b`), lower-cased; '' if none. */
export function mailboxAddress(value: string | undefined): string {
  if (value === undefined) return '';
  const angle = /<([^<>\s]+@[^<>\s]+)>/.exec(value);
  if (angle) return angle[1]!.toLowerCase();
  const bare = /^\s*([^\s<>,"]+@[^\s<>,"]+)\s*$/.exec(value);
  return bare ? bare[1]!.toLowerCase() : '';
}

/** The first `<msg-id>` of an In-Reply-To / References / Message-ID value (RFC 5322 §3.6.4). */
export function firstMessageId(value: string | undefined): string {
  const match = value === undefined ? null : /<[^<>\s]+>/.exec(value);
  return match ? match[0] : '';
}

/**
 * The decoded text of a single-part text/plain body; throws for anything else, because RFC 8823
 * §3.2 wants the response in a text/plain body, not in an attachment or HTML.
 */
export function textPlainBody(message: ParsedMessage): string {
  const contentType = (message.get('content-type') ?? 'text/plain').toLowerCase();
  if (!contentType.startsWith('text/plain')) throw new MessageFormatError(`body is ${contentType.split(';')[0] ?? '?'}, not text/plain`);
  const encoding = (message.get('content-transfer-encoding') ?? '7bit').toLowerCase().trim();
  let bytes: Buffer;
  if (encoding === '7bit' || encoding === '8bit' || encoding === 'binary') bytes = Buffer.from(message.body, 'utf8');
  else if (encoding === 'base64') bytes = Buffer.from(message.body.replace(/\s+/g, ''), 'base64');
  else if (encoding === 'quoted-printable') bytes = decodeQuotedPrintable(message.body);
  else throw new MessageFormatError(`unknown Content-Transfer-Encoding ${encoding}`);
  let text = bytes.toString('utf8');
  // RFC 3676 format=flowed: a line ending in a space continues on the next; undo that.
  if (/format\s*=\s*"?flowed/.test(contentType)) text = text.replace(/ \r\n/g, ' ');
  return text;
}

function decodeQuotedPrintable(text: string): Buffer {
  const soft = text.replace(/=\r\n/g, '');
  const out: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    const c = soft[i]!;
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      out.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Buffer.from(out);
}
