/**
 * A `fetch` for the command line that trusts extra roots besides the system's (`--trust`): a CA
 * on a private PKI, or the sandbox. Node's own `fetch` takes no per-call CA and
 * NODE_EXTRA_CA_CERTS is read only at start-up, so HTTPS goes through `node:https` with the
 * roots given, and the answer is handed back as a standard `Response` (streamed, so the callers'
 * size limits still apply).
 */
import { request } from 'node:https';
import { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';

/** Statuses whose response has no body (RFC 9110 §6.4.1). */
const NO_BODY = new Set([101, 204, 205, 304]);

export function fetchTrusting(extraRootsPem: readonly string[]): typeof fetch {
  if (extraRootsPem.length === 0) return (input, init) => fetch(input, init);
  const ca = [...rootCertificates, ...extraRootsPem];
  return async (input, init) => {
    const req = new Request(input, init);
    const url = new URL(req.url);
    // Plain http (a CA on loopback in a test) needs no roots: Node's own fetch does it.
    if (url.protocol !== 'https:') return fetch(req);
    const body = req.body === null ? undefined : Buffer.from(await req.arrayBuffer());
    const headers: Record<string, string> = {};
    req.headers.forEach((value, name) => {
      headers[name] = value;
    });
    if (body !== undefined) headers['content-length'] = String(body.length);
    return new Promise<Response>((resolve, reject) => {
      const outgoing = request(url, { method: req.method, headers, ca, ...(init?.signal ? { signal: init.signal } : {}) }, (incoming) => {
        const status = incoming.statusCode ?? 0;
        const responseHeaders = new Headers();
        const raw = incoming.rawHeaders;
        for (let i = 0; i + 1 < raw.length; i += 2) responseHeaders.append(raw[i]!, raw[i + 1]!);
        const hasBody = !NO_BODY.has(status) && req.method !== 'HEAD';
        if (!hasBody) incoming.resume();
        try {
          resolve(new Response(hasBody ? (Readable.toWeb(incoming) as ReadableStream<Uint8Array>) : null, { status, statusText: incoming.statusMessage ?? '', headers: responseHeaders }));
        } catch (error) {
          reject(new TypeError(`fetch failed: ${url.origin} answered HTTP ${status}`, { cause: error }));
        }
      });
      // As Node's fetch does: a network failure is a TypeError carrying the cause; an abort keeps its AbortError.
      outgoing.on('error', (error) => { reject(error.name === 'AbortError' ? error : new TypeError(`fetch failed: ${error.message}`, { cause: error })); });
      outgoing.end(body);
    });
  };
}
