/**
 * A deliberately small ACME client for testing the sandbox CA — written with Node's crypto only,
 * independent of src/acme, so the sandbox's strictness is tested against a third implementation.
 * It can also misbehave on request (wrong url, reused nonce, spoiled signature) to test refusals.
 * Test-only: keys are made per run.
 */
import 'reflect-metadata';
import { createHash, generateKeyPairSync, sign, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { Sandbox } from '../../sandbox/index';
import { fetchTrusting } from '../helpers/openssl';

export interface AcmeReply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** Parsed JSON when the body is JSON, else undefined. */
  readonly json: Record<string, unknown> | undefined;
}

export interface Misbehave {
  /** Put this url in the protected header instead of the request URL. */
  readonly headerUrl?: string;
  /** Use this nonce instead of a fresh one. */
  readonly nonce?: string;
  /** Flip a bit of the signature. */
  readonly spoilSignature?: boolean;
  /** Sign with the jwk even though an account exists. */
  readonly useJwk?: boolean;
}

const b64 = (data: Uint8Array | string): string => Buffer.from(data).toString('base64url');

export class TestAcmeClient {
  readonly fetch: typeof fetch;
  private directory: Record<string, string> | undefined;
  private nonces: string[] = [];
  kid: string | undefined;
  /** The last nonce used, for replay tests. */
  lastNonce = '';

  /** Only the directory URL and the root to trust are needed, so a sandbox run by the CLI works too. */
  constructor(readonly sandbox: Pick<Sandbox, 'directoryUrl' | 'tlsRootPem'>, readonly key: KeyObject = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey) {
    this.fetch = fetchTrusting(sandbox.tlsRootPem);
  }

  get jwk(): Record<string, string> {
    const { kty, crv, x, y, n, e } = this.key.export({ format: 'jwk' });
    return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  }

  /** RFC 7638 thumbprint, computed here independently of the sandbox. */
  get thumbprint(): string {
    const jwk = this.jwk;
    const members = jwk['kty'] === 'EC' ? ['crv', 'kty', 'x', 'y'] : ['e', 'kty', 'n'];
    const json = `{${members.map((m) => `"${m}":"${jwk[m] ?? ''}"`).join(',')}}`;
    return b64(createHash('sha256').update(json).digest());
  }

  async dir(): Promise<Record<string, string>> {
    this.directory ??= (await (await this.fetch(this.sandbox.directoryUrl)).json()) as Record<string, string>;
    return this.directory;
  }

  async url(name: string): Promise<string> {
    const value = (await this.dir())[name];
    if (typeof value !== 'string') throw new Error(`directory has no ${name}`);
    return value;
  }

  private async nonce(): Promise<string> {
    const pooled = this.nonces.pop();
    if (pooled) return pooled;
    const response = await this.fetch(await this.url('newNonce'), { method: 'HEAD' });
    const nonce = response.headers.get('replay-nonce');
    if (!nonce) throw new Error('newNonce gave no Replay-Nonce');
    return nonce;
  }

  /** A flattened JWS over `payload` (undefined = POST-as-GET). */
  async jws(url: string, payload: unknown, misbehave: Misbehave = {}, signer: KeyObject = this.key, extraHeader: Record<string, unknown> = {}): Promise<string> {
    const nonce = misbehave.nonce ?? (await this.nonce());
    this.lastNonce = nonce;
    const ec = signer.asymmetricKeyType === 'ec';
    const header: Record<string, unknown> = { alg: ec ? 'ES256' : 'RS256', nonce, url: misbehave.headerUrl ?? url, ...extraHeader };
    if (this.kid && !misbehave.useJwk && !('jwk' in extraHeader)) header['kid'] = this.kid;
    else if (!('jwk' in extraHeader)) header['jwk'] = this.jwk;
    return flattened(header, payload, signer, misbehave.spoilSignature ?? false);
  }

  async post(url: string, payload: unknown, misbehave: Misbehave = {}): Promise<AcmeReply> {
    const body = await this.jws(url, payload, misbehave);
    return this.send(url, body);
  }

  async send(url: string, body: string, contentType = 'application/jose+json'): Promise<AcmeReply> {
    const response = await this.fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
    const nonce = response.headers.get('replay-nonce');
    if (nonce) this.nonces.push(nonce);
    const text = await response.text();
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  async newAccount(extra: Record<string, unknown> = {}): Promise<AcmeReply> {
    const reply = await this.post(await this.url('newAccount'), { termsOfServiceAgreed: true, contact: ['mailto:admin@example.test'], ...extra });
    const location = reply.headers.get('location');
    if (reply.status < 300 && location) this.kid = location;
    return reply;
  }

  async newOrder(emails: readonly string[]): Promise<AcmeReply> {
    return this.post(await this.url('newOrder'), { identifiers: emails.map((value) => ({ type: 'email', value })) });
  }

  /** POST-as-GET. */
  get(url: string): Promise<AcmeReply> {
    return this.post(url, undefined);
  }

  /** Polls `url` with POST-as-GET until `done` holds (Retry-After is at most 1 s here). */
  async pollUntil(url: string, done: (json: Record<string, unknown>) => boolean, attempts = 100): Promise<Record<string, unknown>> {
    for (let i = 0; i < attempts; i++) {
      const reply = await this.get(url);
      if (reply.json && done(reply.json)) return reply.json;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${url} never reached the wanted state`);
  }
}

function flattened(header: Record<string, unknown>, payload: unknown, signer: KeyObject, spoil: boolean): string {
  const protectedB64 = b64(JSON.stringify(header));
  const payloadB64 = payload === undefined ? '' : b64(JSON.stringify(payload));
  const input = Buffer.from(`${protectedB64}.${payloadB64}`);
  const signature = signer.asymmetricKeyType === 'ec' ? sign('sha256', input, { key: signer, dsaEncoding: 'ieee-p1363' }) : sign('sha256', input, signer);
  if (spoil) signature[5] = signature[5]! ^ 0x01;
  return JSON.stringify({ protected: protectedB64, payload: payloadB64, signature: b64(signature) });
}

/** RFC 8823 §3.2 response value, computed here independently of the sandbox. */
export function responseValue(tokenPart1: string, tokenPart2: string, thumbprint: string, join: 'string' | 'bytes'): string {
  const token = join === 'string'
    ? tokenPart1 + tokenPart2
    : b64(Buffer.concat([Buffer.from(tokenPart1, 'base64url'), Buffer.from(tokenPart2, 'base64url')]));
  return b64(createHash('sha256').update(`${token}.${thumbprint}`).digest());
}

export interface CsrOptions {
  readonly emails: readonly string[];
  readonly keyUsage?: x509.KeyUsageFlags;
  readonly extraExtensions?: readonly x509.Extension[];
  readonly subject?: string;
  /** The key pair to certify (a kept key); a fresh P-256 pair by default. */
  readonly keys?: CryptoKeyPair;
}

/** A PKCS#10 request (DER) for `options.keys` or a fresh P-256 key, built with @peculiar/x509. */
export async function makeCsr(options: CsrOptions): Promise<{ der: Uint8Array; keys: CryptoKeyPair }> {
  const crypto = webcrypto as unknown as Crypto;
  const keys = options.keys ?? await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    ...(options.subject === undefined ? {} : { name: options.subject }),
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.SubjectAlternativeNameExtension(options.emails.map((value) => ({ type: 'email' as const, value }))),
      // KeyUsageFlags is a bit set: OR-ing its members is how it is meant to be used.
      // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
      new x509.KeyUsagesExtension(options.keyUsage ?? (x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement), true),
      ...(options.extraExtensions ?? []),
    ],
  }, crypto);
  return { der: new Uint8Array(csr.rawData), keys };
}

export { b64 };
