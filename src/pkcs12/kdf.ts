/**
 * The PKCS#12 key derivation (RFC 7292 Appendix B.2), used for the integrity MAC (B.3 with ID 3)
 * and for the legacy pbeWithSHAAnd… encryption schemes (Appendix C, IDs 1 and 2).
 * The passphrase is a BMPString with two trailing zero bytes (B.1), which is also what OpenSSL
 * and NSS feed it.
 */
import type { SyncHash } from './sha';

export const KdfPurpose = {
  Key: 1,
  Iv: 2,
  Mac: 3,
} as const;
export type KdfPurpose = (typeof KdfPurpose)[keyof typeof KdfPurpose];

/** The passphrase as RFC 7292 B.1 wants it: UTF-16BE code units followed by 0x0000. */
export function bmpPassword(passphrase: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(passphrase.length * 2 + 2);
  for (let i = 0; i < passphrase.length; i++) {
    out[2 * i] = passphrase.charCodeAt(i) >> 8;
    out[2 * i + 1] = passphrase.charCodeAt(i) & 0xff;
  }
  return out;
}

function repeatTo(src: Uint8Array, v: number): Uint8Array {
  if (src.length === 0) return new Uint8Array(0);
  const out = new Uint8Array(v * Math.ceil(src.length / v));
  for (let i = 0; i < out.length; i++) out[i] = src[i % src.length]!;
  return out;
}

/** Steps 1–5: D and I = S‖P. */
function prepare(hash: SyncHash, password: Uint8Array, salt: Uint8Array, purpose: KdfPurpose): { D: Uint8Array; I: Uint8Array } {
  const v = hash.blockLength;
  const S = repeatTo(salt, v);
  const P = repeatTo(password, v);
  const I = new Uint8Array(S.length + P.length);
  I.set(S);
  I.set(P, S.length);
  return { D: new Uint8Array(v).fill(purpose), I };
}

function concat(D: Uint8Array, I: Uint8Array): Uint8Array {
  const DI = new Uint8Array(D.length + I.length);
  DI.set(D);
  DI.set(I, D.length);
  return DI;
}

/** Step 6b–c: I_j = (I_j + B + 1) mod 2^(8v) for each v-byte block, B being A repeated to v bytes. */
function advance(hash: SyncHash, I: Uint8Array, A: Uint8Array): void {
  const v = hash.blockLength;
  const B = repeatTo(A, v).subarray(0, v);
  for (let j = 0; j < I.length; j += v) {
    let carry = 1;
    for (let k = v - 1; k >= 0; k--) {
      const sum = I[j + k]! + B[k]! + carry;
      I[j + k] = sum & 0xff;
      carry = sum >> 8;
    }
  }
}

/**
 * Gives the event loop one turn. A MessageChannel message, not setTimeout(0): Firefox and
 * Thunderbird clamp timers in hidden documents, an add-on's background page among them, to one
 * second each, which turned the 24 slices of a 600 000-round derivation into 24 s of idling.
 * Messages are not clamped. setTimeout remains the fallback where MessageChannel is missing.
 */
function yieldToEventLoop(): Promise<void> {
  if (typeof MessageChannel !== 'function') return new Promise<void>((resolve) => setTimeout(resolve, 0));
  return new Promise<void>((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}

/** Rounds per slice in pkcs12KdfAsync: a few tens of milliseconds of hashing. */
const SLICE = 25_000;

/**
 * Derives `n` bytes (RFC 7292 B.2 steps 1–8), hashing in slices that give the event loop back
 * between them, so that WebCrypto work started just before (the PBKDF2 of the bags, which runs
 * off the main thread in Node and in Firefox) proceeds in parallel, and the add-on's background
 * page keeps answering messages.
 * H^c(x) = H^(c-k)(H^k(x)), so slicing does not change the result. Legacy files derive a key and
 * an IV this way (several hundred thousand SHA-1 rounds each) without freezing the page.
 */
export async function pkcs12KdfAsync(hash: SyncHash, password: Uint8Array, salt: Uint8Array, iterations: number, purpose: KdfPurpose, n: number): Promise<Uint8Array<ArrayBuffer>> {
  const { D, I } = prepare(hash, password, salt, purpose);
  const out = new Uint8Array(n);
  for (let produced = 0; produced < n; produced += hash.outputLength) {
    let done = Math.min(iterations, SLICE);
    let A = hash.iterate(concat(D, I), done);
    while (done < iterations) {
      await yieldToEventLoop();
      const step = Math.min(iterations - done, SLICE);
      A = hash.iterate(A, step);
      done += step;
    }
    out.set(A.subarray(0, Math.min(hash.outputLength, n - produced)), produced);
    advance(hash, I, A);
  }
  return out;
}
