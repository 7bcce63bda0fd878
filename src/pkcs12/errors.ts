/**
 * The typed errors of the key-material module. Each carries the data a caller needs to branch
 * on or to show the user, never just a string: the UI says "wrong passphrase" and "this file is
 * damaged" differently, and the CLI names the bad address.
 */

/** An address that is not a mailbox this module can put in a certificate request (RFC 5321 §4.1.2, RFC 6531 §3.3). */
export class InvalidMailboxError extends Error {
  override readonly name = 'InvalidMailboxError';
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(`"${address}" is not a mailbox: ${reason}`);
  }
}

/** A key that cannot be used: unsupported algorithm or curve, malformed PKCS#8, not extractable… */
export class KeyError extends Error {
  override readonly name = 'KeyError';
}

/** The passphrase does not open the PKCS#12 or encrypted key (MAC mismatch, bad padding after decryption). */
export class WrongPassphraseError extends Error {
  override readonly name = 'WrongPassphraseError';
  constructor(readonly what: 'pkcs12' | 'encrypted private key') {
    super(what === 'pkcs12' ? 'the passphrase does not open this PKCS#12 file' : 'the passphrase does not open this encrypted private key');
  }
}

/** A passphrase refused by policy (empty without explicit consent). */
export class PassphrasePolicyError extends Error {
  override readonly name = 'PassphrasePolicyError';
}

/**
 * A PKCS#12 or PKCS#8 structure that cannot be read: malformed DER, an algorithm this module
 * does not implement (`unsupported` names its OID), or missing pieces.
 */
export class Pkcs12FormatError extends Error {
  override readonly name = 'Pkcs12FormatError';
  constructor(
    message: string,
    readonly unsupported?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A certificate that cannot be parsed, or that does not belong to the key it is paired with. */
export class CertificateError extends Error {
  override readonly name = 'CertificateError';
}
