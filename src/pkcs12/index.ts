/**
 * Key material for S/MIME, runtime-agnostic (WebCrypto `Crypto` passed in; no Node, no extension
 * APIs): keys (WebCrypto; RSA 2048–4096, ECDSA P-256/P-384), PKCS#10 requests (RFC 2986) for
 * mailbox addresses (RFC 5280 rfc822Name, RFC 9598 SmtpUTF8Mailbox), PKCS#12 (RFC 7292) build and
 * parse, encrypted PKCS#8 (RFC 5958), PEM (RFC 7468) and certificate inspection.
 * See docs/PKCS12.md for the choices (algorithms, iteration count, what is refused and why).
 */
export { CertificateError, InvalidMailboxError, KeyError, PassphrasePolicyError, Pkcs12FormatError, WrongPassphraseError } from './errors';
export { describeKey, generateKey, importPkcs8, keyMatchesCertificate, type KeyDescription, type KeyOptions } from './keys';
export { KEY_TYPES, USAGES, type KeyType, type Usage } from '../common/vocabulary';
export { importPrivateKeyPem, type ImportKeyOptions } from './import-key';
export { decryptKeyPair, decryptPrivateKey, encryptPrivateKey, type EncryptKeyOptions } from './encrypted-key';
export { createCsr, keyUsagesFor, parseMailboxes, type CsrOptions, type KeyUsageName } from './csr';
export { parseMailbox, type CertificateMailbox } from './mailbox';
export { buildPkcs12, MAX_BAGS, MAX_CONTENT_INFOS, parsePkcs12, type BuildPkcs12Options, type ParsedPkcs12 } from './pfx';
export { buildOneTimePkcs12, ONE_TIME_ITERATIONS, ONE_TIME_SECRET_BYTES, type OneTimePkcs12, type OneTimePkcs12Options } from './one-time';
export { isAtLeastDefaultProtection, readPkcs12Protection, type Pkcs12Protection } from './protection';
export { DEFAULT_ITERATIONS } from './policy';
export { MAX_ITERATIONS } from './pbe';
export { certificateDer, inspectCertificate, type CertificateAddress, type InspectedCertificate } from './inspect';
export { generatePassphrase } from './passphrase';
export { certificatesFromPem, PEM_LABEL, pemDecode, pemDecodeAll, pemEncode, pemEncodeChain, PemError, type PemBlock } from './pem';
