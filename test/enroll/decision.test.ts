/** The answer rule (src/enroll/mail/decision.ts) as a pure function: each rule, in its order. */
import { describe, expect, it } from 'vitest';
import { decideMail, isAddressedTo, type MailFacts } from '../../src/enroll/mail/decision';
import type { MailCheckAnswer } from '../../src/enroll/ports';

const ANSWER: MailCheckAnswer = {
  verdict: 'answer',
  tokenPart1: 'T1',
  replyTo: 'acme@ca.test',
  replySubject: 'Re: ACME: T1',
  body: '-----BEGIN ACME RESPONSE-----\nX\n-----END ACME RESPONSE-----\n',
  joinUsed: 'string',
  authenticity: 'DKIM d=ca.test',
};

const FRESH: MailFacts = { email: 'Alice@Example.test', addressedTo: ['alice@example.TEST'], settled: false, arrivedBeforeOrder: false, answeredElsewhere: false };

describe('the answer rule', () => {
  it('compares the To addresses without case', () => {
    expect(isAddressedTo('Alice@Example.test', ['bob@example.test', 'ALICE@example.test'])).toBe(true);
    expect(isAddressedTo('alice@example.test', ['alice@example.test.evil'])).toBe(false);
  });

  it('ignores mail for another address, even one that would pass the check', () => {
    expect(decideMail({ ...FRESH, addressedTo: ['bob@example.test'], check: { outcome: ANSWER, askBeforeReplying: false } })).toEqual({ kind: 'ignore', why: 'not-addressed' });
  });

  it('ignores a settled mail (answered, or refused for good) before anything else of ours', () => {
    expect(decideMail({ ...FRESH, settled: true, arrivedBeforeOrder: true })).toEqual({ kind: 'ignore', why: 'settled' });
  });

  it('refuses a mail that was there before the request, and one answered elsewhere, without asking the check or notifying', () => {
    expect(decideMail({ ...FRESH, arrivedBeforeOrder: true, answeredElsewhere: true })).toMatchObject({ kind: 'refuse', reasons: ['arrived-before-order'], notify: false });
    expect(decideMail({ ...FRESH, answeredElsewhere: true })).toMatchObject({ kind: 'refuse', reasons: ['already-answered'], notify: false });
  });

  it("asks for src/messages' check when the flow's own rules pass", () => {
    expect(decideMail(FRESH)).toEqual({ kind: 'check' });
  });

  it("takes the check's refusal as it is, and tells the user", () => {
    const decision = decideMail({ ...FRESH, check: { outcome: { verdict: 'refuse', reasons: ['dkim-failed', 'dkim-temperror'], detail: 'bad signature' }, askBeforeReplying: false } });
    expect(decision).toEqual({ kind: 'refuse', reasons: ['dkim-failed', 'dkim-temperror'], detail: 'bad signature', notify: true });
  });

  it('defers a mail whose every reason is temporary, saying it will be checked again', () => {
    const decision = decideMail({ ...FRESH, check: { outcome: { verdict: 'refuse', reasons: ['dkim-temperror'], detail: 'DNS down' }, askBeforeReplying: false } });
    expect(decision).toEqual({ kind: 'defer', reasons: ['dkim-temperror', 'will-retry'], detail: 'DNS down' });
  });

  it('refuses a mail that made the check throw as malformed, so a crafted mail cannot end the enrollment', () => {
    const decision = decideMail({ ...FRESH, check: { outcome: { verdict: 'failed', message: 'boom' }, askBeforeReplying: false } });
    expect(decision).toEqual({ kind: 'refuse', reasons: ['malformed-message'], detail: 'The mail could not be checked: boom', notify: true });
  });

  it('answers an authentic mail, or asks first when the user wants that', () => {
    expect(decideMail({ ...FRESH, check: { outcome: ANSWER, askBeforeReplying: false } })).toEqual({ kind: 'answer', answer: ANSWER });
    expect(decideMail({ ...FRESH, check: { outcome: ANSWER, askBeforeReplying: true } })).toEqual({ kind: 'ask', answer: ANSWER });
  });
});
