/**
 * The popup's few DOM helpers: find an element of popup.html by id, show or hide it, set its
 * text, and say a view-model `Phrase` in the user's language (./view-model.ts).
 */
import { t } from '../ui/i18n';
import type { Phrase } from './phrase';

// The caller names the element type it placed in popup.html; one generic lookup beats a cast per use.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`popup.html has no #${id}`);
  return found as T;
}

export function show(id: string, visible: boolean): void {
  el(id).hidden = !visible;
}

export function text(id: string, value: string): void {
  el(id).textContent = value;
}

/** A phrase translated: messages through `t()`, moments in the user's locale. */
export function say(phrase: Phrase): string {
  if (typeof phrase === 'string') return phrase;
  if ('time' in phrase) return new Date(phrase.time).toLocaleString();
  if ('join' in phrase) return phrase.join.map(say).join(phrase.separator);
  const sentence = t(phrase.key, ...phrase.args.map(say));
  return sentence === '' && phrase.orElse !== undefined ? say(phrase.orElse) : sentence;
}

/** Sets the element's text to the phrase, translated. */
export function sayIn(id: string, phrase: Phrase): void {
  text(id, say(phrase));
}

export function fillSelect(id: string, options: readonly { value: string; label: string }[], selected?: string): void {
  const select = el<HTMLSelectElement>(id);
  const keep = selected ?? select.value;
  select.replaceChildren(
    ...options.map((o) => {
      const option = document.createElement('option');
      option.value = o.value;
      option.textContent = o.label;
      return option;
    }),
  );
  if (options.some((o) => o.value === keep)) select.value = keep;
}
