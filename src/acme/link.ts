/**
 * The HTTP Link header (RFC 8288 §3), which ACME uses for `rel="index"` (RFC 8555 §7.1),
 * `rel="up"` (§7.4.2, the issuer), `rel="alternate"` (§7.4.2, alternate chains) and
 * `rel="terms-of-service"` (§7.3.3). Targets are resolved against the request URL.
 */

export interface Link {
  readonly url: string;
  /** Each relation type, lower-cased (a link may carry several: `rel="up alternate"`). */
  readonly rels: readonly string[];
}

/** At most this many links are read from one response: a guard against a header built to waste time. */
const MAX_LINKS = 64;

/** Parses every Link header value (Headers.get joins repeated headers with ", "). */
export function parseLinks(header: string | null, baseUrl: string): Link[] {
  if (header === null) return [];
  const links: Link[] = [];
  // One link-value: <target> followed by ;-separated params, whose values may be quoted.
  const re = /<([^>]*)>((?:\s*;\s*[^;,="]+(?:\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^;,"]*))?)*)/g;
  for (let m = re.exec(header); m && links.length < MAX_LINKS; m = re.exec(header)) {
    const [, target = '', params = ''] = m;
    let url: string;
    try {
      url = new URL(target.trim(), baseUrl).href;
    } catch {
      continue; // an unusable target is no link at all
    }
    const rels: string[] = [];
    const paramRe = /;\s*([^;,="\s]+)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)"|([^;,"]*)))?/g;
    for (let p = paramRe.exec(params); p; p = paramRe.exec(params)) {
      if (p[1]?.toLowerCase() !== 'rel') continue;
      const value = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
      rels.push(...value.toLowerCase().split(/\s+/).filter((r) => r !== ''));
      break; // RFC 8288 §3.3: only the first rel parameter counts
    }
    links.push({ url, rels });
  }
  return links;
}

/** The targets of every link with relation `rel`, in header order. */
export function linksWithRel(links: readonly Link[], rel: string): string[] {
  return links.filter((l) => l.rels.includes(rel)).map((l) => l.url);
}
