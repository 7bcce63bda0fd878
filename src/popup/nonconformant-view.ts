/**
 * A CA that does not follow RFC 8823 to the letter: its challenge mail lacks `Auto-Submitted`
 * (§3.1 requires it) or carries no signature at all (nothing can show where it came from). Such a
 * mail is never answered automatically. When every reason it was refused is of that kind — it
 * came from the announced address, to the identity, with a well-formed token — the popup names
 * what is missing and offers the manual path, with a warning that the add-on could not prove the
 * mail came from the CA. Pure: tested in Node (test/popup/nonconformant-view.test.ts).
 */
import type { Refusal } from '../enroll/state';

export type Missing = 'auto-submitted' | 'signature';

export interface NonConformantMail {
  readonly subject: string;
  readonly author: string;
  readonly missing: readonly Missing[];
}

/** The reasons that say only "the CA did not mark or sign it"; any other reason is a real mismatch. */
const MISSING_OF: Readonly<Record<string, Missing | 'none'>> = {
  'not-auto-submitted': 'auto-submitted',
  'dkim-missing': 'signature',
  // Comes with dkim-missing when nothing authenticates the mail.
  'not-authentic': 'none',
};

/** The latest refused mail that only lacks Auto-Submitted and/or a signature, if any. */
export function nonConformantMail(refusals: readonly Refusal[]): NonConformantMail | undefined {
  for (const r of [...refusals].reverse()) {
    if (r.temporary === true || r.reasons.length === 0) continue;
    const kinds = r.reasons.map((code) => MISSING_OF[code]);
    if (kinds.some((k) => k === undefined)) continue;
    const missing = [...new Set(kinds.filter((k): k is Missing => k !== undefined && k !== 'none'))];
    if (missing.length === 0) continue;
    return { subject: r.subject, author: r.author, missing };
  }
  return undefined;
}
