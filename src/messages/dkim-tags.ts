/**
 * The tag=value lists of DKIM signatures and key records (RFC 6376 §3.2).
 *
 * Each tag keeps the offsets of its value so the verifier can blank `b=` in the signature field
 * exactly as written (§3.7) — splitting on "=" with a regex cuts base64 values and gets this
 * wrong. Duplicate tags are an error (§3.2: "MUST be considered invalid").
 */

export interface Tag {
  readonly value: string;
  /** Offset of the value's first character in the parsed text (after FWS). */
  readonly valueStart: number;
  /** Offset just past the value (before trailing FWS). */
  readonly valueEnd: number;
  /** Offset just past the "=" sign. */
  readonly afterEquals: number;
  /** Offset of the ";" ending this tag-spec, or the text's length. */
  readonly specEnd: number;
}

/** Thrown for a tag list that does not follow RFC 6376 §3.2. */
export class TagListError extends Error {
  override readonly name = 'TagListError';
}

const TAG_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
/** Tags per list. Real lists have about a dozen; stops CPU abuse with "a=;a=;…" megabytes. */
const MAX_TAGS = 64;

const isFws = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;

/** Parses a tag-list (RFC 6376 §3.2). Values keep inner folding whitespace as written. */
export function parseTagList(text: string): Map<string, Tag> {
  const tags = new Map<string, Tag>();
  let pos = 0;
  while (pos <= text.length) {
    let specEnd = text.indexOf(';', pos);
    if (specEnd < 0) specEnd = text.length;
    let s = pos;
    let e = specEnd;
    while (s < e && isFws(text.charCodeAt(s))) s++;
    while (e > s && isFws(text.charCodeAt(e - 1))) e--;
    if (s === e) {
      // Only the final tag-spec may be empty (a trailing ";" is allowed).
      if (specEnd !== text.length && text.slice(specEnd + 1).trim() !== '') throw new TagListError('empty tag-spec');
    } else {
      const eq = text.indexOf('=', s);
      if (eq < 0 || eq >= e) throw new TagListError(`"${text.slice(s, Math.min(e, s + 20))}" has no "="`);
      let ne = eq;
      while (ne > s && isFws(text.charCodeAt(ne - 1))) ne--;
      const name = text.slice(s, ne);
      if (!TAG_NAME.test(name)) throw new TagListError(`"${name.slice(0, 20)}" is not a tag name`);
      if (tags.has(name)) throw new TagListError(`tag "${name}" appears twice`);
      let vs = eq + 1;
      while (vs < e && isFws(text.charCodeAt(vs))) vs++;
      const value = text.slice(vs, e);
      for (let i = 0; i < value.length; i++) {
        const c = value.charCodeAt(i);
        // VALCHAR is %x21-3A / %x3C-7E; whitespace only between values.
        if (!(isFws(c) || (c >= 0x21 && c <= 0x7e && c !== 0x3b))) throw new TagListError(`tag "${name}" has a character not allowed in a value`);
      }
      tags.set(name, { value, valueStart: vs, valueEnd: e, afterEquals: eq + 1, specEnd });
      if (tags.size > MAX_TAGS) throw new TagListError(`more than ${MAX_TAGS} tags`);
    }
    if (specEnd === text.length) break;
    pos = specEnd + 1;
  }
  return tags;
}

/** A value with all folding whitespace removed (base64 values such as b=, bh=, p=). */
export function compact(value: string): string {
  return value.replace(/[ \t\r\n]+/g, '');
}
