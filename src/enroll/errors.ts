/**
 * Errors of the request API (what the popup and the command line may be told), and the two
 * helpers that read any error the ports throw.
 */
import { PortError, type ProblemInfo } from './ports';

export const REQUEST_ERROR_CODES = ['busy', 'unknownEnrollment', 'unknownIdentity', 'wrongStep', 'noDirectory', 'weakPassphrase', 'noCertificate', 'mailGone', 'wrongPassphrase', 'rootMismatch', 'noKey', 'badAddresses'] as const;
export type RequestErrorCode = (typeof REQUEST_ERROR_CODES)[number];

/** Thrown for requests the flow refuses outright (the popup shows the code's sentence). */
export class EnrollRequestError extends Error {
  override readonly name = 'EnrollRequestError';
  constructor(
    readonly code: RequestErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The CA's problem document, when the error carries one (kept whole for the popup). */
export function problemOf(error: unknown): ProblemInfo | undefined {
  return error instanceof PortError ? error.problem : undefined;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
