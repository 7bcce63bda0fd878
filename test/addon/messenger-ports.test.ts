/** The ports over messenger.*: paging, raw bytes, and the reply that is sent or closed unsent. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mailbox, reply } from '../../src/background/messenger-ports';
import type { ReplyRequest } from '../../src/enroll/ports';

const header = (id: number, subject: string) => ({ id, headerMessageId: `<m${id}@ca.test>`, subject, author: 'acme@ca.test', date: new Date(1_000 * id), folder: { path: '/Junk' } });

const request: ReplyRequest = {
  mail: { id: 7, headerMessageId: '<m7@ca.test>', subject: 'ACME: abc', author: 'acme@ca.test', date: 0 },
  identityId: 'id1',
  body: '-----BEGIN ACME RESPONSE-----\nV\n-----END ACME RESPONSE-----\n',
  expectTo: 'acme@ca.test',
  expectSubject: 'Re: ACME: abc',
  expectFrom: 'alice@example.test',
};

function composeWith(details: Record<string, unknown>, sendMessage = vi.fn(() => Promise.resolve({ mode: 'sendNow' }))) {
  const removed: number[] = [];
  vi.stubGlobal('messenger', {
    compose: {
      beginReply: vi.fn(() => Promise.resolve({ id: 42 })),
      getComposeDetails: vi.fn(() => Promise.resolve(details)),
      sendMessage,
    },
    tabs: { remove: (id: number) => { removed.push(id); return Promise.resolve(); } },
  });
  return { removed, sendMessage };
}

const good = { identityId: 'id1', to: ['acme@ca.test'], cc: [], bcc: [], subject: 'Re: ACME: abc', isPlainText: true, plainTextBody: request.body };

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('mailbox port', () => {
  beforeEach(() => {
    vi.stubGlobal('messenger', {
      messages: {
        query: vi.fn(() => Promise.resolve({ id: 'list-1', messages: [header(1, 'ACME: a')] })),
        // Thunderbird ends a list with id null, which the typings do not admit.
        continueList: vi.fn(() => Promise.resolve({ id: null, messages: [header(2, 'ACME: b')] })),
        getRaw: vi.fn((id: number) => Promise.resolve(id === 1 ? new File(['X-Mozilla-Status: 0001\nSubject: ACME: a\n'], 'm.eml') : 'Subject: \u00e9\n')),
      },
    });
  });

  it('pages through the query until Thunderbird ends the list, keeping folder and Message-ID', async () => {
    const found = await mailbox.recent(0);
    expect(found.map((m) => [m.id, m.headerMessageId, m.folder, m.date])).toEqual([[1, '<m1@ca.test>', '/Junk', 1_000], [2, '<m2@ca.test>', '/Junk', 2_000]]);
  });

  it('gives the raw message as bytes, whichever form Thunderbird returns', async () => {
    const [first, second] = await mailbox.recent(0);
    expect(new TextDecoder().decode(await mailbox.raw(first!))).toContain('X-Mozilla-Status');
    expect([...(await mailbox.raw(second!))].slice(-3)).toEqual([0x20, 0xe9, 0x0a]);
  });
});

describe('reply port', () => {
  it('sends the reply Thunderbird prepared when it is exactly the expected one', async () => {
    const { removed, sendMessage } = composeWith(good);
    expect(await reply.send(request)).toEqual({ sent: true });
    expect(sendMessage).toHaveBeenCalledWith(42, { mode: 'sendNow' });
    expect(removed).toEqual([]);
  });

  it('closes the compose tab unsent on a mismatch', async () => {
    const { removed, sendMessage } = composeWith({ ...good, to: ['attacker@evil.test'] });
    expect(await reply.send(request)).toEqual({ sent: false, mismatch: ['to'] });
    expect(sendMessage).not.toHaveBeenCalled();
    expect(removed).toEqual([42]);
  });

  it('closes the tab and reports a retryable failure when sending fails', async () => {
    const { removed } = composeWith(good, vi.fn(() => Promise.reject(new Error('SMTP down'))));
    await expect(reply.send(request)).rejects.toMatchObject({ kind: 'transient' });
    expect(removed).toEqual([42]);
  });
});
