/** Every code the popup or a notification may show has a sentence in _locales. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REFUSAL_REASONS } from '../../src/messages/reasons';
import { REQUEST_ERROR_CODES } from '../../src/enroll/errors';
import { FLOW_REFUSAL_REASONS } from '../../src/enroll/vocabulary';
import { ERROR_CODES, STEPS } from '../../src/enroll/state';
import { NOTICE_KINDS, USAGES } from '../../src/enroll/ports';
import { errorKey, noticeBodyKey, noticeTitleKey, refusalKey, requestErrorKey, stepKey } from '../../src/enroll/i18n-keys';

const messages = JSON.parse(readFileSync('_locales/en/messages.json', 'utf8')) as Record<string, { message: string }>;

function expectMessage(key: string, what: string): void {
  expect(messages[key]?.message, `${what} → ${key}`).toMatch(/\S/);
}

describe('_locales/en/messages.json', () => {
  it('has a sentence for every refusal reason of src/messages and of the flow', () => {
    for (const code of [...REFUSAL_REASONS, ...FLOW_REFUSAL_REASONS]) expectMessage(refusalKey(code), code);
    // Distinct codes must not collapse onto one message name.
    const keys = [...REFUSAL_REASONS, ...FLOW_REFUSAL_REASONS].map(refusalKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('names every step, error, request error and notification', () => {
    for (const step of STEPS) expectMessage(stepKey(step), step);
    for (const code of ERROR_CODES) expectMessage(errorKey(code), code);
    for (const code of REQUEST_ERROR_CODES) expectMessage(requestErrorKey(code), code);
    for (const kind of NOTICE_KINDS) {
      expectMessage(noticeTitleKey(kind), kind);
      expectMessage(noticeBodyKey(kind), kind);
    }
    for (const usage of USAGES) expectMessage(`usage_${usage}`, usage);
    for (const reason of [0, 1, 3, 4, 5, 9]) expectMessage(`revoke_${reason}`, String(reason));
  });

  it('uses only message names Thunderbird accepts', () => {
    for (const key of Object.keys(messages)) expect(key).toMatch(/^[A-Za-z0-9_@]+$/);
  });
});
