/**
 * PKCS#12 (RFC 7292): building the file Thunderbird (NSS) imports, and reading files made by
 * OpenSSL, NSS and this module.
 * Written layout, the one OpenSSL 3 writes: PFX v3 → AuthenticatedSafe of
 *   1. encryptedData: SafeContents with one CertBag per certificate (leaf first), and
 *   2. data: SafeContents with one PKCS8ShroudedKeyBag;
 * key and leaf carry friendlyName (PKCS #9, BMPString; NSS makes it the nickname) and localKeyId
 * (SHA-1 of the leaf, as OpenSSL computes it), and a password MAC (RFC 7292 §5.1, B.3) closes it.
 * Default: PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC for both bags, HMAC-SHA-256 MAC, same iteration
 * count everywhere. `legacy`: pbeWithSHAAnd3-KeyTripleDES-CBC for both bags and an HMAC-SHA-1 MAC,
 * for clients older than ~2017 (Windows 7, old macOS). Known deviation: certificates are never
 * written with RC2-40, which OpenSSL's own `-legacy` still does; it is broken.
 * Reading: public-key privacy mode and unencrypted MAC-less files are refused (the first is
 * never used for personal certificates, the second cannot detect a wrong passphrase).
 */
import { bmpText, children, explicitContent, implicitOctets, octets, oidOf, parseDer, setChildren, smallInteger, type Node } from './asn1';
import { bmpString, equalBytes, explicit, integer, nullValue, octetString, oid, sequence, setOf, tlv, type Der } from './der';
import { CertificateError, Pkcs12FormatError, WrongPassphraseError } from './errors';
import { decryptPkcs8, exportPkcs8 } from './encrypted-key';
import { bmpPassword, KdfPurpose, pkcs12KdfAsync } from './kdf';
import { describeKey, importPkcs8, keyMatchesCertificate, type KeyDescription, type KeyOptions } from './keys';
import { DecryptionFailed, decryptWith, encryptLegacy3Des, encryptPbes2, MAX_ITERATIONS, type Encrypted } from './pbe';
import { checkIterations, checkPassphrase, DEFAULT_ITERATIONS } from './policy';
import { OID } from './oids';
import { SHA1, SHA256, type SyncHash } from './sha';

export interface BuildPkcs12Options {
  /** Must be extractable. */
  readonly privateKey: CryptoKey;
  /** DER certificates, leaf first, then the chain up to (and optionally including) the root. */
  readonly certificates: readonly Uint8Array[];
  readonly passphrase: string;
  /** Shown by Thunderbird's certificate manager as the certificate's name. */
  readonly friendlyName: string;
  /** PBKDF2 and MAC iterations; DEFAULT_ITERATIONS (600 000) unless given. */
  readonly iterations?: number;
  /** 3DES + SHA-1 MAC for old clients; off by default. */
  readonly legacy?: boolean;
  readonly allowEmptyPassphrase?: boolean;
}

const attribute = (type: string, value: Der): Der => sequence(oid(type), setOf(value));

function safeBag(bagId: string, value: Der, attributes: readonly Der[]): Der {
  return sequence(oid(bagId), explicit(0, value), ...(attributes.length > 0 ? [setOf(...attributes)] : []));
}

async function encryptBag(plaintext: Uint8Array<ArrayBuffer>, passphrase: string, iterations: number, legacy: boolean, crypto: Crypto): Promise<Encrypted> {
  return legacy ? encryptLegacy3Des(plaintext, passphrase, iterations, crypto) : encryptPbes2(plaintext, passphrase, iterations, crypto);
}

async function hmac(crypto: Crypto, hash: SyncHash, key: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const k = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: hash.name }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, data));
}

/** Builds a PKCS#12 file (RFC 7292 §4) holding the key, its certificate and the chain. */
export async function buildPkcs12(options: BuildPkcs12Options, crypto: Crypto): Promise<Uint8Array<ArrayBuffer>> {
  const { privateKey, certificates, passphrase, friendlyName } = options;
  checkPassphrase(passphrase, options.allowEmptyPassphrase);
  const iterations = checkIterations(options.iterations ?? DEFAULT_ITERATIONS);
  const legacy = options.legacy ?? false;
  const leaf = certificates[0];
  if (!leaf) throw new CertificateError('a PKCS#12 needs at least the certificate of the key');
  describeKey(privateKey);
  if (!(await keyMatchesCertificate(privateKey, leaf, crypto))) throw new CertificateError('the private key does not belong to the first certificate');

  // localKeyId ties the key to its certificate; OpenSSL uses SHA-1 of the certificate.
  const localKeyId = SHA1.digest(leaf);
  const tags = [attribute(OID.friendlyName, bmpString(friendlyName)), attribute(OID.localKeyId, octetString(localKeyId))];

  const certBags = certificates.map((cert, i) =>
    safeBag(OID.certBag, sequence(oid(OID.x509Certificate), explicit(0, octetString(cert))), i === 0 ? tags : []));
  const certContents = sequence(...certBags);
  // The three slow derivations run together: the two bag PBKDF2s in WebCrypto's worker threads,
  // the MAC key (RFC 7292 B.3: it depends on passphrase and salt only) here in sliced JavaScript.
  const hash = legacy ? SHA1 : SHA256;
  const macSalt = crypto.getRandomValues(new Uint8Array(legacy ? 8 : 16));
  const pkcs8 = await exportPkcs8(privateKey, crypto);
  let certsEncrypted: Encrypted;
  let keyEncrypted: Encrypted;
  let macKey: Uint8Array<ArrayBuffer>;
  try {
    [certsEncrypted, keyEncrypted, macKey] = await Promise.all([
      encryptBag(certContents, passphrase, iterations, legacy, crypto),
      encryptBag(pkcs8, passphrase, iterations, legacy, crypto),
      pkcs12KdfAsync(hash, bmpPassword(passphrase), macSalt, iterations, KdfPurpose.Mac, hash.outputLength),
    ]);
  } finally {
    pkcs8.fill(0);
  }
  const encryptedData = sequence(integer(0), sequence(oid(OID.data), certsEncrypted.algorithm, tlv(0x80, certsEncrypted.ciphertext)));
  const keyContents = sequence(safeBag(OID.pkcs8ShroudedKeyBag, sequence(keyEncrypted.algorithm, octetString(keyEncrypted.ciphertext)), tags));

  const authSafe = sequence(
    sequence(oid(OID.encryptedData), explicit(0, encryptedData)),
    sequence(oid(OID.data), explicit(0, octetString(keyContents))),
  );

  // RFC 7292 §5.1 / B.3: HMAC over the AuthenticatedSafe octets.
  const mac = await hmac(crypto, hash, macKey, authSafe);
  macKey.fill(0);
  const macData = sequence(sequence(sequence(oid(legacy ? OID.sha1 : OID.sha256), nullValue()), octetString(mac)), octetString(macSalt), integer(iterations));

  return sequence(integer(3), sequence(oid(OID.data), explicit(0, octetString(authSafe))), macData);
}

// ------------------------------------------------------------------------------------------------

export interface ParsedPkcs12 {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly key: KeyDescription;
  /** The certificate of the key (DER). */
  readonly certificate: Uint8Array<ArrayBuffer>;
  /** The other certificates, ordered from the leaf's issuer upwards where they link. */
  readonly chain: readonly Uint8Array<ArrayBuffer>[];
  readonly friendlyName?: string;
  /** What protected the file, for honest reporting ("PBES2/PBKDF2-HMAC-SHA-256/AES-256-CBC", "HMAC-SHA-256"…). */
  readonly protection: { readonly mac: string; readonly macIterations: number; readonly keyEncryption: string; readonly certEncryption: readonly string[] };
}

const MAC_HASHES: Record<string, SyncHash> = { [OID.sha1]: SHA1, [OID.sha256]: SHA256 };

/**
 * At most this many bags in a file. A personal PKCS#12 holds a key and a chain of two to five
 * certificates; the bound stops a crafted file with thousands of certificates from making the
 * chain ordering and the key-to-certificate search (a signature per candidate) crawl.
 */
export const MAX_BAGS = 64;
/** At most this many ContentInfos (OpenSSL and NSS write two): each encrypted one costs a full key derivation. */
export const MAX_CONTENT_INFOS = 8;

interface Bag {
  readonly id: string;
  /** The scheme of the encryptedData this bag came out of, if any. */
  readonly container?: string;
  readonly value: Node;
  readonly friendlyName?: string;
  readonly localKeyId?: Uint8Array;
}

function readBags(safeContents: Uint8Array, what: string, container?: string): Bag[] {
  return children(parseDer(safeContents, what), what).map((bagNode) => {
    const [idNode, valueNode, attrsNode] = children(bagNode, 'SafeBag');
    const id = oidOf(idNode, 'SafeBag bagId');
    const [value] = explicitContent(valueNode, 0, 'SafeBag bagValue');
    if (!value) throw new Pkcs12FormatError('empty SafeBag');
    let friendlyName: string | undefined;
    let localKeyId: Uint8Array | undefined;
    if (attrsNode) {
      for (const attr of setChildren(attrsNode, 'bagAttributes')) {
        const [typeNode, valuesNode] = children(attr, 'PKCS12Attribute');
        const type = oidOf(typeNode, 'attribute type');
        const first = setChildren(valuesNode, 'attribute values')[0];
        if (type === OID.friendlyName) friendlyName = bmpText(first, 'friendlyName');
        if (type === OID.localKeyId) localKeyId = octets(first, 'localKeyId');
      }
    }
    return { id, value, ...(container === undefined ? {} : { container }), ...(friendlyName === undefined ? {} : { friendlyName }), ...(localKeyId === undefined ? {} : { localKeyId }) };
  });
}

async function verifyMac(macDataNode: Node | undefined, authSafeOctets: Uint8Array<ArrayBuffer>, passphrase: string, crypto: Crypto): Promise<{ mac: string; iterations: number }> {
  if (!macDataNode) throw new Pkcs12FormatError('PKCS#12 without a MAC (integrity cannot be checked)');
  const [digestInfo, saltNode, iterNode] = children(macDataNode, 'MacData');
  const [algNode, digestNode] = children(digestInfo, 'DigestInfo');
  const hashOid = oidOf(children(algNode, 'digestAlgorithm')[0], 'digestAlgorithm');
  const hash = MAC_HASHES[hashOid];
  if (!hash) throw new Pkcs12FormatError('PKCS#12 MAC with an unsupported digest', hashOid);
  const expected = octets(digestNode, 'MAC digest');
  const salt = octets(saltNode, 'macSalt');
  const iterations = iterNode ? smallInteger(iterNode, 'MAC iterations') : 1; // RFC 7292 §4: DEFAULT 1
  if (iterations < 1 || iterations > MAX_ITERATIONS) throw new Pkcs12FormatError(`MAC iteration count ${iterations} is outside 1..${MAX_ITERATIONS}`);
  const key = await pkcs12KdfAsync(hash, bmpPassword(passphrase), salt, iterations, KdfPurpose.Mac, hash.outputLength);
  const actual = await hmac(crypto, hash, key, authSafeOctets);
  if (!equalBytes(actual, expected)) throw new WrongPassphraseError('pkcs12');
  return { mac: `HMAC-${hash.name}`, iterations };
}

/** Decrypts one bag's worth of data after the MAC has verified: a failure now is damage, not a wrong passphrase. */
async function decryptAfterMac(algorithm: Node | undefined, ciphertext: Uint8Array<ArrayBuffer>, passphrase: string, crypto: Crypto): Promise<{ plaintext: Uint8Array<ArrayBuffer>; scheme: string }> {
  try {
    const { plaintext, info } = await decryptWith(algorithm, ciphertext, passphrase, crypto);
    return { plaintext, scheme: info.scheme };
  } catch (error) {
    if (error instanceof DecryptionFailed) throw new Pkcs12FormatError(`the MAC verified but decryption failed: ${error.message}`, undefined, { cause: error });
    throw error;
  }
}

function orderChain(leaf: Uint8Array<ArrayBuffer>, others: Uint8Array<ArrayBuffer>[]): Uint8Array<ArrayBuffer>[] {
  const cache = new Map<Uint8Array, { subject: Uint8Array; issuer: Uint8Array }>();
  const names = (der: Uint8Array): { subject: Uint8Array; issuer: Uint8Array } => {
    const known = cache.get(der);
    if (known) return known;
    const tbs = children(children(parseDer(der, 'certificate'), 'Certificate')[0], 'TBSCertificate');
    const o = tbs[0] && tbs[0].idBlock.tagClass === 3 ? 1 : 0;
    const issuer = tbs[o + 2];
    const subject = tbs[o + 4];
    if (!issuer || !subject) throw new Pkcs12FormatError('certificate without issuer or subject');
    const result = { issuer: issuer.valueBeforeDecodeView, subject: subject.valueBeforeDecodeView };
    cache.set(der, result);
    return result;
  };
  const rest = [...others];
  const ordered: Uint8Array<ArrayBuffer>[] = [];
  let current = names(leaf);
  for (;;) {
    if (equalBytes(current.issuer, current.subject)) break;
    const i = rest.findIndex((c) => equalBytes(names(c).subject, current.issuer));
    if (i < 0) break;
    const [next] = rest.splice(i, 1);
    ordered.push(next!);
    current = names(next!);
  }
  return [...ordered, ...rest];
}

/**
 * Reads a PKCS#12 file: verifies the MAC (wrong passphrase → WrongPassphraseError), decrypts the
 * bags, imports the key and returns its certificate and the rest of the chain.
 */
export async function parsePkcs12(bytes: Uint8Array, passphrase: string, crypto: Crypto, options: KeyOptions = {}): Promise<ParsedPkcs12> {
  try {
    return await parseUnchecked(bytes, passphrase, crypto, options);
  } catch (error) {
    if (error instanceof WrongPassphraseError || error instanceof Pkcs12FormatError || error instanceof CertificateError) throw error;
    // Anything else from a hostile file (a library's TypeError, a WebCrypto DataError) is still "damaged file".
    throw new Pkcs12FormatError(`damaged PKCS#12: ${error instanceof Error ? error.message : String(error)}`, undefined, { cause: error });
  }
}

async function parseUnchecked(bytes: Uint8Array, passphrase: string, crypto: Crypto, options: KeyOptions): Promise<ParsedPkcs12> {
  const [versionNode, authSafeNode, macDataNode] = children(parseDer(bytes, 'PFX'), 'PFX');
  if (smallInteger(versionNode, 'PFX version') !== 3) throw new Pkcs12FormatError('PFX version is not 3');
  const [ctOid, ctContent] = children(authSafeNode, 'authSafe ContentInfo');
  if (oidOf(ctOid, 'authSafe contentType') !== OID.data) throw new Pkcs12FormatError('public-key integrity mode is not supported', oidOf(ctOid, 'authSafe contentType'));
  const authSafeOctets = octets(explicitContent(ctContent, 0, 'authSafe content')[0], 'authSafe content');
  const mac = await verifyMac(macDataNode, authSafeOctets, passphrase, crypto);

  const bags: Bag[] = [];
  const certEncryption: string[] = [];
  const contentInfos = children(parseDer(authSafeOctets, 'AuthenticatedSafe'), 'AuthenticatedSafe');
  if (contentInfos.length > MAX_CONTENT_INFOS) throw new Pkcs12FormatError(`the PKCS#12 has ${contentInfos.length} content parts; at most ${MAX_CONTENT_INFOS} are read`);
  for (const info of contentInfos) {
    const [typeNode, contentNode] = children(info, 'ContentInfo');
    const type = oidOf(typeNode, 'ContentInfo contentType');
    const [content] = explicitContent(contentNode, 0, 'ContentInfo content');
    if (type === OID.data) {
      bags.push(...readBags(octets(content, 'SafeContents'), 'SafeContents'));
    } else if (type === OID.encryptedData) {
      const [, eci] = children(content, 'EncryptedData');
      const [, algorithm, encryptedContent] = children(eci, 'EncryptedContentInfo');
      if (!encryptedContent) continue; // RFC 5652 §6.1: encryptedContent is OPTIONAL; nothing to read
      const { plaintext, scheme } = await decryptAfterMac(algorithm, implicitOctets(encryptedContent, 0, 'encryptedContent'), passphrase, crypto);
      certEncryption.push(scheme);
      bags.push(...readBags(plaintext, 'encrypted SafeContents', scheme));
    } else {
      throw new Pkcs12FormatError('public-key privacy mode is not supported', type);
    }
    if (bags.length > MAX_BAGS) break; // refused just below, before any per-bag work
  }

  if (bags.length > MAX_BAGS) throw new Pkcs12FormatError(`the PKCS#12 holds ${bags.length} bags; at most ${MAX_BAGS} are read`);
  const keyBags = bags.filter((b) => b.id === OID.pkcs8ShroudedKeyBag || b.id === OID.keyBag);
  if (keyBags.length !== 1) throw new Pkcs12FormatError(`expected one private key in the PKCS#12, found ${keyBags.length}`);
  const keyBag = keyBags[0]!;
  let pkcs8: Uint8Array<ArrayBuffer>;
  // A plain keyBag is only as protected as the encryptedData around it (Windows writes those).
  let keyEncryption = keyBag.container ?? 'none';
  if (keyBag.id === OID.keyBag) {
    pkcs8 = keyBag.value.valueBeforeDecodeView.slice();
  } else {
    try {
      const decrypted = await decryptPkcs8(keyBag.value.valueBeforeDecodeView, passphrase, crypto);
      pkcs8 = decrypted.pkcs8;
      keyEncryption = decrypted.info.scheme;
    } catch (error) {
      if (error instanceof WrongPassphraseError) throw new Pkcs12FormatError('the MAC verified but the key bag does not decrypt', undefined, { cause: error });
      throw error;
    }
  }
  const { privateKey, publicKey } = await importPkcs8(pkcs8, crypto, options);

  const certs: { der: Uint8Array<ArrayBuffer>; bag: Bag }[] = [];
  for (const bag of bags.filter((b) => b.id === OID.certBag)) {
    const [certType, certValue] = children(bag.value, 'CertBag');
    if (oidOf(certType, 'CertBag certId') !== OID.x509Certificate) continue; // SDSI certificates: not ours to read
    certs.push({ der: octets(explicitContent(certValue, 0, 'CertBag certValue')[0], 'x509Certificate'), bag });
  }
  // The key's certificate: the one sharing its localKeyId, else the one whose public key matches.
  let leafIndex = keyBag.localKeyId ? certs.findIndex((c) => c.bag.localKeyId && equalBytes(c.bag.localKeyId, keyBag.localKeyId!)) : -1;
  if (leafIndex < 0 || !(await keyMatchesCertificate(privateKey, certs[leafIndex]!.der, crypto))) {
    leafIndex = -1;
    for (let i = 0; i < certs.length && leafIndex < 0; i++) if (await keyMatchesCertificate(privateKey, certs[i]!.der, crypto)) leafIndex = i;
  }
  if (leafIndex < 0) throw new CertificateError('the PKCS#12 holds no certificate for its private key');
  const leaf = certs[leafIndex]!;
  const others = certs.filter((_, i) => i !== leafIndex).map((c) => c.der);
  const friendlyName = keyBag.friendlyName ?? leaf.bag.friendlyName;
  return {
    privateKey,
    publicKey,
    key: describeKey(privateKey),
    certificate: leaf.der,
    chain: orderChain(leaf.der, others),
    ...(friendlyName === undefined ? {} : { friendlyName }),
    protection: { mac: mac.mac, macIterations: mac.iterations, keyEncryption, certEncryption },
  };
}

