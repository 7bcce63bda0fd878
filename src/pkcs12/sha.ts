/**
 * Synchronous SHA-1 and SHA-256 (FIPS 180-4), only for the PKCS#12 key derivation of RFC 7292
 * Appendix B, which hashes its own output hundreds of thousands of times: one awaited WebCrypto
 * digest per round would cost seconds. Everything else hashes through the injected WebCrypto.
 */

import { compress256 } from './sha256-rounds';

export type HashName = 'SHA-1' | 'SHA-256';

export interface SyncHash {
  readonly name: HashName;
  /** Output length in bytes (u in RFC 7292 B.2). */
  readonly outputLength: number;
  /** Block length in bytes (v in RFC 7292 B.2). */
  readonly blockLength: number;
  digest(data: Uint8Array): Uint8Array<ArrayBuffer>;
  /** H^count(data): the digest of the digest of … `data`, `count` ≥ 1 times (RFC 7292 B.2 step 6a). */
  iterate(data: Uint8Array, count: number): Uint8Array<ArrayBuffer>;
}

/** Pads `data` to whole 64-byte blocks with the 64-bit big-endian bit length (FIPS 180-4 §5.1.1). */
function pad(data: Uint8Array): DataView {
  const blocks = Math.ceil((data.length + 9) / 64);
  const buf = new Uint8Array(blocks * 64);
  buf.set(data);
  buf[data.length] = 0x80;
  const view = new DataView(buf.buffer);
  const bits = data.length * 8;
  view.setUint32(buf.length - 8, Math.floor(bits / 0x100000000));
  view.setUint32(buf.length - 4, bits >>> 0);
  return view;
}

const W = new Int32Array(80);

/** One SHA-1 compression of the block in W[0..15] into `h` (FIPS 180-4 §6.1.2). */
function compress1(h: Int32Array): void {
  for (let t = 16; t < 80; t++) {
    const x = W[t - 3]! ^ W[t - 8]! ^ W[t - 14]! ^ W[t - 16]!;
    W[t] = (x << 1) | (x >>> 31);
  }
  let a = h[0]!, b = h[1]!, c = h[2]!, d = h[3]!, e = h[4]!;
  // Four loops of 20 rounds, one per round function, rather than a branch per round.
  for (let t = 0; t < 20; t++) {
    const temp = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + 0x5a827999 + e + W[t]!) | 0;
    e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = temp;
  }
  for (let t = 20; t < 40; t++) {
    const temp = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + 0x6ed9eba1 + e + W[t]!) | 0;
    e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = temp;
  }
  for (let t = 40; t < 60; t++) {
    const temp = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + 0x8f1bbcdc + e + W[t]!) | 0;
    e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = temp;
  }
  for (let t = 60; t < 80; t++) {
    const temp = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + 0xca62c1d6 + e + W[t]!) | 0;
    e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = temp;
  }
  h[0] = (h[0]! + a) | 0; h[1] = (h[1]! + b) | 0; h[2] = (h[2]! + c) | 0; h[3] = (h[3]! + d) | 0; h[4] = (h[4]! + e) | 0;
}

const IV256 = Int32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const IV1 = Int32Array.from([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0]);

function makeHash(name: HashName, iv: Int32Array, compress: (h: Int32Array) => void): SyncHash {
  const words = iv.length;
  const toBytes = (h: Int32Array): Uint8Array<ArrayBuffer> => {
    const out = new Uint8Array(words * 4);
    const o = new DataView(out.buffer);
    for (let i = 0; i < words; i++) o.setInt32(4 * i, h[i]!);
    return out;
  };
  const digestState = (data: Uint8Array): Int32Array => {
    const view = pad(data);
    const h = iv.slice();
    for (let off = 0; off < view.byteLength; off += 64) {
      for (let t = 0; t < 16; t++) W[t] = view.getInt32(off + 4 * t);
      compress(h);
    }
    return h;
  };
  return {
    name,
    outputLength: words * 4,
    blockLength: 64,
    digest: (data) => toBytes(digestState(data)),
    iterate(data, count) {
      const h = digestState(data);
      // Each further round hashes the previous digest: a single padded block whose padding
      // (W[words..15]) is the same every round; the compressions never write W[0..15].
      W[words] = -0x80000000;
      for (let i = words + 1; i < 15; i++) W[i] = 0;
      W[15] = words * 32;
      for (let r = 1; r < count; r++) {
        for (let i = 0; i < words; i++) W[i] = h[i]!;
        h.set(iv);
        compress(h);
      }
      return toBytes(h);
    },
  };
}

export const SHA1: SyncHash = makeHash('SHA-1', IV1, compress1);
export const SHA256: SyncHash = makeHash('SHA-256', IV256, (h) => {
  compress256(h, W);
});
