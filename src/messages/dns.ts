/**
 * TXT lookups for DKIM keys (RFC 6376 §3.6.2), through an injected resolver. Thunderbird's
 * `dns.resolve` gives no TXT records, so the add-on uses DNS-over-HTTPS (RFC 8484, wire format
 * `application/dns-message`, GET or POST); tests and the command line use a zone file.
 *
 * Deviations: only the answer section's TXT records of class IN are read (the recursive resolver
 * has already followed CNAMEs); DNSSEC is not validated here — the DoH resolver is trusted, and
 * it is reached over HTTPS.
 */
import { base64UrlEncode, bytesToBinary } from '../common/encoding';

export type TxtAnswer =
  /** The name has TXT records; each is its character-strings concatenated (RFC 6376 §3.6.2.2). */
  | { readonly kind: 'found'; readonly records: readonly string[] }
  /** NXDOMAIN or no TXT records at the name: a permanent "no key". */
  | { readonly kind: 'none' }
  /** The lookup failed for now (timeout, SERVFAIL, network): a temporary error. */
  | { readonly kind: 'error'; readonly reason: string };

export interface TxtResolver {
  txt(name: string): Promise<TxtAnswer>;
}

/** Thrown for a name that cannot go into a DNS query (RFC 1035 §2.3.4 limits). */
export class DnsNameError extends Error {
  override readonly name = 'DnsNameError';
}

/** Thrown by `parseZoneFile` for a zone file that is not `{name: [txt, ...]}`. */
export class ZoneFileError extends Error {
  override readonly name = 'ZoneFileError';
}

const TYPE_TXT = 16;
const CLASS_IN = 1;

/** A DNS query message for one TXT question (RFC 1035 §4.1), ID 0 as RFC 8484 §4.1 advises. */
export function encodeTxtQuery(name: string): Uint8Array<ArrayBuffer> {
  const labels = name.replace(/\.$/, '').split('.');
  if (name.length > 253 || labels.some((l) => l.length === 0 || l.length > 63)) throw new DnsNameError(`"${name}" is not a valid DNS name`);
  const bytes: number[] = [0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
  for (const label of labels) {
    bytes.push(label.length);
    for (let i = 0; i < label.length; i++) {
      const c = label.charCodeAt(i);
      if (c > 0x7e || c < 0x21) throw new DnsNameError(`"${name}" has a character DNS names cannot carry`);
      bytes.push(c);
    }
  }
  bytes.push(0, 0, TYPE_TXT, 0, CLASS_IN);
  return new Uint8Array(bytes);
}

/** Thrown for a DNS response that cannot be read. */
export class DnsFormatError extends Error {
  override readonly name = 'DnsFormatError';
}

function skipName(msg: Uint8Array, offset: number): number {
  let o = offset;
  // Bounded: a name has at most 127 labels; a loop of compression pointers cannot run forever.
  for (let steps = 0; steps < 128; steps++) {
    const len = msg[o];
    if (len === undefined) throw new DnsFormatError('name runs past the end');
    if ((len & 0xc0) === 0xc0) return o + 2;
    if (len === 0) return o + 1;
    o += 1 + len;
  }
  throw new DnsFormatError('name too long');
}

/** Reads the TXT answers of a DNS response (RFC 1035 §4.1, §3.3.14). */
export function decodeTxtResponse(msg: Uint8Array): TxtAnswer {
  if (msg.length < 12) throw new DnsFormatError('response shorter than a DNS header');
  const flags = (msg[2]! << 8) | msg[3]!;
  if ((flags & 0x8000) === 0) throw new DnsFormatError('not a response');
  if (flags & 0x0200) return { kind: 'error', reason: 'truncated DNS response' };
  const rcode = flags & 0x0f;
  if (rcode === 3) return { kind: 'none' };
  if (rcode !== 0) return { kind: 'error', reason: `DNS error code ${rcode}` };
  const qd = (msg[4]! << 8) | msg[5]!;
  const an = (msg[6]! << 8) | msg[7]!;
  let o = 12;
  for (let i = 0; i < qd; i++) o = skipName(msg, o) + 4;
  const records: string[] = [];
  for (let i = 0; i < an; i++) {
    o = skipName(msg, o);
    if (o + 10 > msg.length) throw new DnsFormatError('answer runs past the end');
    const type = (msg[o]! << 8) | msg[o + 1]!;
    const klass = (msg[o + 2]! << 8) | msg[o + 3]!;
    const rdlength = (msg[o + 8]! << 8) | msg[o + 9]!;
    const rdata = o + 10;
    if (rdata + rdlength > msg.length) throw new DnsFormatError('record data runs past the end');
    if (type === TYPE_TXT && klass === CLASS_IN) {
      let text = '';
      for (let p = rdata; p < rdata + rdlength; ) {
        const len = msg[p]!;
        if (p + 1 + len > rdata + rdlength) throw new DnsFormatError('TXT string runs past its record');
        text += bytesToBinary(msg.subarray(p + 1, p + 1 + len));
        p += 1 + len;
      }
      records.push(text);
    }
    o = rdata + rdlength;
  }
  return records.length > 0 ? { kind: 'found', records } : { kind: 'none' };
}

export interface DohOptions {
  /** The resolver's URL template, e.g. `https://dns.example/dns-query` (RFC 8484 §3). */
  readonly url: string;
  readonly fetch: typeof fetch;
  /** GET (cache-friendly, the default) or POST (RFC 8484 §4.1). */
  readonly method?: 'GET' | 'POST';
  readonly timeoutMs?: number;
}

/** A resolver over DNS-over-HTTPS (RFC 8484). Failures become `error` answers, never throws. */
export function createDohResolver(options: DohOptions): TxtResolver {
  const method = options.method ?? 'GET';
  const timeoutMs = options.timeoutMs ?? 5000;
  return {
    async txt(name) {
      let query: Uint8Array<ArrayBuffer>;
      try {
        query = encodeTxtQuery(name);
      } catch (error) {
        return { kind: 'error', reason: error instanceof Error ? error.message : String(error) };
      }
      const controller = new AbortController();
      const timer = setTimeout(() => {
        controller.abort();
      }, timeoutMs);
      try {
        let response: Response;
        if (method === 'GET') {
          const url = new URL(options.url);
          url.searchParams.set('dns', base64UrlEncode(query));
          response = await options.fetch(url, { headers: { accept: 'application/dns-message' }, signal: controller.signal });
        } else {
          response = await options.fetch(options.url, {
            method: 'POST',
            headers: { accept: 'application/dns-message', 'content-type': 'application/dns-message' },
            body: query,
            signal: controller.signal,
          });
        }
        if (!response.ok) return { kind: 'error', reason: `DNS-over-HTTPS server answered HTTP ${response.status}` };
        const type = response.headers.get('content-type') ?? '';
        if (!type.toLowerCase().startsWith('application/dns-message')) return { kind: 'error', reason: `DNS-over-HTTPS server answered "${type}", not application/dns-message` };
        const body = new Uint8Array(await response.arrayBuffer());
        // A DNS message is at most 65535 bytes (RFC 8484 §6 carries it whole): anything larger is not one.
        if (body.length > 65535) return { kind: 'error', reason: 'DNS-over-HTTPS answer larger than any DNS message' };
        return decodeTxtResponse(body);
      } catch (error) {
        if (controller.signal.aborted) return { kind: 'error', reason: `DNS-over-HTTPS lookup timed out after ${timeoutMs} ms` };
        return { kind: 'error', reason: error instanceof Error ? error.message : String(error) };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** A zone: DNS name → its TXT records. A name not present is NXDOMAIN. */
export type Zone = Readonly<Record<string, readonly string[]>>;

/** Checks a zone file's JSON (`{"sel._domainkey.example.org": ["v=DKIM1; p=..."]}`). */
export function parseZoneFile(text: string): Zone {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ZoneFileError(`the zone file is not JSON (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new ZoneFileError('the zone file must be a JSON object of name → array of TXT strings');
  const zone: Record<string, string[]> = {};
  for (const [name, records] of Object.entries(data)) {
    if (!Array.isArray(records) || !records.every((r): r is string => typeof r === 'string')) {
      throw new ZoneFileError(`the zone file entry "${name}" must be an array of strings`);
    }
    zone[name.toLowerCase().replace(/\.$/, '')] = records;
  }
  return zone;
}

/** A resolver answering from a fixed zone (tests, the command line's `--dns`). */
export function createZoneResolver(zone: Zone): TxtResolver {
  const lower = new Map(Object.entries(zone).map(([name, records]) => [name.toLowerCase().replace(/\.$/, ''), records]));
  return {
    txt(name) {
      const records = lower.get(name.toLowerCase().replace(/\.$/, ''));
      return Promise.resolve(records && records.length > 0 ? { kind: 'found', records } : { kind: 'none' });
    },
  };
}
