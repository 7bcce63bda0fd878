/**
 * The words of a notification, from the flow's Notice (src/enroll/ports.ts): every part is
 * translated — refusal codes and the error code by their sentences, the CA's problem document
 * whole and plainly as the popup shows it, dates and day counts in the UI locale. Pure: the
 * add-on passes messenger.i18n.getMessage, tests the English catalogue
 * (test/addon/notice-text.test.ts).
 */
import type { Notice, ProblemInfo } from '../enroll/ports';
import { errorKey, noticeBodyKey, noticeTitleKey, refusalKey } from '../enroll/i18n-keys';
import { problemLines } from '../popup/problem-view';

/** A _locales message by name with its `$1`… substitutions; '' for a name it does not know (as getMessage). */
export type Translate = (name: string, substitutions?: readonly string[]) => string;

export interface NoticeText {
  readonly title: string;
  readonly message: string;
}

/** The title and body of `notice`; `locale` is the UI language (a BCP 47 tag) for dates and numbers. */
export function noticeText(notice: Notice, t: Translate, locale: string): NoticeText {
  return {
    title: t(noticeTitleKey(notice.kind)),
    message: t(noticeBodyKey(notice.kind), [notice.email, detail(notice, t, usableLocale(locale))]),
  };
}

/** The body's second substitution: what this kind of notice says beyond the address. */
function detail(notice: Notice, t: Translate, locale: string | undefined): string {
  switch (notice.kind) {
    case 'refused':
      return notice.reasons.map((code) => t(refusalKey(code)) || code).join(' ');
    case 'failed':
      return [t(errorKey(notice.code)) || notice.code, ...(notice.problem === undefined ? [] : [problemText(notice.problem, t)])].join(' ');
    case 'renewalDue':
    case 'renewed':
      return new Intl.DateTimeFormat(locale, { dateStyle: 'long' }).format(notice.notAfter);
    case 'renewalFailing':
    case 'renewalStalled':
      // "in 3 days", "tomorrow", "today": the language's own plural and words, not "1 days".
      return new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }).format(notice.daysLeft, 'day');
    case 'installed':
    case 'installedUnusable':
    case 'needsPassphrase':
    case 'needsConsent':
    case 'renewalNeedsPassphrase':
      return '';
  }
}

/**
 * The problem document in plain words, whole (src/popup/problem-view.ts): the sentence for its
 * type and the CA's own detail, then each subproblem with the address it is about.
 */
function problemText(problem: ProblemInfo, t: Translate): string {
  return problemLines(problem)
    .map((line) => {
      const sentence = line.detail === undefined ? t(line.key) : `${t(line.key)} ${t('popupProblemDetail', [line.detail])}`;
      return line.identifier === undefined ? sentence : t('popupProblemFor', [line.identifier, sentence]);
    })
    .join(' ');
}

/** The UI language if Intl knows the tag, else the runtime's default (a bad tag throws a RangeError). */
function usableLocale(locale: string): string | undefined {
  try {
    return Intl.DateTimeFormat.supportedLocalesOf(locale).length > 0 ? locale : undefined;
  } catch {
    return undefined;
  }
}
