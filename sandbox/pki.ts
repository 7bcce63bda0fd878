/**
 * The sandbox's certificate authorities, split as a public CA's are:
 * - a **TLS root** (like a WebPKI root a browser trusts for servers) that signs the TLS
 *   certificate of the ACME and DoH servers, and nothing else;
 * - a **mailbox root** (like an S/MIME root a mail client trusts for e-mail) with an issuing
 *   intermediate under it that signs the mailbox certificates, and an alternate root that
 *   cross-signs the same intermediate, so certificate downloads can offer an alternate chain
 *   (RFC 8555 §7.4.2).
 * Trusting one root never makes the other's certificates valid: a client that trusts the TLS
 * root to talk to the CA still has to decide whether to trust the mailbox root for e-mail.
 *
 * Issued end-entity certificates follow the CA/Browser Forum S/MIME Baseline Requirements,
 * mailbox-validated *strict* profile (§7.1.2.3): EKU emailProtection only, keyUsage as the CSR
 * asked, SAN from the order (rfc822Name, or otherName SmtpUTF8Mailbox per RFC 9598 when the
 * local part is not ASCII), policy 2.23.140.1.5.1.3, short validity.
 * The issuing intermediates carry an Authority Information Access `caIssuers` URL of their root,
 * served by the ACME server (mailbox-root.der), so a mail client can fetch the root it lacks.
 * Known deviations, acceptable for a loopback test CA: no CRL distribution point, no OCSP, the
 * caIssuers URL is https (on the ACME server) rather than plain http, and a 1-day CA lifetime.
 *
 * Keys are made at start with Node's WebCrypto and never written anywhere but the state folder.
 */
import { createHash, webcrypto, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
// @peculiar/x509 resolves its providers through tsyringe, which needs this polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { GeneralName, OtherName, SubjectAlternativeName } from '@peculiar/asn1-x509';
import { Utf8String } from 'asn1js';

const crypto = webcrypto as unknown as Crypto;
const EC_P256: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGN_ECDSA: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const DAY_MS = 86_400_000;

/** OIDs this module writes; named after their defining documents. */
export const OID = {
  subjectAltName: '2.5.29.17',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  /** RFC 9598 §3 id-on-SmtpUTF8Mailbox. */
  smtpUtf8Mailbox: '1.3.6.1.5.5.7.8.9',
  /** CA/B Forum S/MIME BR §7.1.6.1: mailbox-validated, strict. */
  mailboxValidatedStrict: '2.23.140.1.5.1.3',
} as const;

interface CaCert {
  readonly cert: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
}

export interface IssueRequest {
  /** SubjectPublicKeyInfo of the CSR, DER. */
  readonly spki: Uint8Array<ArrayBuffer>;
  /** Mailbox addresses of the order, in order. */
  readonly emails: readonly string[];
  /** keyUsage bits the CSR asked for (x509.KeyUsageFlags). */
  readonly keyUsage: x509.KeyUsageFlags;
  /** notAfter = now + this; notBefore is back-dated a minute for clock skew. */
  readonly lifetimeSeconds: number;
}

export interface IssuedCertificate {
  readonly cert: x509.X509Certificate;
  /** End-entity then intermediate (signed by the mailbox root), PEM. */
  readonly chainPem: string;
  /** End-entity then the cross-signed intermediate (signed by the alternate root), PEM. */
  readonly alternateChainPem: string;
}

/** A root certificate as PEM, the file it was written to, and its SHA-256 fingerprint. */
export interface RootFile {
  readonly pem: string;
  readonly path: string;
  /** SHA-256 of the DER, upper-case hex pairs joined by colons, as Thunderbird's certificate viewer shows it. */
  readonly sha256: string;
}

export class SandboxPki {
  private constructor(
    private readonly issuer: CaCert,
    private readonly crossSignedIssuer: x509.X509Certificate,
    /** PEMs for Node's https server: certificate for 127.0.0.1/localhost, and its key. */
    readonly tls: { readonly certPem: string; readonly keyPem: string },
    /** The root that signed `tls.certPem`: trust it to reach the ACME server and DoH. */
    readonly tlsRoot: RootFile,
    /** The root of the mailbox certificates (through `issuerCert`): trust it for e-mail. */
    readonly mailboxRoot: RootFile,
    /** The alternate root that cross-signs the issuing intermediate. */
    readonly alternateMailboxRoot: RootFile,
    /** The roots by the file name their intermediates' caIssuers URLs end in (DER). */
    readonly caIssuersFiles: Readonly<Record<string, Uint8Array>>,
  ) {}

  get issuerCert(): x509.X509Certificate {
    return this.issuer.cert;
  }

  /**
   * `caIssuersBase`: where the ACME server serves the roots (`<base>/mailbox-root.der`,
   * `<base>/mailbox-alternate-root.der`); each issuing intermediate names its root there in an
   * Authority Information Access `caIssuers` entry (RFC 5280 §4.2.2.1), as public S/MIME CAs do,
   * so a client that does not have the root can fetch it, check it, and ask its user.
   */
  static async create(dir: string, caIssuersBase?: string): Promise<SandboxPki> {
    const now = Date.now();
    const notBefore = new Date(now - 60_000);
    const notAfter = new Date(now + DAY_MS);
    const [tlsRootKeys, mailboxRootKeys, altKeys, issuerKeys, tlsKeys] = await Promise.all(
      [0, 1, 2, 3, 4].map(() => crypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])),
    );
    const caExtensions = async (keys: CryptoKeyPair, pathLength?: number): Promise<x509.Extension[]> => [
      new x509.BasicConstraintsExtension(true, pathLength, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
    ];
    const selfSigned = async (name: string, keys: CryptoKeyPair): Promise<CaCert> => ({
      keys,
      cert: await x509.X509CertificateGenerator.createSelfSigned(
        { serialNumber: serial(), name, notBefore, notAfter, keys, signingAlgorithm: SIGN_ECDSA, extensions: await caExtensions(keys) },
        crypto,
      ),
    });
    const tlsRoot = await selfSigned('CN=One-Click S/MIME Sandbox TLS Root', tlsRootKeys!);
    const mailboxRoot = await selfSigned('CN=One-Click S/MIME Sandbox S/MIME Root', mailboxRootKeys!);
    const alternateRoot = await selfSigned('CN=One-Click S/MIME Sandbox S/MIME Alternate Root', altKeys!);
    const issuerName = 'CN=One-Click S/MIME Sandbox Mailbox CA';
    const intermediate = async (by: CaCert, rootFile: string): Promise<x509.X509Certificate> =>
      x509.X509CertificateGenerator.create(
        {
          serialNumber: serial(), subject: issuerName, issuer: by.cert.subject, notBefore, notAfter,
          publicKey: issuerKeys!.publicKey, signingKey: by.keys.privateKey, signingAlgorithm: SIGN_ECDSA,
          extensions: [
            ...(await caExtensions(issuerKeys!, 0)),
            await x509.AuthorityKeyIdentifierExtension.create(by.keys.publicKey, false, crypto),
            new x509.ExtendedKeyUsageExtension([OID.emailProtection]),
            ...(caIssuersBase === undefined ? [] : [new x509.AuthorityInfoAccessExtension({ caIssuers: [new x509.GeneralName('url', `${caIssuersBase}/${rootFile}`)] })]),
          ],
        },
        crypto,
      );
    const issuer: CaCert = { keys: issuerKeys!, cert: await intermediate(mailboxRoot, 'mailbox-root.der') };
    const crossSigned = await intermediate(alternateRoot, 'mailbox-alternate-root.der');
    const tlsCert = await x509.X509CertificateGenerator.create(
      {
        serialNumber: serial(), subject: 'CN=sandbox.localhost', issuer: tlsRoot.cert.subject, notBefore, notAfter,
        publicKey: tlsKeys!.publicKey, signingKey: tlsRoot.keys.privateKey, signingAlgorithm: SIGN_ECDSA,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }]),
          await x509.AuthorityKeyIdentifierExtension.create(tlsRoot.keys.publicKey, false, crypto),
        ],
      },
      crypto,
    );
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', tlsKeys!.privateKey));
    const keyPem = x509.PemConverter.encode(pkcs8.buffer, 'PRIVATE KEY');
    return new SandboxPki(
      issuer, crossSigned, { certPem: tlsCert.toString('pem') + '\n', keyPem },
      writeRoot(dir, 'tls-root.pem', tlsRoot.cert),
      writeRoot(dir, 'mailbox-root.pem', mailboxRoot.cert),
      writeRoot(dir, 'mailbox-alternate-root.pem', alternateRoot.cert),
      { 'mailbox-root.der': new Uint8Array(mailboxRoot.cert.rawData), 'mailbox-alternate-root.der': new Uint8Array(alternateRoot.cert.rawData) },
    );
  }

  /** Issues a mailbox-validated strict S/MIME certificate; the caller has checked the CSR. */
  async issue(request: IssueRequest): Promise<IssuedCertificate> {
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.create(
      {
        serialNumber: serial(),
        // The strict profile allows only mailbox addresses in the subject; CN carries the first.
        subject: [{ CN: [request.emails[0] ?? ''] }],
        issuer: this.issuer.cert.subject,
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + request.lifetimeSeconds * 1000),
        publicKey: new x509.PublicKey(request.spki),
        signingKey: this.issuer.keys.privateKey,
        signingAlgorithm: SIGN_ECDSA,
        extensions: [
          new x509.KeyUsagesExtension(request.keyUsage, true),
          new x509.ExtendedKeyUsageExtension([OID.emailProtection]),
          mailboxSan(request.emails),
          new x509.CertificatePolicyExtension([OID.mailboxValidatedStrict]),
          await x509.AuthorityKeyIdentifierExtension.create(this.issuer.keys.publicKey, false, crypto),
        ],
      },
      crypto,
    );
    const pem = (c: x509.X509Certificate): string => c.toString('pem') + '\n';
    return {
      cert,
      chainPem: pem(cert) + pem(this.issuer.cert),
      alternateChainPem: pem(cert) + pem(this.crossSignedIssuer),
    };
  }
}

function writeRoot(dir: string, name: string, cert: x509.X509Certificate): RootFile {
  const pem = cert.toString('pem') + '\n';
  const path = join(dir, name);
  writeFileSync(path, pem);
  return { pem, path, sha256: sha256Fingerprint(new Uint8Array(cert.rawData)) };
}

/** SHA-256 of `der` as `AB:CD:…` (upper-case hex, colon-separated), the form certificate viewers show. */
export function sha256Fingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

/** A positive 128-bit serial in hex (CA/B BR: at least 64 bits from a CSPRNG). */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f | 0x01;
  return bytes.toString('hex');
}

/** True when the local part needs SmtpUTF8Mailbox rather than rfc822Name (RFC 9598 §3). */
export function needsSmtpUtf8(email: string): boolean {
  for (let i = 0; i < email.length; i++) if (email.charCodeAt(i) > 0x7f) return true;
  return false;
}

function mailboxSan(emails: readonly string[]): x509.Extension {
  const names = emails.map((email) =>
    needsSmtpUtf8(email)
      ? new GeneralName({ otherName: new OtherName({ typeId: OID.smtpUtf8Mailbox, value: new Uint8Array(new Utf8String({ value: email }).toBER()).buffer }) })
      : new GeneralName({ rfc822Name: email }),
  );
  return new x509.Extension(OID.subjectAltName, false, AsnConvert.serialize(new SubjectAlternativeName(names)));
}
