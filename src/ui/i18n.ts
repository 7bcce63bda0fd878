/**
 * Fills an extension page's text from `_locales` (every user-visible string lives there).
 * Elements carry `data-i18n="messageName"`; attributes use `data-i18n-<attr>="messageName"`.
 */
export function localizePage(root: ParentNode = document): void {
  for (const el of root.querySelectorAll<HTMLElement>('*')) {
    for (const { name, value } of Array.from(el.attributes)) {
      if (name === 'data-i18n') {
        el.textContent = messenger.i18n.getMessage(value);
      } else if (name.startsWith('data-i18n-')) {
        el.setAttribute(name.slice('data-i18n-'.length), messenger.i18n.getMessage(value));
      }
    }
  }
}

/** A translated string; substitutions follow the `$1`… placeholders of messages.json. */
export function t(name: string, ...substitutions: string[]): string {
  return messenger.i18n.getMessage(name, substitutions);
}
