/**
 * Certificate download and chain choice (RFC 8555 §7.4.2) and ARI (RFC 9773), with real
 * certificates made by OpenSSL for the test.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcmeClient, AcmeProtocolError, AcmeUsageError, certIdFromParts, generateAccountKey, parsePemChain, renewalCertId } from '../../src/acme';
import { makeTempDir, type TempDir } from '../helpers/process';
import { makeTestCa, openssl } from '../helpers/openssl';
import { BASE, FakeAcme, FakeClock, fixture } from './fake-acme';

const crypto = webcrypto as unknown as Crypto;

let dir: TempDir;
let chainA: string;
let chainB: string;
let leafDer: Uint8Array<ArrayBuffer>;
let caSkiHex: string;

/** A leaf signed by `caName`'s CA, with serial `serial`, an AKI keyid; returns its PEM. */
function leaf(caName: string, serial: string): { pem: string; caSki: string } {
  const sub = join(dir.path, caName.replace(/\W/g, ''));
  mkdirSync(sub);
  const ca = makeTestCa(sub, caName);
  const ext = join(sub, 'leaf.ext');
  writeFileSync(ext, 'authorityKeyIdentifier=keyid:always\nsubjectAltName=email:alice@example.test\n');
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(sub, 'leaf.key'), '-out', join(sub, 'leaf.csr'), '-subj', '/CN=alice']);
  openssl(['x509', '-req', '-in', join(sub, 'leaf.csr'), '-CA', ca.certPath, '-CAkey', ca.keyPath, '-set_serial', serial, '-out', join(sub, 'leaf.pem'), '-days', '1', '-extfile', ext]);
  const ski = openssl(['x509', '-in', ca.certPath, '-noout', '-ext', 'subjectKeyIdentifier']).split('\n')[1]!.trim().replace(/:/g, '');
  return { pem: readFileSync(join(sub, 'leaf.pem'), 'utf8'), caSki: ski };
}

beforeAll(() => {
  dir = makeTempDir('acme-cert');
  const a = leaf('Root A', '0x87654321');
  const b = leaf('Root B', '0x1234');
  chainA = a.pem;
  chainB = b.pem;
  caSkiHex = a.caSki;
  leafDer = parsePemChain(chainA)[0]!;
});

afterAll(() => {
  dir.remove();
});

describe('PEM chains (RFC 8555 §9.1)', () => {
  it('splits a chain into DER certificates, CRLF or LF', () => {
    const two = `${chainA}${chainB}`.replace(/\n/g, '\r\n');
    const ders = parsePemChain(two);
    expect(ders).toHaveLength(2);
    expect(ders[0]![0]).toBe(0x30);
  });

  it('refuses text around or between certificates, other block types, and empty bodies', () => {
    expect(() => parsePemChain(`garbage\n${chainA}`)).toThrow(AcmeProtocolError);
    expect(() => parsePemChain(`${chainA}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n`)).toThrow(AcmeProtocolError);
    expect(() => parsePemChain('')).toThrow(/no certificate/);
  });
});

describe('choosing a chain by issuer (RFC 8555 §7.4.2 Link rel="alternate")', () => {
  async function setUp(): Promise<{ acme: AcmeClient; server: FakeAcme }> {
    const server = new FakeAcme(crypto);
    const key = await generateAccountKey(crypto);
    server.accounts.set(`${BASE}/acme/acct/1`, key.publicJwk);
    const pem = { contentType: 'application/pem-certificate-chain' };
    server.on('POST', '/acme/cert/1', { ...pem, body: chainA, headers: { Link: '</acme/cert/1/alt>;rel="alternate"' } });
    server.on('POST', '/acme/cert/1/alt', { ...pem, body: chainB, headers: { Link: '</acme/cert/1>;rel="alternate"' } });
    const acme = new AcmeClient({ directoryUrl: `${BASE}/dir`, fetch: server.fetch, crypto, accountKey: key, accountUrl: `${BASE}/acme/acct/1`, clock: new FakeClock() });
    return { acme, server };
  }

  it('takes the default chain when it matches, without fetching alternates', async () => {
    const { acme, server } = await setUp();
    const { chain, matched } = await acme.downloadPreferredChain(`${BASE}/acme/cert/1`, 'Root A');
    expect(matched).toBe(true);
    expect(chain.pem).toBe(chainA);
    expect(server.seen('/acme/cert/1/alt')).toHaveLength(0);
    expect(server.violations).toEqual([]);
  });

  it('fetches the alternate whose top issuer matches', async () => {
    const { acme } = await setUp();
    const { chain, matched } = await acme.downloadPreferredChain(`${BASE}/acme/cert/1`, 'Root B');
    expect(matched).toBe(true);
    expect(chain.pem).toBe(chainB);
    expect(chain.url).toBe(`${BASE}/acme/cert/1/alt`);
    expect(chain.alternates).toEqual([`${BASE}/acme/cert/1`]);
  });

  it('falls back to the default chain, saying so, when nothing matches', async () => {
    const { acme } = await setUp();
    const { chain, matched } = await acme.downloadPreferredChain(`${BASE}/acme/cert/1`, 'Root Z');
    expect(matched).toBe(false);
    expect(chain.pem).toBe(chainA);
  });
});

describe('ACME Renewal Information (RFC 9773)', () => {
  it('computes the certID of the RFC 9773 §4.1 example', () => {
    expect(certIdFromParts('69885B6B87464041E1B37B847BA0AE2CDE01C8D4', '0087654321')).toBe('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  it('computes the certID of a real certificate: AKI keyid and the serial with its leading zero byte', () => {
    expect(renewalCertId(leafDer)).toBe(certIdFromParts(caSkiHex, '0087654321'));
    expect(renewalCertId(leafDer).endsWith('.AIdlQyE')).toBe(true);
  });

  it('fetches the window by unauthenticated GET, with Retry-After', async () => {
    const server = new FakeAcme(crypto);
    const certId = renewalCertId(leafDer);
    server.on('GET', `/acme/renewal-info/${certId}`, { json: fixture('rfc9773-4.2-renewal-info.json'), headers: { 'Retry-After': '21600' }, nonce: false });
    const acme = new AcmeClient({ directoryUrl: `${BASE}/dir`, fetch: server.fetch, crypto, accountKey: await generateAccountKey(crypto), clock: new FakeClock() });
    const info = await acme.renewalInfo(leafDer);
    expect(info?.suggestedWindow.start.toISOString()).toBe('2025-01-02T04:00:00.000Z');
    expect(info?.suggestedWindow.end.toISOString()).toBe('2025-01-03T04:00:00.000Z');
    expect(info?.explanationURL).toBe(`${BASE}/docs/ari`);
    expect(info?.retryAfterMs).toBe(21_600_000);
    expect(server.seen(`/acme/renewal-info/${certId}`, 'GET')).toHaveLength(1);
  });

  it('says undefined when the directory offers no renewalInfo, and refuses a window that ends before it starts', async () => {
    const server = new FakeAcme(crypto);
    const { renewalInfo: _gone, ...directory } = fixture('directory.json');
    server.on('GET', '/dir', { json: directory, nonce: false });
    const acme = new AcmeClient({ directoryUrl: `${BASE}/dir`, fetch: server.fetch, crypto, accountKey: await generateAccountKey(crypto), clock: new FakeClock() });
    expect(await acme.renewalInfo(leafDer)).toBeUndefined();

    const other = new FakeAcme(crypto);
    other.on('GET', `/acme/renewal-info/${renewalCertId(leafDer)}`, { json: { suggestedWindow: { start: '2025-01-03T00:00:00Z', end: '2025-01-02T00:00:00Z' } }, nonce: false });
    const acme2 = new AcmeClient({ directoryUrl: `${BASE}/dir`, fetch: other.fetch, crypto, accountKey: await generateAccountKey(crypto), clock: new FakeClock() });
    await expect(acme2.renewalInfo(leafDer)).rejects.toThrow(/ends before it starts/);
  });

  it('refuses bytes that are not a certificate', () => {
    expect(() => renewalCertId(new Uint8Array([1, 2, 3]))).toThrow(AcmeUsageError);
  });
});
