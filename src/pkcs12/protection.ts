/**
 * What protects a PKCS#12 file, read without its passphrase and without deriving any key: the
 * MAC's hash and iteration count, the scheme of each key bag and of each encrypted part. The
 * add-on uses it to check a file it did not build — the `.p12` Thunderbird (NSS) exports for the
 * user — before offering it: it must be at least as strong as the one buildPkcs12 writes.
 */
import { children, explicitContent, octets, oidOf, parseDer, smallInteger } from './asn1';
import { Pkcs12FormatError } from './errors';
import { OID } from './oids';
import { describeEncryption, type SchemeInfo } from './pbe';
import { DEFAULT_ITERATIONS } from './policy';

export interface Pkcs12Protection {
  /** "HMAC-SHA-256", "HMAC-SHA-1", "PBMAC1", or the digest OID when unknown. */
  readonly mac: string;
  readonly macIterations: number;
  /** Each PKCS8ShroudedKeyBag in a plain (`data`) part. */
  readonly keyEncryption: readonly SchemeInfo[];
  /** Each encrypted (`encryptedData`) part; its bags cannot be seen without the passphrase. */
  readonly encryptedParts: readonly SchemeInfo[];
  /** Unencrypted keyBags in plain parts: keys any reader of the file has. */
  readonly plainKeys: number;
}

const MAC_NAMES: Record<string, string> = { [OID.sha1]: 'HMAC-SHA-1', [OID.sha256]: 'HMAC-SHA-256', '1.2.840.113549.1.5.14': 'PBMAC1' };

function unchecked(bytes: Uint8Array): Pkcs12Protection {
  const [versionNode, authSafeNode, macDataNode] = children(parseDer(bytes, 'PFX'), 'PFX');
  if (smallInteger(versionNode, 'PFX version') !== 3) throw new Pkcs12FormatError('PFX version is not 3');
  const [ctOid, ctContent] = children(authSafeNode, 'authSafe ContentInfo');
  if (oidOf(ctOid, 'authSafe contentType') !== OID.data) throw new Pkcs12FormatError('public-key integrity mode is not supported', oidOf(ctOid, 'authSafe contentType'));
  if (!macDataNode) throw new Pkcs12FormatError('PKCS#12 without a MAC (integrity cannot be checked)');
  const [digestInfo, , iterNode] = children(macDataNode, 'MacData');
  const [algNode] = children(digestInfo, 'DigestInfo');
  const macOid = oidOf(children(algNode, 'digestAlgorithm')[0], 'digestAlgorithm');
  const macIterations = iterNode ? smallInteger(iterNode, 'MAC iterations') : 1;

  const keyEncryption: SchemeInfo[] = [];
  const encryptedParts: SchemeInfo[] = [];
  let plainKeys = 0;
  const authSafe = octets(explicitContent(ctContent, 0, 'authSafe content')[0], 'authSafe content');
  for (const info of children(parseDer(authSafe, 'AuthenticatedSafe'), 'AuthenticatedSafe')) {
    const [typeNode, contentNode] = children(info, 'ContentInfo');
    const type = oidOf(typeNode, 'ContentInfo contentType');
    const [content] = explicitContent(contentNode, 0, 'ContentInfo content');
    if (type === OID.encryptedData) {
      const [, eci] = children(content, 'EncryptedData');
      encryptedParts.push(describeEncryption(children(eci, 'EncryptedContentInfo')[1]));
    } else if (type === OID.data) {
      for (const bag of children(parseDer(octets(content, 'SafeContents'), 'SafeContents'), 'SafeContents')) {
        const [idNode, valueNode] = children(bag, 'SafeBag');
        const id = oidOf(idNode, 'SafeBag bagId');
        if (id === OID.keyBag) plainKeys++;
        if (id === OID.pkcs8ShroudedKeyBag) {
          const [encrypted] = explicitContent(valueNode, 0, 'SafeBag bagValue');
          keyEncryption.push(describeEncryption(children(encrypted, 'EncryptedPrivateKeyInfo')[0]));
        }
      }
    } else {
      throw new Pkcs12FormatError('public-key privacy mode is not supported', type);
    }
  }
  return { mac: MAC_NAMES[macOid] ?? macOid, macIterations, keyEncryption, encryptedParts, plainKeys };
}

/** Reads what protects a PKCS#12 (no passphrase needed); Pkcs12FormatError if it cannot be read. */
export function readPkcs12Protection(bytes: Uint8Array): Pkcs12Protection {
  try {
    return unchecked(bytes);
  } catch (error) {
    if (error instanceof Pkcs12FormatError) throw error;
    throw new Pkcs12FormatError(`damaged PKCS#12: ${error instanceof Error ? error.message : String(error)}`, undefined, { cause: error });
  }
}

/** The key-bag schemes at least as strong as buildPkcs12's default (PBKDF2-HMAC-SHA-256, AES-256). */
const STRONG_KEY_SCHEME = /^PBES2\/PBKDF2-HMAC-SHA-(256|384|512)\/AES-256-CBC$/;
/** Encrypted parts hold certificates, which are public; any PBES2 with AES is read by OpenSSL 3 without -legacy. */
const MODERN_PART_SCHEME = /^PBES2\/PBKDF2-HMAC-SHA-(1|256|384|512)\/AES-(128|192|256)-CBC$/;

/**
 * True when a file resists offline guessing of its passphrase at least as well as buildPkcs12's
 * default and OpenSSL 3 reads it without `-legacy`: an HMAC-SHA-256 MAC and exactly one shrouded
 * key, PBES2 with PBKDF2-HMAC-SHA-256 (or stronger) and AES-256-CBC, both at `iterations` or more;
 * no key in the clear; encrypted parts only with PBES2 and AES.
 */
export function isAtLeastDefaultProtection(p: Pkcs12Protection, iterations: number = DEFAULT_ITERATIONS): boolean {
  return p.mac === 'HMAC-SHA-256' && p.macIterations >= iterations
    && p.plainKeys === 0
    && p.keyEncryption.length === 1 && p.keyEncryption.every((k) => STRONG_KEY_SCHEME.test(k.scheme) && k.iterations >= iterations)
    && p.encryptedParts.every((e) => MODERN_PART_SCHEME.test(e.scheme));
}
