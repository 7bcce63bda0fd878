/**
 * Random passphrases for users who want one made for them (the PKCS#12 download, the stored key).
 * 24 characters from a 31-letter alphabet without look-alikes (no 0/O, 1/l/I) in six groups of
 * four: 24·log2(31) ≈ 118.9 bits, beyond any offline guessing even at one PBKDF2 round.
 * Rejection sampling keeps every character equally likely.
 */

export const PASSPHRASE_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** A passphrase such as "k7dq-xm2p-…", `groups` groups of four characters. */
export function generatePassphrase(crypto: Crypto, groups = 6): string {
  if (!Number.isInteger(groups) || groups < 4) throw new RangeError('a generated passphrase has at least 4 groups (≈ 79 bits)');
  const n = PASSPHRASE_ALPHABET.length;
  const limit = 256 - (256 % n); // bytes at or above this would favour the first letters
  const chars: string[] = [];
  while (chars.length < groups * 4) {
    for (const byte of crypto.getRandomValues(new Uint8Array(64))) {
      if (byte < limit && chars.length < groups * 4) chars.push(PASSPHRASE_ALPHABET[byte % n]!);
    }
  }
  const out: string[] = [];
  for (let i = 0; i < groups; i++) out.push(chars.slice(4 * i, 4 * i + 4).join(''));
  return out.join('-');
}
