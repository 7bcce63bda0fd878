/**
 * DNS-over-HTTPS (RFC 8484) against a small loopback DoH server written here from RFC 1035's
 * wire format (not with the code under test), and the zone-file resolver.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDohResolver, createZoneResolver, decodeTxtResponse, encodeTxtQuery, parseZoneFile, ZoneFileError } from '../../src/messages/dns';
import { answer, questionOf, readQuery, startZoneDohServer } from './doh-server';

interface Seen {
  method: string;
  accept: string | undefined;
  contentType: string | undefined;
  name: string;
  type: number;
}
const seen: Seen[] = [];
let server: Server;
let base: string;

/** What the server answers for each test name: [HTTP status, content type, body], or null to hang. */
function respond(query: Buffer): [number, string, Buffer] | null {
  const dns = 'application/dns-message';
  switch (questionOf(query).name) {
    case 'hang.example':
      return null; // never answers: the client's timeout must fire
    case 'http500.example':
      return [500, 'text/plain', Buffer.from('oops')];
    case 'html.example':
      return [200, 'text/html', Buffer.from('<html>')];
    case 'servfail.example':
      return [200, dns, answer(query, 2, [])];
    case 'nx.example':
      return [200, dns, answer(query, 3, [])];
    case 'empty.example':
      return [200, dns, answer(query, 0, [])];
    case 'tc.example':
      return [200, dns, answer(query, 0, [], true)];
    default:
      return [200, dns, answer(query, 0, [['v=DKIM1; k=rsa; ', 'p=AAAA'], ['second record']])];
  }
}

function handle(req: IncomingMessage, res: ServerResponse, query: Buffer): void {
  const q = questionOf(query);
  seen.push({ method: req.method ?? '', accept: req.headers.accept, contentType: req.headers['content-type'], name: q.name, type: q.type });
  const reply = respond(query);
  if (!reply) return;
  res.writeHead(reply[0], { 'content-type': reply[1] });
  res.end(reply[2]);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    void readQuery(req).then((query) => {
      handle(req, res, query);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/dns-query`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('DNS-over-HTTPS resolver (RFC 8484)', () => {
  for (const method of ['GET', 'POST'] as const) {
    it(`${method}: asks for TXT with application/dns-message and joins character-strings`, async () => {
      const resolver = createDohResolver({ url: base, fetch, method });
      const result = await resolver.txt('sel._domainkey.ca.example');
      expect(result).toEqual({ kind: 'found', records: ['v=DKIM1; k=rsa; p=AAAA', 'second record'] });
      expect(seen.at(-1)).toMatchObject({ method, accept: 'application/dns-message', name: 'sel._domainkey.ca.example', type: 16 });
      if (method === 'POST') expect(seen.at(-1)!.contentType).toBe('application/dns-message');
    });
  }

  it('NXDOMAIN and an empty answer are "none"; SERVFAIL, truncation, HTTP errors, wrong types are errors', async () => {
    const resolver = createDohResolver({ url: base, fetch });
    expect(await resolver.txt('nx.example')).toEqual({ kind: 'none' });
    expect(await resolver.txt('empty.example')).toEqual({ kind: 'none' });
    expect(await resolver.txt('servfail.example')).toMatchObject({ kind: 'error', reason: 'DNS error code 2' });
    expect(await resolver.txt('tc.example')).toMatchObject({ kind: 'error', reason: 'truncated DNS response' });
    expect(await resolver.txt('http500.example')).toMatchObject({ kind: 'error', reason: expect.stringMatching(/HTTP 500/) as string });
    expect(await resolver.txt('html.example')).toMatchObject({ kind: 'error', reason: expect.stringMatching(/text\/html/) as string });
  });

  it('gives up after the configured timeout with a temporary error', async () => {
    const resolver = createDohResolver({ url: base, fetch, timeoutMs: 150 });
    expect(await resolver.txt('hang.example')).toEqual({ kind: 'error', reason: 'DNS-over-HTTPS lookup timed out after 150 ms' });
  });

  it('an unreachable server and an invalid name are errors, not throws', async () => {
    const resolver = createDohResolver({ url: 'http://127.0.0.1:1/dns-query', fetch });
    expect((await resolver.txt('a.example')).kind).toBe('error');
    expect((await createDohResolver({ url: base, fetch }).txt(`${'a'.repeat(64)}.example`)).kind).toBe('error');
  });

  it('refuses malformed responses instead of reading past their end', () => {
    const query = Buffer.from(encodeTxtQuery('a.example'));
    const good = answer(query, 0, [['x']]);
    expect(() => decodeTxtResponse(good.subarray(0, good.length - 1))).toThrowError(/past/);
    expect(() => decodeTxtResponse(new Uint8Array(5))).toThrowError(/shorter/);
  });
});

describe('zone-file resolver', () => {
  it('answers from the file, case-insensitively; absent names are NXDOMAIN', async () => {
    const zone = createZoneResolver(parseZoneFile('{"Sel._DomainKey.CA.example.": ["v=DKIM1; p=AAAA"]}'));
    expect(await zone.txt('sel._domainkey.ca.example')).toEqual({ kind: 'found', records: ['v=DKIM1; p=AAAA'] });
    expect(await zone.txt('other.example')).toEqual({ kind: 'none' });
  });

  it('refuses files that are not name → array of strings', () => {
    expect(() => parseZoneFile('not json')).toThrowError(ZoneFileError);
    expect(() => parseZoneFile('[]')).toThrowError(ZoneFileError);
    expect(() => parseZoneFile('{"a.example": "v=DKIM1"}')).toThrowError(/array of strings/);
    expect(() => parseZoneFile('{"a.example": [1]}')).toThrowError(ZoneFileError);
  });
});

describe('loopback zone DoH server (used by the command-line tests)', () => {
  it('serves long records split into 255-byte character-strings, which the resolver joins', async () => {
    const long = `v=DKIM1; p=${'A'.repeat(400)}`;
    const doh = await startZoneDohServer({ 'sel._domainkey.ca.example': [long] });
    try {
      expect(await createDohResolver({ url: doh.url, fetch, method: 'POST' }).txt('SEL._domainkey.ca.example')).toEqual({ kind: 'found', records: [long] });
      expect(await createDohResolver({ url: doh.url, fetch }).txt('other.example')).toEqual({ kind: 'none' });
    } finally {
      await doh.close();
    }
  });
});
