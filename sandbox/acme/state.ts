/**
 * The CA's records, in RFC 8555 §7.1 terms. In memory only: a sandbox lives as long as one test
 * run or demo. Every resource's identity is its URL, as for clients.
 */
import type { KeyObject } from 'node:crypto';
import type { Jwk } from './jws';
import type { ProblemDocument } from './problem';

export interface Identifier {
  readonly type: string;
  readonly value: string;
}

export interface AccountRecord {
  readonly id: string;
  readonly url: string;
  jwk: Jwk;
  key: KeyObject;
  thumbprint: string;
  status: 'valid' | 'deactivated' | 'revoked';
  contact: string[];
  readonly termsOfServiceAgreed: boolean;
  readonly orderUrls: string[];
  readonly eabKid?: string;
}

export interface ChallengeRecord {
  readonly id: string;
  readonly url: string;
  readonly authzId: string;
  /** token-part2, the challenge object's `token`. */
  readonly tokenPart2: string;
  /** token-part1, sent only in the mail Subject. */
  readonly tokenPart1: string;
  status: 'pending' | 'processing' | 'valid' | 'invalid';
  validated?: Date;
  error?: ProblemDocument;
  /** The client POSTed {} (RFC 8555 §7.5.1): only then does the CA look at replies. */
  postedAt?: Date;
  /** Message-IDs of every challenge mail sent for this challenge (resends included). */
  readonly messageIds: string[];
  /** Indexes into the sandbox's reply log, of replies waiting for the POST. */
  readonly waitingReplies: number[];
  timeout?: NodeJS.Timeout;
}

export interface AuthorizationRecord {
  readonly id: string;
  readonly url: string;
  readonly accountId: string;
  readonly identifier: Identifier;
  readonly expires: Date;
  deactivated: boolean;
  /** The authorization has been fetched at least once (for `on-fetch` sending). */
  fetched: boolean;
  readonly challenge: ChallengeRecord;
}

export interface CertificateRecord {
  readonly id: string;
  readonly url: string;
  readonly accountId: string;
  readonly der: Uint8Array;
  readonly chainPem: string;
  readonly alternateChainPem: string;
  readonly serialHex: string;
  /** RFC 9773 §4.1 certID: base64url(AKI keyIdentifier) "." base64url(serial). */
  readonly certId: string;
  readonly spki: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  revokedReason?: number;
  replacedBy?: string;
}

export interface OrderRecord {
  readonly id: string;
  readonly url: string;
  readonly accountId: string;
  readonly identifiers: readonly Identifier[];
  readonly authzIds: readonly string[];
  readonly expires: Date;
  readonly replaces?: string;
  /** Set by finalize: when the order leaves `processing`. */
  readyAt?: Date;
  certificateId?: string;
  error?: ProblemDocument;
  /** Finalize failed for a reason that invalidates the order. */
  failed: boolean;
}

export class CaState {
  readonly accounts = new Map<string, AccountRecord>();
  readonly orders = new Map<string, OrderRecord>();
  readonly authzs = new Map<string, AuthorizationRecord>();
  readonly challenges = new Map<string, ChallengeRecord>();
  readonly certificates = new Map<string, CertificateRecord>();

  accountByThumbprint(thumbprint: string): AccountRecord | undefined {
    for (const account of this.accounts.values()) if (account.thumbprint === thumbprint) return account;
    return undefined;
  }

  authzStatus(authz: AuthorizationRecord): 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired' {
    if (authz.deactivated) return 'deactivated';
    if (authz.challenge.status === 'valid') return 'valid';
    if (authz.challenge.status === 'invalid') return 'invalid';
    if (authz.expires.getTime() < Date.now()) return 'expired';
    return 'pending';
  }

  orderStatus(order: OrderRecord): 'pending' | 'ready' | 'processing' | 'valid' | 'invalid' {
    if (order.failed) return 'invalid';
    if (order.certificateId !== undefined) return order.readyAt && order.readyAt.getTime() > Date.now() ? 'processing' : 'valid';
    const statuses = order.authzIds.map((id) => this.authzStatus(this.authzs.get(id)!));
    if (statuses.some((s) => s === 'invalid' || s === 'deactivated' || s === 'expired')) return 'invalid';
    if (statuses.every((s) => s === 'valid')) return 'ready';
    return 'pending';
  }
}
