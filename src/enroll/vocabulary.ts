/**
 * Why a challenge mail was not answered, as the flow records it: the codes of src/messages
 * (what was wrong with the mail) plus the few the flow adds itself. Each code has a translated
 * sentence (`refusal_<code>`, checked by test/enroll/locales.test.ts).
 */
import type { RefusalReason } from '../messages/reasons';

/**
 * Codes of refusals the flow itself adds to those of src/messages/reasons.ts. `will-retry` is
 * added to a temporary refusal, so the popup says the mail will be checked again.
 */
export const FLOW_REFUSAL_REASONS = ['compose-mismatch', 'user-declined', 'already-answered', 'will-retry'] as const;
export type FlowRefusalReason = (typeof FLOW_REFUSAL_REASONS)[number];

/** Every code a stored refusal may carry. */
export type RefusalCode = RefusalReason | FlowRefusalReason;

/**
 * Refusal codes that say the check could not finish rather than that the mail is bad: the
 * RFC 8601 §2.7.1 `temperror` class (the DKIM key lookup failed: resolver unreachable, time-out).
 * A mail refused only for these is looked at again (finding 3 of docs/SECURITY.md).
 */
export const TEMPORARY_REFUSAL_REASONS: readonly RefusalCode[] = ['dkim-temperror'];
