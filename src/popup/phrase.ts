/**
 * Texts before translation: the view models (./view-model.ts, ./addresses-view.ts) say every text
 * as a message name with its substitutions, and ./dom.ts translates it with src/ui/i18n.ts.
 */

/** A message of _locales by name, with its substitutions; `orElse` when the name has no sentence. */
export interface Message {
  readonly key: string;
  readonly args: readonly Phrase[];
  readonly orElse?: Phrase;
}

/** A text before translation: a literal, a message, a moment (shown in the user's locale), or several joined. */
export type Phrase = string | Message | { readonly time: number } | { readonly join: readonly Phrase[]; readonly separator: string };

/**
 * A message to translate. Named `t` like src/ui/i18n.ts's so the locale tests find every name
 * used here: test/ui/locales.test.ts scans the sources for calls of `t` with a literal name.
 */
export function t(key: string, ...args: Phrase[]): Message {
  return { key, args };
}

export const at = (time: number): Phrase => ({ time });
export const joined = (parts: readonly Phrase[], separator: string): Phrase => ({ join: parts, separator });
