/** The read-back check before a reply is sent: anything unexpected keeps it unsent. */
import { describe, expect, it } from 'vitest';
import { composeView } from '../../src/background/messenger-ports';
import { composeMismatches as mismatches } from '../../src/enroll/mail/read-back';
import type { ReplyRequest } from '../../src/enroll/ports';

/** The glue's translation of the compose window, then the rule (src/enroll/mail/read-back.ts). */
function composeMismatches(details: messenger.compose.ComposeDetails, request: ReplyRequest): string[] {
  return mismatches(composeView(details), request);
}

const request: ReplyRequest = {
  mail: { id: 1, headerMessageId: '<c@ca.test>', subject: 'ACME: abc', author: 'acme@ca.test', date: 0 },
  identityId: 'id1',
  body: '-----BEGIN ACME RESPONSE-----\nVALUE\n-----END ACME RESPONSE-----\n',
  expectTo: 'acme@ca.test',
  expectSubject: 'Re: ACME: abc',
  expectFrom: 'alice@example.test',
};

const good: messenger.compose.ComposeDetails = {
  identityId: 'id1',
  from: 'Alice <alice@example.test>',
  to: ['CA <acme@ca.test>'],
  cc: [],
  bcc: [],
  subject: 'Re: ACME: abc',
  isPlainText: true,
  plainTextBody: '-----BEGIN ACME RESPONSE-----\r\nVALUE \r\n-----END ACME RESPONSE-----\r\n\r\n',
};

describe('compose read-back', () => {
  it('accepts the reply Thunderbird prepared as asked (line ends and flowed spaces aside)', () => {
    expect(composeMismatches(good, request)).toEqual([]);
  });

  it('names every difference', () => {
    expect(composeMismatches({ ...good, identityId: 'id2' }, request)).toEqual(['identity']);
    expect(composeMismatches({ ...good, from: 'mallory@example.test' }, request)).toEqual(['from']);
    expect(composeMismatches({ ...good, to: ['acme@ca.test', 'other@x.test'] }, request)).toEqual(['to']);
    expect(composeMismatches({ ...good, to: 'attacker@evil.test' }, request)).toEqual(['to']);
    expect(composeMismatches({ ...good, cc: ['spy@evil.test'] }, request)).toEqual(['cc']);
    expect(composeMismatches({ ...good, bcc: 'spy@evil.test' }, request)).toEqual(['bcc']);
    expect(composeMismatches({ ...good, subject: 'Re: ACME: abd' }, request)).toEqual(['subject']);
    expect(composeMismatches({ ...good, isPlainText: false }, request)).toEqual(['format']);
    expect(composeMismatches({ ...good, plainTextBody: `> quoted\n${good.plainTextBody ?? ''}` }, request)).toEqual(['body']);
  });
});

describe('compose read-back: the identity signature', () => {
  it('accepts a signature behind the "-- " separator, nothing else after the response', () => {
    const signed = `${good.plainTextBody ?? ''}-- \r\nAlice Example\r\n`;
    expect(composeMismatches({ ...good, plainTextBody: signed }, request)).toEqual([]);
    expect(composeMismatches({ ...good, plainTextBody: `${good.plainTextBody ?? ''}Alice Example\r\n` }, request)).toEqual(['body']);
    expect(composeMismatches({ ...good, plainTextBody: `${good.plainTextBody ?? ''}-- \r\n> quoted challenge\r\n` }, request)).toEqual(['body']);
    expect(composeMismatches({ ...good, plainTextBody: `${good.plainTextBody ?? ''}-- \r\n-----BEGIN ACME RESPONSE-----\r\nX\r\n` }, request)).toEqual(['body']);
    expect(composeMismatches({ ...good, plainTextBody: `-- \r\nsig\r\n${good.plainTextBody ?? ''}` }, request)).toEqual(['body']);
  });
});
