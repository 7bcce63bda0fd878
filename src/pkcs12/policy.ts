/**
 * The passphrase and work-factor policy shared by the PKCS#12 writer and the encrypted-key store.
 */
import { PassphrasePolicyError } from './errors';
import { MAX_ITERATIONS } from './pbe';

/**
 * Default PBKDF2 / PKCS#12-MAC iteration count: 600 000, OWASP's figure for PBKDF2-HMAC-SHA256
 * (Password Storage Cheat Sheet, 2023, still current in 2026) and what NSS 3.x `pk12util` writes
 * today. OpenSSL 3's 2 048 dates from 2000-era hardware. The MAC uses the same count: a MAC that
 * is cheaper to compute than the encryption would be the attacker's shortcut to the passphrase.
 */
export const DEFAULT_ITERATIONS = 600_000;

export function checkIterations(iterations: number): number {
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new RangeError(`iteration count must be an integer from 1 to ${MAX_ITERATIONS}, not ${iterations}`);
  }
  return iterations;
}

/** An empty passphrase protects nothing; it is refused unless the caller says so in so many words. */
export function checkPassphrase(passphrase: string, allowEmpty: boolean | undefined): void {
  if (passphrase === '' && allowEmpty !== true) throw new PassphrasePolicyError('an empty passphrase is refused (pass allowEmptyPassphrase to override)');
}
