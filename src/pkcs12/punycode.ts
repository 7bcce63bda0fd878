/**
 * Punycode (RFC 3492) decoding, to turn the A-labels that `new URL()` produces back into U-labels
 * (RFC 5890 §2.3.2.1): SmtpUTF8Mailbox wants the domain in U-labels (RFC 9598 §3) and the UI shows
 * addresses as the user typed them. Encoding (ToASCII with UTS #46 mapping) is left to the URL
 * parser, which both Node and Thunderbird implement per the WHATWG URL standard.
 */

export class PunycodeError extends Error {
  override readonly name = 'PunycodeError';
}

const BASE = 36, TMIN = 1, TMAX = 26, SKEW = 38, DAMP = 700, INITIAL_BIAS = 72, INITIAL_N = 128;

function adapt(delta: number, numPoints: number, firstTime: boolean): number {
  let d = firstTime ? Math.floor(delta / DAMP) : delta >> 1;
  d += Math.floor(d / numPoints);
  let k = 0;
  while (d > ((BASE - TMIN) * TMAX) >> 1) {
    d = Math.floor(d / (BASE - TMIN));
    k += BASE;
  }
  return k + Math.floor(((BASE - TMIN + 1) * d) / (d + SKEW));
}

function digitValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 22; // 0-9 → 26-35
  if (c >= 0x41 && c <= 0x5a) return c - 0x41; // A-Z
  if (c >= 0x61 && c <= 0x7a) return c - 0x61; // a-z
  return BASE;
}

/** RFC 3492 §6.2: decodes the part of a label after "xn--". */
export function punycodeDecode(input: string): string {
  const output: number[] = [];
  const b = input.lastIndexOf('-');
  for (let j = 0; j < Math.max(b, 0); j++) {
    const c = input.charCodeAt(j);
    if (c >= 0x80) throw new PunycodeError('non-basic code point before the delimiter');
    output.push(c);
  }
  let n = INITIAL_N, i = 0, bias = INITIAL_BIAS;
  for (let pos = b > 0 ? b + 1 : 0; pos < input.length; ) {
    const oldi = i;
    let w = 1;
    for (let k = BASE; ; k += BASE) {
      if (pos >= input.length) throw new PunycodeError('truncated punycode');
      const digit = digitValue(input.charCodeAt(pos++));
      if (digit >= BASE) throw new PunycodeError('invalid punycode digit');
      if (digit > Math.floor((0x7fffffff - i) / w)) throw new PunycodeError('punycode overflow');
      i += digit * w;
      const t = k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
      if (digit < t) break;
      if (w > Math.floor(0x7fffffff / (BASE - t))) throw new PunycodeError('punycode overflow');
      w *= BASE - t;
    }
    bias = adapt(i - oldi, output.length + 1, oldi === 0);
    if (Math.floor(i / (output.length + 1)) > 0x7fffffff - n) throw new PunycodeError('punycode overflow');
    n += Math.floor(i / (output.length + 1));
    i %= output.length + 1;
    if (n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) throw new PunycodeError('punycode decodes to an invalid code point');
    output.splice(i++, 0, n);
  }
  return String.fromCodePoint(...output);
}

/** A-labels → U-labels, label by label (RFC 5891 §5.5 ToUnicode without re-validation). */
export function domainToUnicode(asciiDomain: string): string {
  return asciiDomain
    .split('.')
    .map((label) => (label.toLowerCase().startsWith('xn--') ? punycodeDecode(label.slice(4)) : label))
    .join('.');
}
