/** A CA's problem document reaches the popup whole, in plain words (src/popup/problem-view.ts). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KNOWN_PROBLEM_TYPES, problemKey, problemLines } from '../../src/popup/problem-view';

describe('problemLines', () => {
  it('keeps type, detail and every subproblem with the address it is about', () => {
    const lines = problemLines({
      type: 'urn:ietf:params:acme:error:compound',
      detail: 'Several identifiers were refused',
      subproblems: [
        { type: 'urn:ietf:params:acme:error:rejectedIdentifier', detail: 'no certificates for example.net', identifier: { type: 'email', value: 'bob@example.net' } },
        { type: 'urn:ietf:params:acme:error:incorrectResponse', identifier: { type: 'email', value: 'alice@example.org' } },
      ],
    });
    expect(lines).toEqual([
      { key: 'problem_compound', detail: 'Several identifiers were refused' },
      { key: 'problem_rejectedIdentifier', identifier: 'bob@example.net', detail: 'no certificates for example.net' },
      { key: 'problem_incorrectResponse', identifier: 'alice@example.org' },
    ]);
  });

  it('gives an unknown or non-ACME type the generic sentence, never a raw URN', () => {
    expect(problemKey('urn:ietf:params:acme:error:somethingNew')).toBe('problem_other');
    expect(problemKey('about:blank')).toBe('problem_other');
    expect(problemKey('urn:ietf:params:acme:error:rateLimited')).toBe('problem_rateLimited');
  });

  it('has an English sentence for every known type', () => {
    const en = JSON.parse(readFileSync('_locales/en/messages.json', 'utf8')) as Record<string, unknown>;
    expect([...KNOWN_PROBLEM_TYPES.map((t) => `problem_${t}`), 'problem_other', 'popupProblemFor'].filter((k) => !(k in en))).toEqual([]);
  });
});
