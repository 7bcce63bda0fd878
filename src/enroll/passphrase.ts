/**
 * The one passphrase rule of the add-on: what the user may choose for the key they keep and for
 * a `.p12` (the popup checks it as they type; the flow checks it again, for any other caller).
 * Generated passphrases are far longer (src/pkcs12/passphrase.ts).
 */
export const MIN_PASSPHRASE_LENGTH = 8;

export function isAcceptablePassphrase(passphrase: string): boolean {
  return passphrase.length >= MIN_PASSPHRASE_LENGTH;
}
