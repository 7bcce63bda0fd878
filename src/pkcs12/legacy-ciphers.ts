/**
 * The two block ciphers that legacy PKCS#12 files use and WebCrypto lacks:
 * Triple DES (FIPS 46-3, EDE with three keys, RFC 7292 Appendix C pbeWithSHAAnd3-KeyTripleDES-CBC)
 * and RC2 (RFC 2268; OpenSSL's `-legacy` export encrypts certificates with 40-bit RC2).
 * Written for a few kilobytes per file, not for speed. RC2 is decrypt-only: this module never
 * writes it (it is broken); 3DES is written only when the caller asks for `legacy`.
 */

export class CipherError extends Error {
  override readonly name = 'CipherError';
  constructor(readonly kind: 'key' | 'length' | 'padding', message: string) {
    super(message);
  }
}

// --- DES tables (FIPS 46-3), 1-based bit positions as the standard prints them --------------
const IP = [58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
  57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7];
const FP = IP.map((_, i) => IP.indexOf(i + 1) + 1);
const E = [32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17,
  16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1];
const P = [16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25];
const PC1 = [57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
  63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4];
const PC2 = [14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
  41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32];
const SHIFTS = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];
export const DES_SBOXES: readonly (readonly number[])[] = [
  [14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
    4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13],
  [15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
    0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9],
  [10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
    13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12],
  [7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
    10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14],
  [2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
    4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3],
  [12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
    9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13],
  [4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
    1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12],
  [13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
    7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11],
];

/** Bits as 0/1 bytes: clear beats clever for a cipher kept only to read old files. */
function toBits(bytes: Uint8Array, offset: number, count: number): Uint8Array {
  const bits = new Uint8Array(count * 8);
  for (let i = 0; i < bits.length; i++) bits[i] = (bytes[offset + (i >> 3)]! >> (7 - (i & 7))) & 1;
  return bits;
}

function permute(bits: Uint8Array, table: readonly number[]): Uint8Array {
  return Uint8Array.from(table, (pos) => bits[pos - 1]!);
}

/** The 16 round keys of one DES key (FIPS 46-3, "key schedule calculation"). */
function desSubkeys(key: Uint8Array, offset: number): Uint8Array[] {
  const cd = permute(toBits(key, offset, 8), PC1);
  let c = Array.from(cd.subarray(0, 28));
  let d = Array.from(cd.subarray(28));
  return SHIFTS.map((s) => {
    c = [...c.slice(s), ...c.slice(0, s)];
    d = [...d.slice(s), ...d.slice(0, s)];
    return permute(Uint8Array.from([...c, ...d]), PC2);
  });
}

function desBlock(block: Uint8Array, keys: readonly Uint8Array[]): Uint8Array {
  const lr = permute(block, IP);
  let l = lr.subarray(0, 32);
  let r = lr.subarray(32);
  for (const k of keys) {
    const x = permute(r, E);
    for (let i = 0; i < 48; i++) x[i]! ^= k[i]!;
    const f = new Uint8Array(32);
    for (let s = 0; s < 8; s++) {
      const b = x.subarray(6 * s, 6 * s + 6);
      const row = (b[0]! << 1) | b[5]!;
      const col = (b[1]! << 3) | (b[2]! << 2) | (b[3]! << 1) | b[4]!;
      const v = DES_SBOXES[s]![row * 16 + col]!;
      for (let i = 0; i < 4; i++) f[4 * s + i] = (v >> (3 - i)) & 1;
    }
    const pf = permute(f, P);
    const next = new Uint8Array(32);
    for (let i = 0; i < 32; i++) next[i] = l[i]! ^ pf[i]!;
    l = r;
    r = next;
  }
  return permute(Uint8Array.from([...r, ...l]), FP);
}

function fromBits(bits: Uint8Array): Uint8Array {
  const out = new Uint8Array(bits.length / 8);
  for (let i = 0; i < bits.length; i++) out[i >> 3]! |= bits[i]! << (7 - (i & 7));
  return out;
}

type BlockFn = (block: Uint8Array) => Uint8Array;

function tripleDes(key: Uint8Array): { encrypt: BlockFn; decrypt: BlockFn } {
  if (key.length !== 24) throw new CipherError('key', `a three-key 3DES key has 24 bytes, not ${key.length}`);
  const [k1, k2, k3] = [desSubkeys(key, 0), desSubkeys(key, 8), desSubkeys(key, 16)];
  const [r1, r2, r3] = [[...k1].reverse(), [...k2].reverse(), [...k3].reverse()];
  return {
    // EDE: E(K3, D(K2, E(K1, x))), the order of FIPS 46-3 / SP 800-67.
    encrypt: (b) => fromBits(desBlock(desBlock(desBlock(toBits(b, 0, 8), k1), r2), k3)),
    decrypt: (b) => fromBits(desBlock(desBlock(desBlock(toBits(b, 0, 8), r3), k2), r1)),
  };
}

function checkIv(iv: Uint8Array): void {
  if (iv.length !== 8) throw new CipherError('key', `the IV has ${iv.length} bytes, not 8`);
}

function cbcEncrypt(encrypt: BlockFn, iv: Uint8Array, data: Uint8Array): Uint8Array<ArrayBuffer> {
  const n = 8 - (data.length % 8);
  const padded = new Uint8Array(data.length + n).fill(n);
  padded.set(data);
  const out = new Uint8Array(padded.length);
  let prev: Uint8Array = iv;
  for (let o = 0; o < padded.length; o += 8) {
    const x = padded.slice(o, o + 8);
    for (let i = 0; i < 8; i++) x[i]! ^= prev[i]!;
    prev = encrypt(x);
    out.set(prev, o);
  }
  return out;
}

function cbcDecrypt(decrypt: BlockFn, iv: Uint8Array, data: Uint8Array): Uint8Array<ArrayBuffer> {
  if (data.length === 0 || data.length % 8 !== 0) throw new CipherError('length', `ciphertext of ${data.length} bytes is not whole 8-byte blocks`);
  checkIv(iv);
  const out = new Uint8Array(data.length);
  let prev: Uint8Array = iv;
  for (let o = 0; o < data.length; o += 8) {
    const c = data.subarray(o, o + 8);
    const x = decrypt(c);
    for (let i = 0; i < 8; i++) out[o + i] = x[i]! ^ prev[i]!;
    prev = c;
  }
  // PKCS#5 padding (RFC 8018 §6.1.1 step 4): bad padding almost always means a wrong key.
  const n = out[out.length - 1]!;
  if (n < 1 || n > 8 || out.subarray(out.length - n).some((b) => b !== n)) throw new CipherError('padding', 'bad padding after decryption');
  return out.slice(0, out.length - n);
}

export function tripleDesCbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array<ArrayBuffer> {
  checkIv(iv);
  return cbcEncrypt(tripleDes(key).encrypt, iv, data);
}

export function tripleDesCbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array<ArrayBuffer> {
  return cbcDecrypt(tripleDes(key).decrypt, iv, data);
}

// --- RC2 (RFC 2268) -----------------------------------------------------------------------------
/** PITABLE of RFC 2268 §2, the fixed permutation of 0..255 the key expansion uses. */
const PITABLE = Uint8Array.from(
  ('d978f9c419ddb5ed28e9fd794aa0d89dc67e37832b76538e624c6488448bfba2179a59f587b34f1361456d8d09817d32bd8f40eb86b77b0bf09521225c6b4e82' +
    '54d66593ce60b21c7356c014a78cf1dc1275ca1f3bbee4d1423dd430a33cb6266fbf0eda4669075727f21d9bbc944303f811c7f690ef3ee706c3d52fc8661ed7' +
    '08e8eade8052eef784aa72ac354d6a2a961ad2715a1549744b9fd05e0418a4ecc2e0416e0f51cbcc2491af50a1f47039997c3a8523b8b47afc02365b25559731' +
    '2d5dfa98e38a92ae05df2910676cbac9d300e6cfe19ea82c6316013f58e289a90d38341bab33ffb0bb480c5fb9b1cd2ec5f3db47e5a59c770aa62068fe7fc1ad').match(/../g)!,
  (h) => parseInt(h, 16),
);

/** RFC 2268 §2: the 64 16-bit key words for a key of `effectiveBits` effective bits. */
function rc2Expand(key: Uint8Array, effectiveBits: number): Uint16Array {
  const T = key.length;
  if (T < 1 || T > 128) throw new CipherError('key', `an RC2 key has 1 to 128 bytes, not ${T}`);
  const L = new Uint8Array(128);
  L.set(key);
  const T8 = Math.ceil(effectiveBits / 8);
  const TM = 0xff >> (8 * T8 - effectiveBits);
  for (let i = T; i < 128; i++) L[i] = PITABLE[(L[i - 1]! + L[i - T]!) & 0xff]!;
  L[128 - T8] = PITABLE[L[128 - T8]! & TM]!;
  for (let i = 127 - T8; i >= 0; i--) L[i] = PITABLE[L[i + 1]! ^ L[i + T8]!]!;
  const K = new Uint16Array(64);
  for (let i = 0; i < 64; i++) K[i] = L[2 * i]! | (L[2 * i + 1]! << 8);
  return K;
}

/** RFC 2268 §4: decryption of one 8-byte block (reverse mixing and mashing rounds). */
function rc2DecryptBlock(K: Uint16Array, block: Uint8Array): Uint8Array {
  const R = [0, 1, 2, 3].map((i) => block[2 * i]! | (block[2 * i + 1]! << 8));
  const S = [1, 2, 3, 5];
  let j = 63;
  const mix = (): void => {
    for (let i = 3; i >= 0; i--) {
      const s = S[i]!;
      let r = R[i]!;
      r = ((r >>> s) | (r << (16 - s))) & 0xffff;
      r = (r - K[j--]! - (R[(i + 3) % 4]! & R[(i + 2) % 4]!) - (~R[(i + 3) % 4]! & R[(i + 1) % 4]!)) & 0xffff;
      R[i] = r;
    }
  };
  const mash = (): void => {
    for (let i = 3; i >= 0; i--) R[i] = (R[i]! - K[R[(i + 3) % 4]! & 63]!) & 0xffff;
  };
  for (let n = 0; n < 5; n++) mix();
  mash();
  for (let n = 0; n < 6; n++) mix();
  mash();
  for (let n = 0; n < 5; n++) mix();
  return Uint8Array.from(R.flatMap((w) => [w & 0xff, w >> 8]));
}

export function rc2CbcDecrypt(key: Uint8Array, effectiveBits: number, iv: Uint8Array, data: Uint8Array): Uint8Array<ArrayBuffer> {
  const K = rc2Expand(key, effectiveBits);
  return cbcDecrypt((b) => rc2DecryptBlock(K, b), iv, data);
}
