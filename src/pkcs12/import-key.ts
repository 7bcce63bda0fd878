/**
 * Importing an existing private key for a renewal with the same key, from the PEM forms people
 * actually have: PKCS#8 "PRIVATE KEY" (RFC 5958 §2), "ENCRYPTED PRIVATE KEY" (RFC 5958 §3),
 * and the older OpenSSL forms "RSA PRIVATE KEY" (PKCS #1, RFC 8017 A.1.2) and "EC PRIVATE KEY"
 * (SEC 1, RFC 5915), which are re-wrapped as PKCS#8 in memory. Encrypted legacy PEM
 * ("Proc-Type: 4,ENCRYPTED" headers) is refused: it uses an MD5-based KDF.
 * Keys inside a PKCS#12 come through parsePkcs12.
 */
import { children, oidOf, parseDer } from './asn1';
import { explicitContent } from './asn1';
import { integer, nullValue, octetString, oid, sequence } from './der';
import { decryptKeyPair } from './encrypted-key';
import { KeyError } from './errors';
import { importPkcs8, type KeyOptions } from './keys';
import { OID } from './oids';
import { pemDecodeAll } from './pem';

export interface ImportKeyOptions extends KeyOptions {
  /** Needed for "ENCRYPTED PRIVATE KEY". */
  readonly passphrase?: string;
}

const KEY_LABELS = ['PRIVATE KEY', 'ENCRYPTED PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY'];

/** Imports the one private key in a PEM text; throws KeyError (or WrongPassphraseError). */
export async function importPrivateKeyPem(text: string, crypto: Crypto, options: ImportKeyOptions = {}): Promise<CryptoKeyPair> {
  if (/Proc-Type:\s*4,ENCRYPTED/.test(text)) throw new KeyError('legacy encrypted PEM keys are not supported; convert with `openssl pkcs8 -topk8`');
  const blocks = pemDecodeAll(text).filter((b) => KEY_LABELS.includes(b.label));
  if (blocks.length !== 1) throw new KeyError(`expected one private key PEM block, found ${blocks.length}`);
  const { label, der } = blocks[0]!;
  const { extractable } = options;
  const keyOptions: KeyOptions = extractable === undefined ? {} : { extractable };
  switch (label) {
    case 'ENCRYPTED PRIVATE KEY':
      if (options.passphrase === undefined) throw new KeyError('the key is encrypted; a passphrase is needed');
      return decryptKeyPair(der, options.passphrase, crypto, keyOptions);
    case 'RSA PRIVATE KEY':
      return importPkcs8(sequence(integer(0), sequence(oid(OID.rsaEncryption), nullValue()), octetString(der)), crypto, keyOptions);
    case 'EC PRIVATE KEY': {
      // RFC 5915 §3: ECPrivateKey { version, privateKey, [0] parameters (the named curve), [1] publicKey }
      let curve: string;
      try {
        const fields = children(parseDer(der, 'ECPrivateKey'), 'ECPrivateKey');
        const params = fields.find((f) => f.idBlock.tagClass === 3 && f.idBlock.tagNumber === 0);
        curve = oidOf(explicitContent(params, 0, 'ECPrivateKey parameters')[0], 'named curve');
      } catch (cause) {
        throw new KeyError('malformed EC PRIVATE KEY (it must name its curve)', { cause });
      }
      return importPkcs8(sequence(integer(0), sequence(oid(OID.ecPublicKey), oid(curve)), octetString(der)), crypto, keyOptions);
    }
    default:
      return importPkcs8(der, crypto, keyOptions);
  }
}
