/**
 * The PKCS#12 that only carries a key into Thunderbird's certificate store (NSS), under a
 * one-time random secret instead of the user's passphrase.
 * A password KDF's iteration count slows down guessing a password a person chose; a secret of
 * 256 random bits cannot be guessed at any speed, so here the count buys nothing and is 1, the
 * least RFC 8018 and RFC 7292 allow (NSS `pk12util` and OpenSSL 3 read it in the tests;
 * Thunderbird 153's importPKCS12File too, docs/PKCS12.md). Algorithms stay the default ones: PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC
 * bags and an HMAC-SHA-256 MAC. Building it costs a few milliseconds and no hash loop in
 * JavaScript, so it belongs on the install path; the file the user downloads is a different one
 * (docs/PKCS12.md).
 * The bytes and the secret must never be stored or offered: the caller hands both to the import,
 * which writes the bytes to a 0600 temporary file and deletes it at once.
 */
import { buildPkcs12 } from './pfx';

/** PBKDF2 and MAC iterations of the one-time PKCS#12. */
export const ONE_TIME_ITERATIONS = 1;
/** Random bytes in the one-time secret. */
export const ONE_TIME_SECRET_BYTES = 32;

export interface OneTimePkcs12 {
  readonly pkcs12: Uint8Array<ArrayBuffer>;
  /** 64 lowercase hex digits: 256 random bits, ASCII so that every PKCS#12 password encoding agrees. */
  readonly secret: string;
}

export interface OneTimePkcs12Options {
  /** Must be extractable. */
  readonly privateKey: CryptoKey;
  /** DER certificates, leaf first. */
  readonly certificates: readonly Uint8Array[];
  /** NSS makes it the certificate's nickname. */
  readonly friendlyName: string;
}

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** Builds the import-only PKCS#12 under a fresh random secret; returns both. */
export async function buildOneTimePkcs12(options: OneTimePkcs12Options, crypto: Crypto): Promise<OneTimePkcs12> {
  const random = crypto.getRandomValues(new Uint8Array(ONE_TIME_SECRET_BYTES));
  const secret = hex(random);
  random.fill(0);
  const pkcs12 = await buildPkcs12({ ...options, passphrase: secret, iterations: ONE_TIME_ITERATIONS }, crypto);
  return { pkcs12, secret };
}
