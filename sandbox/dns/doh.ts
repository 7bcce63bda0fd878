/**
 * DNS-over-HTTPS endpoint (RFC 8484) on loopback, serving the sandbox's DKIM TXT records, so the
 * add-on's DoH resolver can be pointed at it. GET `?dns=<base64url>` (§4.1, no padding) and POST
 * `application/dns-message` (§4.1); answers `application/dns-message` with a Cache-Control max-age
 * no larger than the records' TTL (§5.1). Anything else gets the HTTP status RFC 8484 §4.2.1 names.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CLASS_IN, decodeQuery, DnsWireError, encodeFormErr, encodeResponse, RCODE, TYPE_TXT } from './wire';

const MAX_MESSAGE = 4096;
const TTL = 60;

export interface DohServer {
  readonly url: string;
  /** How many queries were answered, for tests that want to know the resolver was used. */
  queries(): number;
  stop(): Promise<void>;
}

export async function startDoh(tls: { certPem: string; keyPem: string }, zone: () => Readonly<Record<string, readonly string[]>>, listenPort = 0): Promise<DohServer> {
  let count = 0;
  const answer = (message: Uint8Array, res: ServerResponse): void => {
    let body: Uint8Array;
    try {
      const question = decodeQuery(message);
      const records = lookup(zone(), question.name);
      count += 1;
      if (question.class !== CLASS_IN) body = encodeResponse(question, RCODE.notImp, []);
      else if (records === undefined) body = encodeResponse(question, RCODE.nxDomain, []);
      else body = encodeResponse(question, RCODE.noError, question.type === TYPE_TXT ? records : [], TTL);
    } catch (error) {
      if (!(error instanceof DnsWireError)) throw error;
      body = encodeFormErr(message);
    }
    res.writeHead(200, { 'content-type': 'application/dns-message', 'cache-control': `max-age=${TTL}`, 'content-length': body.length });
    res.end(body);
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    if (url.pathname !== '/dns-query') return void res.writeHead(404).end();
    if (req.method === 'GET') {
      const dns = url.searchParams.get('dns');
      if (dns === null || !/^[A-Za-z0-9_-]+$/.test(dns)) return void res.writeHead(400).end('dns parameter missing or not unpadded base64url');
      const message = Buffer.from(dns, 'base64url');
      if (message.length > MAX_MESSAGE) return void res.writeHead(414).end();
      answer(message, res);
      return;
    }
    if (req.method === 'POST') {
      if ((req.headers['content-type'] ?? '').split(';')[0]?.trim() !== 'application/dns-message') return void res.writeHead(415).end();
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_MESSAGE) {
          res.writeHead(413).end();
          req.destroy();
        } else chunks.push(chunk);
      });
      req.on('end', () => {
        if (!res.headersSent) answer(Buffer.concat(chunks), res);
      });
      return;
    }
    res.writeHead(405, { allow: 'GET, POST' }).end();
  };
  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem }, handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', () => {
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `https://127.0.0.1:${port}/dns-query`,
    queries: () => count,
    stop: () => closeServer(server),
  };
}

/** Case-insensitive lookup; `undefined` when the name does not exist at all. */
function lookup(zone: Readonly<Record<string, readonly string[]>>, name: string): readonly string[] | undefined {
  for (const [owner, records] of Object.entries(zone)) if (owner.toLowerCase() === name) return records;
  return undefined;
}

/** Closes a server and every idle keep-alive connection, so stop() never hangs. */
export function closeServer(server: Server | import('node:http').Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeAllConnections();
  });
}
