/**
 * Short-lived certificates (`certificateLifetimeSeconds`) and revocation by the certificate's own
 * key (RFC 8555 §7.6): the CA accepts a revokeCert JWS carrying the certificate's key as `jwk`
 * only when that key is the certificate's public key, and refuses every other signer with
 * `unauthorized`.
 */
import 'reflect-metadata';
import { createPrivateKey, generateKeyPairSync, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox, type SandboxUser } from '../../sandbox/index';
import { b64, makeCsr, TestAcmeClient } from './acme-test-client';
import { answer, order } from './flow';

const LIFETIME_SECONDS = 120;
let sandbox: Sandbox;
let alice: SandboxUser;

beforeAll(async () => {
  sandbox = await startSandbox({ certificateLifetimeSeconds: LIFETIME_SECONDS });
  alice = sandbox.users[0]!;
});

afterAll(async () => {
  await sandbox.stop();
});

const acmeError = (name: string): string => `urn:ietf:params:acme:error:${name}`;

async function webcryptoToNode(keys: CryptoKeyPair): Promise<KeyObject> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
}

interface Issued {
  readonly client: TestAcmeClient;
  readonly leaf: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
  readonly key: KeyObject;
}

/** A certificate for alice (for `keys`, or a fresh key), issued through the whole flow. */
async function issue(keys?: CryptoKeyPair): Promise<Issued> {
  const p = await order(sandbox, alice);
  expect((await answer(sandbox, alice, p))['status']).toBe('valid');
  const csr = await makeCsr({ emails: [alice.email], ...(keys === undefined ? {} : { keys }) });
  const finalized = await p.client.post(p.finalizeUrl, { csr: b64(csr.der) });
  expect(finalized.status, finalized.text).toBe(200);
  const valid = await p.client.pollUntil(p.orderUrl, (o) => o['status'] === 'valid');
  const chain = await p.client.get(valid['certificate'] as string);
  const leaf = new x509.X509Certificate(chain.text.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!);
  return { client: p.client, leaf, keys: csr.keys, key: await webcryptoToNode(csr.keys) };
}

/** The bytes of a certificate's subjectPublicKeyInfo. */
const spkiOf = (cert: x509.X509Certificate): Buffer => Buffer.from(cert.publicKey.rawData);

async function ariWindowEnd(client: TestAcmeClient, leaf: x509.X509Certificate): Promise<number> {
  const aki = leaf.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId!;
  const certId = `${b64(Buffer.from(aki, 'hex'))}.${b64(Buffer.from(leaf.serialNumber, 'hex'))}`;
  const info = (await (await client.fetch(`${await client.url('renewalInfo')}/${certId}`)).json()) as { suggestedWindow: { start: string; end: string } };
  return Date.parse(info.suggestedWindow.end);
}

describe('short-lived certificates', () => {
  it(`issues certificates valid for certificateLifetimeSeconds (${LIFETIME_SECONDS} s, notBefore back-dated a minute) with the ARI window inside that life`, async () => {
    const { client, leaf } = await issue();
    expect(leaf.notAfter.getTime() - leaf.notBefore.getTime()).toBe((LIFETIME_SECONDS + 60) * 1000);
    const end = await ariWindowEnd(client, leaf);
    expect(end).toBeGreaterThan(leaf.notBefore.getTime());
    expect(end).toBeLessThan(leaf.notAfter.getTime());
  });
});

describe('revocation by the certificate key (RFC 8555 §7.6)', () => {
  it('certificate key: refuses a jwk that is not the certificate key and another account, accepts the certificate key, then never certifies that key again', async () => {
    const { client, leaf, keys, key } = await issue();
    // A certificate for the same key (renewal with a kept key) is issued while the key is good.
    const renewed = await issue(keys);
    expect(spkiOf(renewed.leaf).equals(spkiOf(leaf))).toBe(true);
    const request = { certificate: b64(new Uint8Array(leaf.rawData)), reason: 1 }; // keyCompromise

    const stranger = new TestAcmeClient(sandbox, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    const byStranger = await stranger.post(await stranger.url('revokeCert'), request);
    expect([byStranger.status, byStranger.json?.['type']]).toEqual([403, acmeError('unauthorized')]);
    expect(byStranger.json?.['detail']).toMatch(/not the certificate's public key/);

    const otherAccount = new TestAcmeClient(sandbox);
    expect((await otherAccount.newAccount()).status).toBe(201);
    const byOtherAccount = await otherAccount.post(await otherAccount.url('revokeCert'), request);
    expect([byOtherAccount.status, byOtherAccount.json?.['type']]).toEqual([403, acmeError('unauthorized')]);
    // Neither refusal revoked anything: ARI still suggests renewing in the future.
    expect(await ariWindowEnd(client, leaf)).toBeGreaterThan(Date.now());

    const byCertKey = new TestAcmeClient(sandbox, key);
    const revoked = await byCertKey.post(await byCertKey.url('revokeCert'), request);
    expect(revoked.status, revoked.text).toBe(200);
    expect(await ariWindowEnd(client, leaf)).toBeLessThan(Date.now());
    const again = await byCertKey.post(await byCertKey.url('revokeCert'), request);
    expect(again.json?.['type']).toBe(acmeError('alreadyRevoked'));

    // A key revoked for keyCompromise is never certified again (S/MIME BR §6.1.1.3).
    const p = await order(sandbox, alice);
    expect((await answer(sandbox, alice, p))['status']).toBe('valid');
    const compromised = await makeCsr({ emails: [alice.email], keys });
    const refused = await p.client.post(p.finalizeUrl, { csr: b64(compromised.der) });
    expect([refused.status, refused.json?.['type']]).toEqual([400, acmeError('badCSR')]);
    expect(refused.json?.['detail']).toMatch(/revoked for keyCompromise/);
  });
});
