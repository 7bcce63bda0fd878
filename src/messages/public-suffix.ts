/**
 * "Is this domain a public suffix?" — just enough of the Public Suffix List
 * (https://publicsuffix.org/list/, MPL-2.0) for DKIM alignment: a CA may sign with its
 * organizational domain (`d=ca.example` for `From: acme@mail.ca.example`), but never with a
 * suffix that many unrelated parties share (`d=co.uk`, `d=github.io`).
 *
 * Why not the whole list: it is about 230 KB and the background bundle must stay small. The
 * rule here is compact and errs on the safe side for the suffixes that matter:
 * 1. every single-label name (a TLD: `org`, `uk`, `xn--p1ai`) is a public suffix;
 * 2. under a two-letter country TLD, a second level from the common registry set
 *    (`co`, `com`, `org`, `net`, `ac`, `gov`, `edu`, `ne`, `or`, `go`, …) is a public suffix
 *    (`co.uk`, `com.au`, `ne.jp`, `gov.br`);
 * 3. a short built-in list of other multi-label public suffixes (hosting platforms, and
 *    registry suffixes that rule 2 misses) — see SUFFIXES.
 *
 * Known limits: the PSL's wildcard rules (`*.ck`) and thousands of rare regional suffixes
 * (`city.kawasaki.jp`) are not listed, so a parent such as `kawasaki.jp` would be accepted as
 * an organizational domain. The risk is bounded: accepting `d=` still requires a valid DKIM
 * signature by that parent domain's key, which only whoever controls its DNS can make.
 */

const REGISTRY_SECOND_LEVELS = new Set([
  'ac', 'co', 'com', 'edu', 'gob', 'go', 'gov', 'gouv', 'govt', 'ltd', 'me', 'mil', 'ne', 'net', 'nhs', 'nic', 'nom', 'or', 'org', 'plc', 'police', 'sch', 'school',
]);

/** Multi-label public suffixes not caught by the rules above (PSL ICANN and PRIVATE sections). */
const SUFFIXES = new Set([
  // ICANN section, commonly seen in mail.
  'ad.jp', 'ed.jp', 'gr.jp', 'lg.jp', 'ltd.uk', 'kiwi.nz', 'blogspot.com', 'gen.nz', 'geek.nz', 'school.nz', 'priv.no', 'asn.au', 'id.au',
  'info.au', 'art.br', 'blog.br', 'eng.br', 'ind.br', 'inf.br', 'nom.br', 'tv.br', 'priv.pl', 'waw.pl', 'info.pl', 'biz.pl', 'in.ua', 'kiev.ua',
  'firm.in', 'gen.in', 'ind.in', 'res.in', 'info.tr', 'biz.tr', 'k12.tr', 'tel.tr', 'name.tr', 'web.tr', 'pp.ru', 'msk.ru', 'spb.ru',
  'priv.at', 'gv.at', 'or.at', 'ac.at', 'co.at', 'ltd.co.im', 'plc.co.im', 'us.com', 'uk.com', 'eu.com', 'de.com', 'cn.com', 'jpn.com',
  'uk.net', 'gb.net', 'in.net', 'eu.org', 'us.org', 'za.com', 'za.net', 'za.org', 'k12.ca.us', 'ca.us', 'ny.us', 'tx.us',
  // PRIVATE section: platforms that hand out subdomains to unrelated customers.
  'amazonaws.com', 'appspot.com', 'azurewebsites.net', 'cloudapp.net', 'cloudfront.net', 'firebaseapp.com', 'github.io', 'githubusercontent.com',
  'gitlab.io', 'herokuapp.com', 'netlify.app', 'pages.dev', 'vercel.app', 'web.app', 'workers.dev', 'onrender.com', 'fly.dev', 'glitch.me',
  'myshopify.com', 'wordpress.com', 'wixsite.com', 'duckdns.org', 'dyndns.org', 'no-ip.org', 'ngrok.io', 'ngrok-free.app', 'repl.co',
  'readthedocs.io', 'sourceforge.net', 'blogspot.co.uk', 'azurestaticapps.net', 'digitaloceanspaces.com', 'r2.dev', 'surge.sh',
]);

/** True when `domain` (lower-case, no trailing dot) is treated as a public suffix. */
export function isPublicSuffix(domain: string): boolean {
  const name = domain.toLowerCase().replace(/\.$/, '');
  const labels = name.split('.');
  if (labels.length <= 1) return true;
  if (SUFFIXES.has(name)) return true;
  if (labels.length === 2 && labels[1]!.length === 2 && REGISTRY_SECOND_LEVELS.has(labels[0]!)) return true;
  return false;
}

/**
 * DKIM alignment for a challenge (docs/MESSAGES.md, "The policy"): `d=` equals the From domain, or is a parent of
 * it that is not a public suffix. Comparison is label-wise, so `d=ample.org` never aligns with
 * `example.org`.
 */
export function isAlignedSigningDomain(signingDomain: string, fromDomain: string): boolean {
  const d = signingDomain.toLowerCase().replace(/\.$/, '');
  const f = fromDomain.toLowerCase().replace(/\.$/, '');
  if (d === f) return true;
  return f.endsWith(`.${d}`) && !isPublicSuffix(d);
}
