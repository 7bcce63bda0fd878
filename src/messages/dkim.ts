/**
 * DKIM verification (RFC 6376 §6) over WebCrypto, with `rsa-sha256` and `ed25519-sha256`
 * (RFC 8463), simple/relaxed canonicalization, `l=`, `t=`, `x=` against an injected clock, and
 * several signatures per message. Keys come from an injected TXT resolver.
 *
 * Results use the RFC 8601 §2.7.1 vocabulary. A bad signature never throws: it yields `fail`,
 * `permerror` or `temperror` with a reason, so the caller can explain it.
 *
 * Deliberate choices and deviations:
 * - RFC 8301: `rsa-sha1` and RSA keys under 1024 bits are refused (permerror), never verified.
 * - An expired (`x=`) or future-dated (`t=`) signature is `permerror` (RFC 6376 §6.1.1 allows
 *   ignoring it), with 5 minutes of tolerated clock skew for `t=`.
 * - Only the first 8 signatures are evaluated; each costs a DNS lookup and a signature check,
 *   and a mail with hundreds of them is an amplification attempt, not a challenge.
 * - A key record with `t=y` (testing) still verifies; its result carries `testing: true`, and
 *   the challenge policy treats it as unsigned (RFC 6376 §3.6.1).
 * - Where several TXT records exist at the key's name, the first that parses as a key is used.
 * - `l=` (RFC 6376 §3.5) is verified as written: a signature over the first `l` bytes of a longer
 *   body still `pass`es, as RFC 8601 reports it. The result carries `bodyLength` and the
 *   canonicalized body's length (`canonicalBodyLength`, known even when the key lookup fails), so
 *   the challenge policy can refuse a signature that leaves part of the body unsigned (§8.2).
 */
import type { TxtResolver } from './dns';
import { compact, parseTagList, TagListError, type Tag } from './dkim-tags';
import { relaxedBody, relaxedHeader, simpleBody, simpleHeader, type Canonicalization } from './dkim-canon';
import { base64Decode, binaryToBytes } from '../common/encoding';
import type { HeaderField, ParsedMessage } from './rfc5322';

/** RFC 8601 §2.7.1 result values for the `dkim` method. */
export type DkimResultCode = 'pass' | 'fail' | 'neutral' | 'temperror' | 'permerror' | 'policy' | 'none';

export interface DkimResult {
  readonly result: DkimResultCode;
  /** Why, in one English phrase (also for `pass`: what was verified). */
  readonly reason: string;
  /** `d=`, lower-cased, or null when the signature could not be parsed that far. */
  readonly domain: string | null;
  readonly selector: string | null;
  /** `a=` as written. */
  readonly algorithm: string | null;
  /** `h=`, lower-cased, in order. */
  readonly signedHeaders: readonly string[];
  /** `i=` (AUID), when present. */
  readonly identity: string | null;
  /** `l=`, when present: only this many body bytes are signed. */
  readonly bodyLength: number | null;
  /**
   * Length of the body canonicalized as this signature's `c=` says, the figure `l=` is measured
   * against (RFC 6376 §3.4.5); null when verification stopped before `c=` was read.
   */
  readonly canonicalBodyLength: number | null;
  /** The key record has `t=y`: the domain is testing DKIM (RFC 6376 §3.6.1). */
  readonly testing: boolean;
  /** RSA modulus length, when the key was loaded. */
  readonly keyBits: number | null;
  /** `b=` without whitespace, so an Authentication-Results `header.b` can be matched (RFC 6008). */
  readonly signature: string | null;
}

export interface DkimOptions {
  readonly resolver: TxtResolver;
  readonly crypto: Crypto;
  /** The clock for `t=` and `x=`. */
  readonly now: () => Date;
  /** Signatures evaluated at most (default 8). */
  readonly maxSignatures?: number;
}

const DEFAULT_MAX_SIGNATURES = 8;
const CLOCK_SKEW_SECONDS = 300;
const MIN_RSA_BITS = 1024; // RFC 8301 §3.2
const MAX_RSA_BITS = 8192;

/** A signature that cannot be verified; turned into a result at the end of `verifyOne`. */
class Verdict extends Error {
  constructor(
    readonly result: DkimResultCode,
    readonly why: string,
  ) {
    super(why);
  }
}

/** What is known about a signature so far; filled in as verification proceeds, reported at the end. */
interface SignatureFacts {
  domain: string | null;
  selector: string | null;
  algorithm: string | null;
  signedHeaders: string[];
  identity: string | null;
  bodyLength: number | null;
  canonicalBodyLength: number | null;
  testing: boolean;
  keyBits: number | null;
  signature: string | null;
}

/** A base64 tag value (b=, bh=, p=; RFC 6376 §3.5) with its folding whitespace removed; null when it is not base64. */
function base64ToBytes(text: string): Uint8Array<ArrayBuffer> | null {
  try {
    return base64Decode(compact(text));
  } catch {
    return null;
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

/** Wraps a PKCS#1 RSAPublicKey in a SubjectPublicKeyInfo: some DKIM records publish the bare key. */
function spkiFromPkcs1(pkcs1: Uint8Array): Uint8Array<ArrayBuffer> {
  const algorithm = [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
  const bitString = [0x03, ...derLength(pkcs1.length + 1), 0x00, ...pkcs1];
  const inner = [...algorithm, ...bitString];
  return new Uint8Array([0x30, ...derLength(inner.length), ...inner]);
}

function tagValue(tags: Map<string, Tag>, name: string): string | undefined {
  return tags.get(name)?.value;
}

function parseCanon(value: string | undefined): [Canonicalization, Canonicalization] {
  if (value === undefined) return ['simple', 'simple'];
  const [h, b = 'simple'] = value.trim().toLowerCase().split('/');
  const ok = (c: string | undefined): c is Canonicalization => c === 'simple' || c === 'relaxed';
  if (!ok(h) || !ok(b)) throw new Verdict('permerror', `unknown canonicalization "${value}"`);
  return [h, b];
}

function parseTimestamp(value: string | undefined, name: string): number | null {
  if (value === undefined) return null;
  const v = value.trim();
  // RFC 6376 §3.5: at most 12 digits, so the value stays an exact integer.
  if (!/^\d{1,12}$/.test(v)) throw new Verdict('permerror', `${name}= is not a timestamp`);
  return Number(v);
}

/**
 * Imported keys by algorithm and p= text. Importing an RSA key costs more than verifying with
 * it, and a CA signs every challenge with the same key. Bounded, so a stream of mails with
 * ever-new keys cannot grow it; a key is public data, so sharing it across checks leaks nothing.
 */
const keyCache = new Map<string, { key: CryptoKey; bits: number | null; crypto: Crypto }>();
const KEY_CACHE_SIZE = 32;

async function importKey(record: Map<string, Tag>, algorithm: 'rsa' | 'ed25519', crypto: Crypto, partial: SignatureFacts): Promise<CryptoKey> {
  const p = compact(tagValue(record, 'p') ?? '');
  const cacheKey = `${algorithm}:${p}`;
  const cached = keyCache.get(cacheKey);
  if (cached && cached.crypto === crypto) {
    partial.keyBits = cached.bits;
    checkKeySize(cached.bits);
    return cached.key;
  }
  const key = await importUncached(p, algorithm, crypto, partial);
  if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(cacheKey, { key, bits: partial.keyBits, crypto });
  checkKeySize(partial.keyBits);
  return key;
}

/** RFC 8301 §3.2 floor; the ceiling stops CPU exhaustion by absurd keys (RFC 8301 allows 4096). */
function checkKeySize(bits: number | null): void {
  if (bits === null) return;
  if (bits < MIN_RSA_BITS) throw new Verdict('permerror', `the RSA key has ${bits} bits; RFC 8301 requires at least ${MIN_RSA_BITS}`);
  if (bits > MAX_RSA_BITS) throw new Verdict('permerror', `the RSA key has ${bits} bits; more than ${MAX_RSA_BITS} is refused`);
}

async function importUncached(p: string, algorithm: 'rsa' | 'ed25519', crypto: Crypto, partial: SignatureFacts): Promise<CryptoKey> {
  const keyBytes = base64ToBytes(p);
  if (!keyBytes) throw new Verdict('permerror', 'the key record\'s p= is not base64');
  if (algorithm === 'ed25519') {
    if (keyBytes.length !== 32) throw new Verdict('permerror', `an Ed25519 key is 32 bytes, the record has ${keyBytes.length}`);
    try {
      return await crypto.subtle.importKey('raw', keyBytes, { name: 'Ed25519' }, false, ['verify']);
    } catch (error) {
      throw new Verdict('permerror', `the Ed25519 key cannot be loaded (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  const params: RsaHashedImportParams = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey('spki', keyBytes, params, false, ['verify']);
  } catch {
    try {
      key = await crypto.subtle.importKey('spki', spkiFromPkcs1(keyBytes), params, false, ['verify']);
    } catch (error) {
      throw new Verdict('permerror', `the RSA key cannot be loaded (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  partial.keyBits = (key.algorithm as RsaHashedKeyAlgorithm).modulusLength;
  return key;
}

async function fetchKeyRecord(options: DkimOptions, selector: string, domain: string): Promise<Map<string, Tag>> {
  const name = `${selector}._domainkey.${domain}`;
  const answer = await options.resolver.txt(name);
  if (answer.kind === 'error') throw new Verdict('temperror', `key lookup for ${name} failed: ${answer.reason}`);
  if (answer.kind === 'none') throw new Verdict('permerror', `no key published at ${name}`);
  for (const text of answer.records) {
    let tags: Map<string, Tag>;
    try {
      tags = parseTagList(text);
    } catch {
      continue;
    }
    if (tags.has('p')) return tags;
  }
  throw new Verdict('permerror', `no DKIM key record among the TXT records at ${name}`);
}

/** Picks header fields for h= bottom-up, each instance used once (RFC 6376 §5.4.2). */
function selectHeaders(message: ParsedMessage, names: readonly string[]): HeaderField[] {
  const used = new Map<string, number>();
  const out: HeaderField[] = [];
  for (const name of names) {
    const instances = message.all(name);
    const taken = used.get(name) ?? 0;
    const field = instances[instances.length - 1 - taken];
    used.set(name, taken + 1);
    if (field) out.push(field);
  }
  return out;
}

/** Canonicalized bodies and body hashes, shared by the signatures of one message. */
class BodyCache {
  private readonly canonical = new Map<Canonicalization, string>();
  private readonly hashes = new Map<string, Promise<Uint8Array>>();

  constructor(
    private readonly body: string,
    private readonly crypto: Crypto,
  ) {}

  canonicalized(canon: Canonicalization): string {
    let text = this.canonical.get(canon);
    if (text === undefined) {
      text = canon === 'simple' ? simpleBody(this.body) : relaxedBody(this.body);
      this.canonical.set(canon, text);
    }
    return text;
  }

  /** SHA-256 of the first `length` canonical bytes (all of them when null); length ≤ the body's. */
  hash(canon: Canonicalization, length: number | null): Promise<Uint8Array> {
    const key = `${canon}/${length ?? ''}`;
    let hash = this.hashes.get(key);
    if (!hash) {
      const canonical = this.canonicalized(canon);
      const signed = length === null ? canonical : canonical.slice(0, length);
      hash = this.crypto.subtle.digest('SHA-256', binaryToBytes(signed)).then((d) => new Uint8Array(d));
      this.hashes.set(key, hash);
    }
    return hash;
  }
}

async function verifyOne(message: ParsedMessage, field: HeaderField, options: DkimOptions, partial: SignatureFacts, bodies: BodyCache): Promise<string> {
  let tags: Map<string, Tag>;
  try {
    tags = parseTagList(field.value);
  } catch (error) {
    throw new Verdict('permerror', `the signature's tag list is malformed (${error instanceof TagListError ? error.message : String(error)})`);
  }
  for (const required of ['v', 'a', 'b', 'bh', 'd', 'h', 's']) {
    if (!tags.has(required)) throw new Verdict('permerror', `the signature lacks the required ${required}= tag`);
  }
  const algorithmText = tagValue(tags, 'a')!.trim().toLowerCase();
  partial.algorithm = algorithmText;
  partial.domain = compact(tagValue(tags, 'd')!).toLowerCase();
  partial.selector = compact(tagValue(tags, 's')!).toLowerCase();
  partial.signedHeaders = tagValue(tags, 'h')!.split(':').map((h) => compact(h).toLowerCase()).filter((h) => h !== '');
  partial.signature = compact(tagValue(tags, 'b')!);
  const identity = tagValue(tags, 'i');
  partial.identity = identity === undefined ? null : compact(identity);

  if (tagValue(tags, 'v')!.trim() !== '1') throw new Verdict('permerror', `unsupported DKIM version v=${tagValue(tags, 'v')!}`);
  let algorithm: 'rsa' | 'ed25519';
  if (algorithmText === 'rsa-sha256') algorithm = 'rsa';
  else if (algorithmText === 'ed25519-sha256') algorithm = 'ed25519';
  else if (algorithmText === 'rsa-sha1') throw new Verdict('permerror', 'rsa-sha1 is refused (RFC 8301 §3.1)');
  else throw new Verdict('permerror', `unknown signing algorithm "${algorithmText}"`);
  const [headerCanon, bodyCanon] = parseCanon(tagValue(tags, 'c'));
  const domain = partial.domain;
  const selector = partial.selector;
  if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(domain) || !/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(selector)) {
    throw new Verdict('permerror', 'd= or s= is not a domain name');
  }
  if (!partial.signedHeaders.includes('from')) throw new Verdict('permerror', 'h= does not include From (RFC 6376 §5.4)');
  const query = tagValue(tags, 'q');
  if (query !== undefined && !query.split(':').some((q) => compact(q).toLowerCase() === 'dns/txt')) throw new Verdict('permerror', `unsupported key query method q=${query}`);
  if (partial.identity !== null) {
    const auidDomain = partial.identity.slice(partial.identity.lastIndexOf('@') + 1).toLowerCase();
    if (auidDomain !== domain && !auidDomain.endsWith(`.${domain}`)) throw new Verdict('permerror', `i= (${partial.identity}) is not within d= (${domain})`);
  }
  const lText = tagValue(tags, 'l');
  if (lText !== undefined) {
    if (!/^\d{1,76}$/.test(lText.trim())) throw new Verdict('permerror', 'l= is not a number');
    partial.bodyLength = Number(lText.trim());
  }
  // Measured before the key lookup, so a policy can see a partial body even on a temperror.
  partial.canonicalBodyLength = bodies.canonicalized(bodyCanon).length;
  const now = Math.floor(options.now().getTime() / 1000);
  const signedAt = parseTimestamp(tagValue(tags, 't'), 't');
  const expires = parseTimestamp(tagValue(tags, 'x'), 'x');
  if (signedAt !== null && expires !== null && expires < signedAt) throw new Verdict('permerror', 'x= is before t=');
  if (expires !== null && expires < now) throw new Verdict('permerror', `the signature expired at ${new Date(expires * 1000).toISOString()}`);
  if (signedAt !== null && signedAt > now + CLOCK_SKEW_SECONDS) throw new Verdict('permerror', `the signature is dated in the future (${new Date(signedAt * 1000).toISOString()})`);
  const signature = base64ToBytes(tagValue(tags, 'b')!);
  const bodyHash = base64ToBytes(tagValue(tags, 'bh')!);
  if (!signature || signature.length === 0) throw new Verdict('permerror', 'b= is not base64');
  if (!bodyHash) throw new Verdict('permerror', 'bh= is not base64');

  // The key (RFC 6376 §3.6): flags, services, hashes, revocation.
  const record = await fetchKeyRecord(options, selector, domain);
  const version = tagValue(record, 'v');
  if (version !== undefined && version.trim() !== 'DKIM1') throw new Verdict('permerror', `the key record has v=${version}`);
  const keyType = (tagValue(record, 'k') ?? 'rsa').trim().toLowerCase();
  if (keyType !== algorithm) throw new Verdict('permerror', `the key is k=${keyType} but the signature uses ${algorithmText}`);
  const hashes = tagValue(record, 'h');
  if (hashes !== undefined && !hashes.split(':').some((h) => compact(h).toLowerCase() === 'sha256')) throw new Verdict('permerror', `the key record allows only h=${hashes}`);
  const services = tagValue(record, 's');
  if (services !== undefined && !services.split(':').some((s) => ['*', 'email'].includes(compact(s).toLowerCase()))) throw new Verdict('permerror', `the key is not for email (s=${services})`);
  const flags = (tagValue(record, 't') ?? '').split(':').map((f) => compact(f).toLowerCase());
  partial.testing = flags.includes('y');
  if (flags.includes('s') && partial.identity !== null) {
    const auidDomain = partial.identity.slice(partial.identity.lastIndexOf('@') + 1).toLowerCase();
    if (auidDomain !== domain) throw new Verdict('permerror', 'the key has t=s but i= is a subdomain of d=');
  }
  if (compact(tagValue(record, 'p') ?? '') === '') throw new Verdict('permerror', 'the key has been revoked (empty p=)');
  const key = await importKey(record, algorithm, options.crypto, partial);

  // Body hash (§3.7), shared between signatures with the same canonicalization and l=.
  const bodyBytes = partial.canonicalBodyLength;
  if (partial.bodyLength !== null && partial.bodyLength > bodyBytes) {
    throw new Verdict('fail', `l=${partial.bodyLength} is longer than the body (${bodyBytes} bytes)`);
  }
  if (!bytesEqual(await bodies.hash(bodyCanon, partial.bodyLength), bodyHash)) throw new Verdict('fail', 'the body hash did not verify (the body was changed)');

  // Header hash (§3.7): the h= fields bottom-up, then this field with b= blanked, no final CRLF.
  const canonHeader = headerCanon === 'simple' ? simpleHeader : relaxedHeader;
  let data = '';
  for (const h of selectHeaders(message, partial.signedHeaders)) data += canonHeader(h);
  const b = tags.get('b')!;
  const offset = field.raw.length - field.value.length;
  const blankedValue = field.value.slice(0, b.afterEquals) + field.value.slice(b.specEnd);
  const blankedRaw = field.raw.slice(0, offset + b.afterEquals) + field.raw.slice(offset + b.specEnd);
  const self = headerCanon === 'simple' ? simpleHeader(field, blankedRaw) : relaxedHeader(field, blankedValue);
  data += self.slice(0, -2);
  const dataBytes = binaryToBytes(data);
  let ok: boolean;
  if (algorithm === 'rsa') {
    ok = await options.crypto.subtle.verify('RSASSA-PKCS1-v1_5', key, signature, dataBytes);
  } else {
    const digest = await options.crypto.subtle.digest('SHA-256', dataBytes);
    ok = await options.crypto.subtle.verify('Ed25519', key, signature, digest);
  }
  if (!ok) throw new Verdict('fail', 'the signature did not verify (a signed header field was changed)');
  const partialBody = partial.bodyLength !== null && partial.bodyLength < bodyBytes;
  return `signature by ${domain} verified${partialBody ? ` (only the first ${partial.bodyLength} of ${bodyBytes} body bytes are signed)` : ''}`;
}

/**
 * Verifies every DKIM-Signature of a message (RFC 6376 §6.1), top first. An unsigned message
 * gives an empty list (RFC 8601 `dkim=none`). Never throws for a bad signature.
 */
export async function verifyDkim(message: ParsedMessage, options: DkimOptions): Promise<DkimResult[]> {
  const fields = message.all('dkim-signature');
  const max = options.maxSignatures ?? DEFAULT_MAX_SIGNATURES;
  const bodies = new BodyCache(message.body, options.crypto);
  return Promise.all(
    fields.map(async (field, index): Promise<DkimResult> => {
      const partial: SignatureFacts = { domain: null, selector: null, algorithm: null, signedHeaders: [], identity: null, bodyLength: null, canonicalBodyLength: null, testing: false, keyBits: null, signature: null };
      if (index >= max) return { ...partial, result: 'policy', reason: `not evaluated: the mail carries more than ${max} signatures` };
      try {
        const reason = await verifyOne(message, field, options, partial, bodies);
        return { ...partial, result: 'pass', reason };
      } catch (error) {
        if (error instanceof Verdict) return { ...partial, result: error.result, reason: error.why };
        // WebCrypto or resolver failures that are not the signature's fault: temporary.
        return { ...partial, result: 'temperror', reason: `verification could not run (${error instanceof Error ? error.message : String(error)})` };
      }
    }),
  );
}
