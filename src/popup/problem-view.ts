/**
 * A CA's problem document (RFC 8555 §6.7, RFC 7807) in plain words, whole: a sentence for its
 * type, the CA's own detail, and one line per subproblem naming the address it is about
 * (§6.7.1). Pure: the DOM layer translates the keys (test/popup/problem-view.test.ts).
 */
import type { ProblemInfo } from '../enroll/ports';

export interface ProblemLine {
  /** The _locales key of the sentence for the problem's type. */
  readonly key: string;
  /** The address a subproblem is about, if it says. */
  readonly identifier?: string;
  /** The CA's own words, shown as given. */
  readonly detail?: string;
}

const ACME_ERROR = 'urn:ietf:params:acme:error:';

/** The RFC 8555 §6.7 types that have a sentence; any other type gets the generic one. */
export const KNOWN_PROBLEM_TYPES = [
  'badCSR', 'badPublicKey', 'badRevocationReason', 'badSignatureAlgorithm', 'caa', 'compound', 'connection', 'dns',
  'externalAccountRequired', 'incorrectResponse', 'invalidContact', 'malformed', 'orderNotReady', 'rateLimited',
  'rejectedIdentifier', 'serverInternal', 'unauthorized', 'unsupportedContact', 'unsupportedIdentifier',
  'userActionRequired', 'alreadyRevoked', 'accountDoesNotExist', 'badNonce',
] as const;

export function problemKey(type: string): string {
  const name = type.startsWith(ACME_ERROR) ? type.slice(ACME_ERROR.length) : '';
  return (KNOWN_PROBLEM_TYPES as readonly string[]).includes(name) ? `problem_${name}` : 'problem_other';
}

function line(p: ProblemInfo): ProblemLine {
  return {
    key: problemKey(p.type),
    ...(p.identifier === undefined ? {} : { identifier: p.identifier.value }),
    ...(p.detail === undefined || p.detail.trim() === '' ? {} : { detail: p.detail.trim() }),
  };
}

/** The problem, then each subproblem (one level: RFC 8555 defines no deeper nesting). */
export function problemLines(problem: ProblemInfo): ProblemLine[] {
  return [line(problem), ...(problem.subproblems ?? []).map(line)];
}
