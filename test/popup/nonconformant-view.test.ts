/** A challenge from a CA that does not mark or sign it: named, never answered, manual path offered. */
import { describe, expect, it } from 'vitest';
import type { Refusal } from '../../src/enroll/state';
import { nonConformantMail } from '../../src/popup/nonconformant-view';

const refusal = (reasons: Refusal['reasons'], extra: Partial<Refusal> = {}): Refusal => ({
  headerMessageId: '<m@ca.test>', subject: 'ACME: abc', author: 'acme@ca.test', at: 1, reasons, detail: '', ...extra,
});

describe('nonConformantMail', () => {
  it('names a missing Auto-Submitted and a missing signature, alone or together', () => {
    expect(nonConformantMail([refusal(['not-auto-submitted'])])?.missing).toEqual(['auto-submitted']);
    expect(nonConformantMail([refusal(['dkim-missing', 'not-authentic'])])?.missing).toEqual(['signature']);
    expect(nonConformantMail([refusal(['not-auto-submitted', 'dkim-missing', 'not-authentic'])])).toEqual({ subject: 'ACME: abc', author: 'acme@ca.test', missing: ['auto-submitted', 'signature'] });
  });

  it('offers nothing for a mail with any real mismatch: a forgery stays a forgery', () => {
    expect(nonConformantMail([refusal(['dkim-missing', 'from-mismatch'])])).toBeUndefined();
    expect(nonConformantMail([refusal(['not-auto-submitted', 'dkim-failed'])])).toBeUndefined();
    expect(nonConformantMail([refusal(['dkim-unaligned'])])).toBeUndefined();
    expect(nonConformantMail([refusal(['not-auto-submitted', 'token-invalid'])])).toBeUndefined();
    expect(nonConformantMail([refusal(['arrived-before-order'])])).toBeUndefined();
  });

  it('ignores a mail that could not be checked yet, and takes the latest one', () => {
    expect(nonConformantMail([refusal(['dkim-missing'], { temporary: true })])).toBeUndefined();
    expect(nonConformantMail([refusal(['not-auto-submitted'], { subject: 'ACME: old' }), refusal(['dkim-missing'], { subject: 'ACME: new' })])?.subject).toBe('ACME: new');
  });
});
