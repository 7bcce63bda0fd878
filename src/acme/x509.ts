/**
 * The few certificate fields the ACME client reads (RFC 5280 §4.1): serial number, issuer and
 * subject common names, and the Authority Key Identifier (§4.2.1.1) that ARI's certID needs
 * (RFC 9773 §4.1). Read with asn1js alone: a full X.509 library would triple the add-on's
 * background bundle for three fields. Nothing here verifies anything.
 */
import { fromBER, type AsnType, Constructed, Integer, ObjectIdentifier, OctetString, Primitive, Sequence } from 'asn1js';
import { AcmeUsageError } from './errors';

const OID_COMMON_NAME = '2.5.4.3';
const OID_AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';

export interface CertificateNames {
  /** DER content octets of serialNumber, leading zero byte included (as RFC 9773 §4.1 wants). */
  readonly serial: Uint8Array<ArrayBuffer>;
  readonly issuerCommonNames: string[];
  readonly subjectCommonNames: string[];
  /** keyIdentifier of the Authority Key Identifier extension, when present. */
  readonly authorityKeyId?: Uint8Array<ArrayBuffer>;
}

/**
 * asn1js's fromBER, with its exceptions made typed: it throws a plain Error (rather than
 * returning offset -1) for some malformed values, e.g. an empty GeneralizedTime (18 00).
 */
function parseBer(bytes: Uint8Array): ReturnType<typeof fromBER> {
  try {
    return fromBER(bytes);
  } catch (error) {
    throw new AcmeUsageError('not a DER X.509 certificate', undefined, { cause: error });
  }
}

function children(node: AsnType | undefined): AsnType[] {
  return node instanceof Constructed ? node.valueBlock.value : [];
}

/** Tag class 3 (context-specific) with the given number. */
function isContext(node: AsnType | undefined, tag: number): boolean {
  return node !== undefined && node.idBlock.tagClass === 3 && node.idBlock.tagNumber === tag;
}

function commonNames(name: AsnType | undefined): string[] {
  const out: string[] = [];
  for (const rdn of children(name)) {
    for (const atv of children(rdn)) {
      const [type, value] = children(atv);
      if (type instanceof ObjectIdentifier && type.valueBlock.toString() === OID_COMMON_NAME && value) {
        // DirectoryString: every string type asn1js knows exposes its text as valueBlock.value.
        const text: unknown = (value.valueBlock as { value?: unknown }).value;
        if (typeof text === 'string') out.push(text);
      }
    }
  }
  return out;
}

function authorityKeyId(extensions: AsnType | undefined): Uint8Array<ArrayBuffer> | undefined {
  for (const extension of children(children(extensions)[0])) {
    const parts = children(extension);
    const id = parts[0];
    const value = parts[parts.length - 1];
    if (!(id instanceof ObjectIdentifier) || id.valueBlock.toString() !== OID_AUTHORITY_KEY_IDENTIFIER) continue;
    if (!(value instanceof OctetString)) return undefined;
    const aki = parseBer(value.valueBlock.valueHexView);
    // keyIdentifier is [0] IMPLICIT OCTET STRING: asn1js leaves it a context-tagged Primitive.
    const keyId = aki.offset === -1 ? undefined : children(aki.result).find((n) => isContext(n, 0));
    return keyId instanceof Primitive ? new Uint8Array(keyId.valueBlock.valueHexView) : undefined;
  }
  return undefined;
}

/** Reads the fields above from a DER certificate; AcmeUsageError when it is not one. */
export function readCertificateNames(der: Uint8Array): CertificateNames {
  const parsed = parseBer(der);
  const tbs = children(parsed.result)[0];
  if (parsed.offset === -1 || !(parsed.result instanceof Sequence) || !(tbs instanceof Sequence)) throw new AcmeUsageError('not a DER X.509 certificate');
  const fields = children(tbs);
  const offset = isContext(fields[0], 0) ? 1 : 0; // [0] EXPLICIT version is optional (v1)
  const serial = fields[offset];
  if (!(serial instanceof Integer)) throw new AcmeUsageError('not a DER X.509 certificate (no serial number)');
  const akiHolder = fields.slice(offset + 6).find((n) => isContext(n, 3));
  const aki = authorityKeyId(akiHolder);
  return {
    serial: new Uint8Array(serial.valueBlock.valueHexView),
    issuerCommonNames: commonNames(fields[offset + 2]),
    subjectCommonNames: commonNames(fields[offset + 4]),
    ...(aki ? { authorityKeyId: aki } : {}),
  };
}
