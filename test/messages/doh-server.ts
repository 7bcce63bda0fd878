/**
 * DNS wire format written from RFC 1035 §4.1 for test servers (not with the code under test),
 * and a loopback DNS-over-HTTPS server (RFC 8484, GET and POST) answering TXT from a zone.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

/** Reads the question name of a query (RFC 1035 §4.1.2), no compression expected in queries. */
export function questionOf(query: Buffer): { name: string; type: number; end: number } {
  const labels: string[] = [];
  let o = 12;
  while (query[o]! !== 0) {
    labels.push(query.subarray(o + 1, o + 1 + query[o]!).toString('latin1'));
    o += 1 + query[o]!;
  }
  return { name: labels.join('.'), type: query.readUInt16BE(o + 1), end: o + 5 };
}

/** A response echoing the question, with `rcode` and TXT answers (each an array of strings). */
export function answer(query: Buffer, rcode: number, txts: string[][], truncated = false): Buffer {
  const q = questionOf(query);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  header.writeUInt16BE(0x8180 | (truncated ? 0x0200 : 0) | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(txts.length, 6);
  const records = txts.map((strings) => {
    const rdata = Buffer.concat(strings.map((s) => Buffer.concat([Buffer.from([Buffer.byteLength(s, 'latin1')]), Buffer.from(s, 'latin1')])));
    const fixed = Buffer.alloc(12);
    fixed.writeUInt16BE(0xc00c, 0); // a compression pointer to the question's name
    fixed.writeUInt16BE(16, 2);
    fixed.writeUInt16BE(1, 4);
    fixed.writeUInt32BE(300, 6);
    fixed.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([fixed, rdata]);
  });
  return Buffer.concat([header, query.subarray(12, q.end), ...records]);
}

export interface DohServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Reads the DNS query of a GET (`?dns=`) or POST request. */
export function readQuery(req: IncomingMessage): Promise<Buffer> {
  if (req.method === 'GET') return Promise.resolve(Buffer.from(new URL(req.url ?? '/', 'http://x').searchParams.get('dns') ?? '', 'base64url'));
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      resolve(Buffer.concat(chunks));
    });
  });
}

/** A DoH server on 127.0.0.1 (a free port chosen by the OS) answering TXT from `zone`. */
export async function startZoneDohServer(zone: Readonly<Record<string, readonly string[]>>): Promise<DohServer> {
  const server: Server = createServer((req, res) => {
    void readQuery(req).then((query) => {
      const records = zone[questionOf(query).name.toLowerCase()];
      res.writeHead(200, { 'content-type': 'application/dns-message' });
      res.end(records ? answer(query, 0, records.map((r) => [r.slice(0, 255), r.slice(255)].filter((x) => x !== ''))) : answer(query, 3, []));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/dns-query`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
