/**
 * Secrets at rest: a whole enrollment — key and CSR by the real keys adapter over src/pkcs12,
 * the CA's genuine challenge mail checked by the real mail check, a real certificate issued by
 * OpenSSL for the CSR, PKCS#12 built and "installed" — with every value the flow ever wrote to
 * storage.local kept (./flow.ts MemoryStorage.writes). None of them may hold the private key
 * (PKCS#8 DER in base64, base64url or hex; PEM; the JWK `d`) or the passphrase in the clear; the
 * passphrase lives only in storage.session and is gone after installation; the pending key is
 * gone after installation unless the user chose to keep it (then only encrypted).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeysAdapter } from '../../src/enroll/adapters/keys';
import type { GeneratedKey, KeyPort, KeyType } from '../../src/enroll/ports';
import { KEYS } from '../../src/enroll/state';
import { decryptPrivateKey, parsePkcs12, pemEncode, WrongPassphraseError } from '../../src/pkcs12/index';
import { CA_FROM, IDENTITY, THUMBPRINT, TOKEN2, challengeMail, makeContext, signAsCa, type ForgeryContext } from '../fixtures/forgery/mutations';
import { crypto, FlowWorld, MemoryAcme } from './flow';

const IDENTITY_ID = 'account1/identity1';
const PASSPHRASE = 'Correct horse battery staple — test only';
/** Low on purpose: the work factor does not change what is stored, only how fast tests run. */
const ITERATIONS = 2048;

let ctx: ForgeryContext;
let t0: number;
/** Per enrollment: values written to storage.local, and secrets found in them. */
const tally: { writes: number; found: number }[] = [];

beforeAll(() => {
  t0 = Math.floor(Date.now() / 1000) * 1000;
  ctx = makeContext(t0);
}, 60_000);

afterAll(() => {
  ctx.remove();
});

/** A mailbox-validating CA: OpenSSL signs the CSR with the test root, SAN and keyUsage copied. */
function issue(csrDer: Uint8Array): Promise<string> {
  const name = `leaf-${Math.random().toString(36).slice(2)}`;
  const csr = join(ctx.dir, `${name}.csr`);
  const cert = join(ctx.dir, `${name}.pem`);
  const ext = join(ctx.dir, `${name}.ext`);
  writeFileSync(csr, pemEncode('CERTIFICATE REQUEST', csrDer));
  writeFileSync(ext, 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=emailProtection\n');
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ctx.smime.root.certPath, '-CAkey', ctx.smime.root.keyPath, '-CAcreateserial', '-out', cert, '-days', '1', '-copy_extensions', 'copy', '-extfile', ext], { stdio: 'pipe' });
  return Promise.resolve(readFileSync(cert, 'utf8') + ctx.smime.root.certPem);
}

/** Every written form of the key the flow generated, learnt by opening its encrypted form. */
interface KeyForms {
  readonly needles: { readonly what: string; readonly text: string }[];
  readonly pkcs8: Uint8Array;
}

/** The real keys adapter, watched: it learns the clear key so the test can look for it. */
class WatchedKeys implements KeyPort {
  readonly inner: KeyPort = createKeysAdapter({ crypto, iterations: ITERATIONS });
  readonly generated: { key: GeneratedKey; passphrase: string; forms: KeyForms }[] = [];
  async generate(...args: Parameters<KeyPort['generate']>): Promise<GeneratedKey> {
    const key = await this.inner.generate(...args);
    const privateKey = await decryptPrivateKey(key.encryptedKey, args[3], crypto, { extractable: true });
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', privateKey));
    const jwk = await crypto.subtle.exportKey('jwk', privateKey);
    const der = Buffer.from(pkcs8);
    const d = Buffer.from(jwk.d!, 'base64url');
    const needles = [
      { what: 'PKCS#8 DER, base64', text: der.toString('base64') },
      { what: 'PKCS#8 DER, base64url', text: der.toString('base64url') },
      { what: 'PKCS#8 DER, hex', text: der.toString('hex') },
      { what: 'PKCS#8 PEM body', text: pemEncode('PRIVATE KEY', pkcs8).replace(/-----[A-Z ]+-----|\s/g, '') },
      { what: 'JWK d (base64url)', text: jwk.d! },
      { what: 'private scalar/exponent, base64', text: d.toString('base64').replace(/=+$/, '') },
      { what: 'private scalar/exponent, hex', text: d.toString('hex') },
      // A long run from the middle of the secret, in case it was stored cut or re-wrapped. Not from
      // the end of the DER: for an EC key that is the public key (ECPrivateKey's publicKey field),
      // which the CSR and the certificate rightly hold — a needle there found it at random offsets.
      { what: 'private scalar/exponent excerpt, base64', text: d.subarray(3, d.length - 3).toString('base64').slice(4, 40) },
    ];
    this.generated.push({ key, passphrase: args[3], forms: { needles, pkcs8 } });
    return key;
  }
  buildPkcs12(...args: Parameters<KeyPort['buildPkcs12']>): Promise<Uint8Array> {
    return this.inner.buildPkcs12(...args);
  }
  csrForKey(...args: Parameters<KeyPort['csrForKey']>): Promise<Uint8Array> {
    return this.inner.csrForKey(...args);
  }
  openPkcs12(...args: Parameters<KeyPort['openPkcs12']>): ReturnType<KeyPort['openPkcs12']> {
    return this.inner.openPkcs12(...args);
  }
  /** The one-time import file: its secret is also a secret at rest, looked for below. */
  readonly oneTimeSecrets: string[] = [];
  async buildImportPkcs12(...args: Parameters<KeyPort['buildImportPkcs12']>): ReturnType<KeyPort['buildImportPkcs12']> {
    const built = await this.inner.buildImportPkcs12(...args);
    this.oneTimeSecrets.push(built.secret);
    return built;
  }
  isStrongPkcs12(pkcs12: Uint8Array): boolean {
    return this.inner.isStrongPkcs12(pkcs12);
  }
  inspect(chainPem: string): ReturnType<KeyPort['inspect']> {
    return this.inner.inspect(chainPem);
  }
  leafDer(chainPem: string): Uint8Array {
    return this.inner.leafDer(chainPem);
  }
  generatePassphrase(): string {
    return this.inner.generatePassphrase();
  }
}

/** A JSON text with escapes and whitespace removed, so a PEM or a wrapped value is still found. */
function flat(text: string): string {
  return text.replace(/\\[nrt]/g, '').replace(/\s+/g, '');
}

interface Run {
  readonly world: FlowWorld;
  readonly keys: WatchedKeys;
  readonly passphrase: string;
  readonly enrollmentId: string;
  /** storage.session as it was while the enrollment waited for its mail. */
  readonly sessionWhileWaiting: Record<string, unknown>;
}

async function enrollment(keyType: KeyType, keepKey: boolean, givePassphrase: boolean): Promise<Run> {
  const keys = new WatchedKeys();
  const world = new FlowWorld({
    challenge: { from: CA_FROM, token: TOKEN2, thumbprint: THUMBPRINT },
    zone: () => ctx.zone,
    now: t0,
    keys,
    acme: new MemoryAcme({ from: CA_FROM, token: TOKEN2, thumbprint: THUMBPRINT }, issue),
  });
  const enroller = world.enroller();
  const started = await enroller.start({ identityId: IDENTITY_ID, email: IDENTITY, keyType, keepKey, termsAgreed: true, ...(givePassphrase ? { passphrase: PASSPHRASE } : {}) });
  const passphrase = givePassphrase ? PASSPHRASE : started.generatedPassphrase!;
  expect(passphrase.length).toBeGreaterThanOrEqual(8);
  expect((await enroller.advance(started.enrollment.id)).step).toBe('awaiting-mail');
  const sessionWhileWaiting = structuredClone(world.session.data);
  world.now = t0 + 120_000;
  await world.deliver(enroller, await signAsCa(ctx, challengeMail(ctx)), ctx.mailDate.getTime());
  expect(world.reply.sent, 'the genuine challenge is answered').toHaveLength(1);
  await world.elapse(enroller, 120_000);
  const final = world.storage.enrollments().find((e) => e.id === started.enrollment.id)!;
  expect(final.step, JSON.stringify(final.error)).toBe('installed');
  return { world, keys, passphrase, enrollmentId: started.enrollment.id, sessionWhileWaiting };
}

function secretsIn(run: Run, text: string): string[] {
  const haystack = flat(text);
  const found: string[] = [];
  if (haystack.includes(flat(JSON.stringify(run.passphrase)).slice(1, -1))) found.push('the passphrase');
  for (const { forms } of run.keys.generated) for (const n of forms.needles) if (haystack.includes(n.text)) found.push(n.what);
  for (const secret of run.keys.oneTimeSecrets) if (haystack.includes(secret)) found.push('the one-time import secret');
  return found;
}

describe.each([
  ['P-256', false, true],
  ['P-256', true, true],
  ['RSA-2048', false, false],
  ['RSA-2048', true, false],
] as const)('secrets at rest: %s key, keep key %s, passphrase given %s', (keyType, keepKey, givePassphrase) => {
  let run: Run;

  beforeAll(async () => {
    run = await enrollment(keyType, keepKey, givePassphrase);
  }, 60_000);

  it('the certificate was issued for the generated key and installed under a one-time secret, not the passphrase', () => {
    expect(run.keys.generated).toHaveLength(1);
    expect(run.world.certStore.imported).toHaveLength(1);
    expect(run.keys.oneTimeSecrets).toHaveLength(1);
    expect(run.world.certStore.imported[0]!.passphrase).toBe(run.keys.oneTimeSecrets[0]);
    expect(run.world.certStore.imported[0]!.passphrase).not.toBe(run.passphrase);
    expect(run.world.certStore.identities.get(IDENTITY_ID)?.dbKey).toBe(`dbkey-${IDENTITY}`);
  });

  it('no value ever written to storage.local holds the key or the passphrase in the clear', () => {
    const { writes } = run.world.storage;
    expect(writes.length).toBeGreaterThan(10);
    // The search itself works: the key's forms are found where they are (the clear PKCS#8).
    expect(secretsIn(run, JSON.stringify({ k: Buffer.from(run.keys.generated[0]!.forms.pkcs8).toString('base64'), p: run.passphrase }))).toEqual(expect.arrayContaining(['the passphrase', 'PKCS#8 DER, base64']));
    tally.push({ writes: writes.length, found: writes.reduce((n, w) => n + secretsIn(run, w).length, 0) });
    for (const [i, write] of writes.entries()) expect(secretsIn(run, write), `write ${i}: ${write.slice(0, 120)}`).toEqual([]);
    expect(secretsIn(run, JSON.stringify(run.world.storage.data))).toEqual([]);
  });

  it('the passphrase lives only in storage.session, and is gone from it after installation', () => {
    expect(run.sessionWhileWaiting).toEqual({ [KEYS.passphrase(run.enrollmentId)]: run.passphrase });
    expect(secretsIn(run, JSON.stringify(run.world.session.data))).toEqual([]);
    expect(Object.keys(run.world.session.data)).toEqual([]);
  });

  it('the stored key is encrypted under the passphrase, never plain PKCS#8', async () => {
    const stored = run.keys.generated[0]!.key.encryptedKey;
    await expect(crypto.subtle.importKey('pkcs8', new Uint8Array(stored), keyType === 'P-256' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, true, ['sign'])).rejects.toThrow();
    await expect(decryptPrivateKey(stored, `${run.passphrase}x`, crypto)).rejects.toBeInstanceOf(WrongPassphraseError);
    const opened = await decryptPrivateKey(stored, run.passphrase, crypto, { extractable: true });
    expect(Buffer.from(await crypto.subtle.exportKey('pkcs8', opened))).toEqual(Buffer.from(run.keys.generated[0]!.forms.pkcs8));
  });

  it(keepKey ? 'the key is kept, encrypted, after installation (the user chose to)' : 'the pending key is gone after installation', () => {
    const records = run.world.storage.enrollments();
    const withKey = records.filter((e) => e.encryptedKey !== undefined);
    if (keepKey) {
      expect(withKey.map((e) => e.encryptedKey)).toEqual([Buffer.from(run.keys.generated[0]!.key.encryptedKey).toString('base64')]);
    } else {
      expect(withKey).toEqual([]);
      expect(JSON.stringify(run.world.storage.data)).not.toContain(Buffer.from(run.keys.generated[0]!.key.encryptedKey).toString('base64').slice(0, 40));
    }
  });

  it('debug log and notifications carry no secret', () => {
    expect(run.world.logs.length).toBeGreaterThan(0);
    for (const line of run.world.logs) expect(secretsIn(run, line), line).toEqual([]);
    for (const notice of run.world.notices) expect(secretsIn(run, JSON.stringify(notice))).toEqual([]);
  });

  it('the .p12 offered for download is encrypted: no clear key inside, opens only with the passphrase', async () => {
    expect(run.world.downloads).toHaveLength(1);
    const p12 = run.world.downloads[0]!.bytes;
    expect(Buffer.from(p12).includes(Buffer.from(run.keys.generated[0]!.forms.pkcs8))).toBe(false);
    await expect(parsePkcs12(p12, `${run.passphrase}x`, crypto)).rejects.toBeInstanceOf(WrongPassphraseError);
    const parsed = await parsePkcs12(p12, run.passphrase, crypto);
    expect(Buffer.from(await crypto.subtle.exportKey('pkcs8', parsed.privateKey))).toEqual(Buffer.from(run.keys.generated[0]!.forms.pkcs8));
  });
});

describe('secrets at rest: an enrollment that does not finish', () => {
  async function waiting(acme?: MemoryAcme): Promise<{ world: FlowWorld; id: string; enroller: ReturnType<FlowWorld['enroller']> }> {
    const world = new FlowWorld({ challenge: { from: CA_FROM, token: TOKEN2, thumbprint: THUMBPRINT }, zone: () => ctx.zone, now: t0, keys: new WatchedKeys(), ...(acme ? { acme } : {}) });
    const enroller = world.enroller();
    const { enrollment } = await enroller.start({ identityId: IDENTITY_ID, email: IDENTITY, passphrase: PASSPHRASE, termsAgreed: true });
    await enroller.advance(enrollment.id);
    expect(world.storage.enrollments()[0]!.encryptedKey).toBeDefined();
    return { world, id: enrollment.id, enroller };
  }

  it('cancelled: the encrypted key and the passphrase are removed', async () => {
    const { world, id, enroller } = await waiting();
    expect((await enroller.cancel(id)).step).toBe('cancelled');
    expect(world.storage.enrollments()[0]!.encryptedKey).toBeUndefined();
    expect(world.session.data).toEqual({});
  });

  it('failed (the CA refuses the challenge): the encrypted key and the passphrase are removed', async () => {
    class RefusingAcme extends MemoryAcme {
      override getAuthorization(d: string, url: string): ReturnType<MemoryAcme['getAuthorization']> {
        return super.getAuthorization(d, url).then((a) => (this.posted > 0 ? { ...a, status: 'invalid' as const } : a));
      }
    }
    const { world, enroller } = await waiting(new RefusingAcme({ from: CA_FROM, token: TOKEN2, thumbprint: THUMBPRINT }));
    await world.elapse(enroller, 2 * 3600_000);
    const e = world.storage.enrollments()[0]!;
    expect(e.step).toBe('failed');
    expect(e.encryptedKey).toBeUndefined();
    expect(world.session.data).toEqual({});
  });
});

describe('secrets at rest: figure', () => {
  it('prints the figure over every enrollment above', () => {
    const writes = tally.reduce((n, t) => n + t.writes, 0);
    const found = tally.reduce((n, t) => n + t.found, 0);
    console.log(`secrets: found ${found} in ${writes} storage.local writes over ${tally.length} full enrollments (key or passphrase in the clear); pending key removed after install when not kept`);
    expect(tally).toHaveLength(4);
    expect(found).toBe(0);
  });
});
