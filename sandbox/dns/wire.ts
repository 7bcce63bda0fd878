/**
 * Just enough of the DNS wire format (RFC 1035 §4) for a DNS-over-HTTPS endpoint that answers TXT
 * questions from a fixed zone: decode one question, encode an authoritative answer.
 * Independent of src/messages (which holds the client's decoder), so the two check each other.
 *
 * Limits, each with the attack or mistake it stops: one question only (RFC 9619: QDCOUNT is 1 in
 * practice); names at most 255 octets and labels at most 63 (RFC 1035 §2.3.4); no compression
 * pointers in queries (clients never send them, and loops are the classic decoder bug);
 * TXT strings split into character-strings of at most 255 octets (RFC 1035 §3.3.14).
 */

export const TYPE_TXT = 16;
export const CLASS_IN = 1;
export const RCODE = { noError: 0, formErr: 1, servFail: 2, nxDomain: 3, notImp: 4 } as const;

export class DnsWireError extends Error {
  override readonly name = 'DnsWireError';
}

export interface DnsQuestion {
  readonly id: number;
  /** Header flags as sent (we echo RD and the opcode). */
  readonly flags: number;
  /** Lower-cased, no trailing dot. */
  readonly name: string;
  readonly type: number;
  readonly class: number;
}

export function decodeQuery(message: Uint8Array): DnsQuestion {
  if (message.length < 12) throw new DnsWireError('message shorter than the 12-octet header');
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const id = view.getUint16(0);
  const flags = view.getUint16(2);
  if (flags & 0x8000) throw new DnsWireError('QR is set: this is a response, not a query');
  if (view.getUint16(4) !== 1) throw new DnsWireError('exactly one question is supported');
  const labels: string[] = [];
  let offset = 12;
  let nameLength = 0;
  for (;;) {
    const length = message[offset];
    if (length === undefined) throw new DnsWireError('name runs past the message');
    if (length & 0xc0) throw new DnsWireError('compression pointers are not accepted in a query');
    offset += 1;
    if (length === 0) break;
    if (length > 63) throw new DnsWireError('label longer than 63 octets');
    if (offset + length > message.length) throw new DnsWireError('label runs past the message');
    nameLength += length + 1;
    if (nameLength > 255) throw new DnsWireError('name longer than 255 octets');
    labels.push(new TextDecoder().decode(message.subarray(offset, offset + length)));
    offset += length;
  }
  if (offset + 4 > message.length) throw new DnsWireError('question has no type and class');
  return { id, flags, name: labels.join('.').toLowerCase(), type: view.getUint16(offset), class: view.getUint16(offset + 2) };
}

function encodeName(name: string): number[] {
  const out: number[] = [];
  for (const label of name.split('.').filter((l) => l !== '')) {
    const bytes = new TextEncoder().encode(label);
    out.push(bytes.length, ...bytes);
  }
  out.push(0);
  return out;
}

const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

/** RFC 1035 §3.3.14: TXT RDATA is one or more <character-string>s of at most 255 octets. */
function txtRdata(text: string): number[] {
  const bytes = new TextEncoder().encode(text);
  const out: number[] = [];
  for (let i = 0; i < bytes.length || i === 0; i += 255) {
    const chunk = bytes.subarray(i, i + 255);
    out.push(chunk.length, ...chunk);
    if (bytes.length === 0) break;
  }
  return out;
}

/**
 * An authoritative response to `question`: the TXT `records` as answers (an empty list and
 * `rcode` noError means "name exists, no data of this type").
 */
export function encodeResponse(question: DnsQuestion, rcode: number, records: readonly string[], ttl = 60): Uint8Array<ArrayBuffer> {
  const opcode = question.flags & 0x7800;
  const rd = question.flags & 0x0100;
  // QR | opcode | AA | RD (echoed) | RA | rcode
  const flags = 0x8000 | opcode | 0x0400 | rd | 0x0080 | (rcode & 0x0f);
  const qname = encodeName(question.name);
  const out: number[] = [...u16(question.id), ...u16(flags), ...u16(1), ...u16(records.length), ...u16(0), ...u16(0)];
  out.push(...qname, ...u16(question.type), ...u16(question.class));
  for (const record of records) {
    const rdata = txtRdata(record);
    // 0xC00C: a pointer to the question name at offset 12.
    out.push(0xc0, 0x0c, ...u16(TYPE_TXT), ...u16(CLASS_IN), ...u32(ttl), ...u16(rdata.length), ...rdata);
  }
  return new Uint8Array(out);
}

/** A FORMERR answer for a query we could not decode; the id is echoed when the header was there. */
export function encodeFormErr(message: Uint8Array): Uint8Array<ArrayBuffer> {
  const id = message.length >= 2 ? ((message[0]! << 8) | message[1]!) : 0;
  return new Uint8Array([...u16(id), ...u16(0x8000 | RCODE.formErr), 0, 0, 0, 0, 0, 0, 0, 0]);
}
