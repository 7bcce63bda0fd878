/**
 * Names of the _locales messages for the flow's machine-readable codes. Kept beside the codes
 * so test/enroll/locales.test.ts can prove that every code the popup may show has a sentence.
 * Message names allow only [A-Za-z0-9_@], hence the dash replacement.
 */
import type { NoticeKind } from './ports';
import type { ErrorCode, Step } from './state';
import type { RequestErrorCode } from './errors';

const safe = (code: string): string => code.replace(/[^A-Za-z0-9_]/g, '_');

export const stepKey = (step: Step): string => `step_${safe(step)}`;
export const errorKey = (code: ErrorCode): string => `error_${safe(code)}`;
/** Refusal codes: src/messages/reasons.ts plus the flow's own (FLOW_REFUSAL_REASONS). */
export const refusalKey = (code: string): string => `refusal_${safe(code)}`;
export const requestErrorKey = (code: RequestErrorCode): string => `request_${safe(code)}`;
export const noticeTitleKey = (kind: NoticeKind): string => `notice_${kind}_title`;
export const noticeBodyKey = (kind: NoticeKind): string => `notice_${kind}_body`;
