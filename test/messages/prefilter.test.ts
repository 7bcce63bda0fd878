import { describe, expect, it } from 'vitest';
import { mayBeChallengeSubject } from '../../src/messages/prefilter';

describe('challenge subject pre-filter (RFC 8823 §3)', () => {
  it('lets through RFC 8823 subjects, whatever the case of "ACME:"', () => {
    expect(mayBeChallengeSubject('ACME: LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME')).toBe(true);
    expect(mayBeChallengeSubject('  acme: abc')).toBe(true);
    expect(mayBeChallengeSubject('=?utf-8?q?ACME=3A_abc?=')).toBe(true);
  });

  it('stops ordinary mail, replies and empty subjects', () => {
    expect(mayBeChallengeSubject('Re: ACME: abc')).toBe(false);
    expect(mayBeChallengeSubject('Lunch on Friday?')).toBe(false);
    expect(mayBeChallengeSubject('')).toBe(false);
    expect(mayBeChallengeSubject('ACME:')).toBe(false);
    expect(mayBeChallengeSubject(`ACME: ${'a'.repeat(2000)}`)).toBe(false);
  });
});
