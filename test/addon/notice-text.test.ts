/**
 * The words of a notification (src/background/notice-text.ts), with the real catalogues of
 * _locales: codes become sentences, the CA's problem is shown whole, dates and day counts follow
 * the UI language — no code, placeholder or English date reaches the user.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { noticeText, type Translate } from '../../src/background/notice-text';
import { notifier } from '../../src/background/messenger-ports';
import { NOTICE_KINDS, type Notice, type NoticeKind } from '../../src/enroll/ports';

type Catalogue = Record<string, { message: string; placeholders?: Record<string, { content: string }> }>;

const catalogue = (locale: string): Catalogue => JSON.parse(readFileSync(`_locales/${locale}/messages.json`, 'utf8')) as Catalogue;

/** messenger.i18n.getMessage over a catalogue: `$NAME$` through its placeholder to `$n`, then `$n`; '' for an unknown name. */
function translator(messages: Catalogue): Translate {
  return (name, substitutions = []) => {
    const entry = messages[name];
    if (entry === undefined) return '';
    let text = entry.message;
    for (const [placeholder, p] of Object.entries(entry.placeholders ?? {})) text = text.replace(new RegExp(`\\$${placeholder}\\$`, 'gi'), p.content);
    return text.replace(/\$(\d)/g, (_m, n: string) => substitutions[Number(n) - 1] ?? '');
  };
}

const en = translator(catalogue('en'));
const EMAIL = 'alice@example.test';
/** Noon UTC: the same calendar day in every time zone the tests may run in. */
const MARCH_1_2027 = Date.UTC(2027, 2, 1, 12);

/** One notice of each kind, with values that show in the text. */
const SAMPLES: Record<NoticeKind, Notice> = {
  installed: { kind: 'installed', email: EMAIL },
  installedUnusable: { kind: 'installedUnusable', email: EMAIL },
  needsPassphrase: { kind: 'needsPassphrase', email: EMAIL },
  needsConsent: { kind: 'needsConsent', email: EMAIL },
  renewalNeedsPassphrase: { kind: 'renewalNeedsPassphrase', email: EMAIL },
  refused: { kind: 'refused', email: EMAIL, reasons: ['dkim-missing', 'compose-mismatch'] },
  failed: { kind: 'failed', email: EMAIL, code: 'challengeInvalid', problem: { type: 'urn:ietf:params:acme:error:incorrectResponse', detail: 'The response value is wrong' } },
  renewalDue: { kind: 'renewalDue', email: EMAIL, notAfter: MARCH_1_2027 },
  renewed: { kind: 'renewed', email: EMAIL, notAfter: MARCH_1_2027 },
  renewalFailing: { kind: 'renewalFailing', email: EMAIL, daysLeft: 7 },
  renewalStalled: { kind: 'renewalStalled', email: EMAIL, daysLeft: 7 },
};

describe('notification text', () => {
  it('says why a mail was refused with the sentence of each reason, not its code', () => {
    const { title, message } = noticeText(SAMPLES.refused, en, 'en-US');
    expect(title).toBe('Mail not answered');
    expect(message).toBe(
      'A challenge-like mail for alice@example.test was not answered: ' +
        'The mail carries no DKIM signature, so it cannot be proven to come from the certificate authority. ' +
        'The reply Thunderbird prepared was not exactly the expected one, so it was closed unsent.',
    );
  });

  it('says why a request failed: the sentence of its error, then the CA’s problem in words with its own detail', () => {
    expect(noticeText(SAMPLES.failed, en, 'en-US').message).toBe(
      'The request for alice@example.test failed: The certificate authority did not accept the answer to its challenge mail. ' +
        'The certificate authority did not accept the reply to its challenge mail. The certificate authority said: The response value is wrong',
    );
  });

  it('shows a compound problem whole: each subproblem with the address it is about', () => {
    const message = noticeText({
      kind: 'failed',
      email: EMAIL,
      code: 'orderInvalid',
      problem: {
        type: 'urn:ietf:params:acme:error:compound',
        detail: 'Several identifiers were refused',
        subproblems: [{ type: 'urn:ietf:params:acme:error:rejectedIdentifier', detail: 'not for example.net', identifier: { type: 'email', value: 'bob@example.net' } }],
      },
    }, en, 'en-US').message;
    expect(message).toContain('The certificate authority could not issue the certificate.');
    expect(message).toContain('several problems');
    expect(message).toContain('Several identifiers were refused');
    expect(message).toContain('For bob@example.net: The certificate authority does not issue certificates for this address. The certificate authority said: not for example.net');
    expect(message).not.toContain('urn:ietf');
  });

  it('says a failure without a problem document by its error sentence alone', () => {
    expect(noticeText({ kind: 'failed', email: EMAIL, code: 'install' }, en, 'en-US').message).toBe('The request for alice@example.test failed: Thunderbird could not install the certificate.');
  });

  it('writes the expiry date in the UI language', () => {
    expect(noticeText(SAMPLES.renewalDue, en, 'en-US').message).toBe('The certificate for alice@example.test should be renewed (valid until March 1, 2027). Open One-Click S/MIME to renew it.');
    expect(noticeText(SAMPLES.renewed, translator(catalogue('de')), 'de').message).toContain('(gültig bis 1. März 2027)');
    expect(noticeText(SAMPLES.renewalDue, translator(catalogue('fr')), 'fr').message).toContain('(valide jusqu’au 1 mars 2027)');
  });

  it('counts the days left in words of the language, singular and plural alike', () => {
    const failing = (daysLeft: number, locale = 'en-US', t = en) => noticeText({ kind: 'renewalFailing', email: EMAIL, daysLeft }, t, locale).message;
    expect(failing(7)).toContain('It expires in 7 days.');
    expect(failing(1)).toContain('It expires tomorrow.');
    expect(failing(0)).toContain('It expires today.');
    expect(failing(7, 'de', translator(catalogue('de')))).toContain('Es läuft in 7 Tagen ab.');
    expect(noticeText({ kind: 'renewalStalled', email: EMAIL, daysLeft: 1 }, translator(catalogue('es')), 'es').message).toContain('caduca mañana y');
  });

  it('falls back to the default language for dates when the UI language tag is not one Intl accepts', () => {
    expect(noticeText(SAMPLES.renewalDue, en, 'not a tag!').message).toMatch(/valid until .*2027/);
  });

  it.each(['en', 'de', 'fr', 'es', 'ca'])('%s: every kind has a title and a whole sentence, no placeholder or code left', (locale) => {
    const t = translator(catalogue(locale));
    for (const kind of NOTICE_KINDS) {
      const { title, message } = noticeText(SAMPLES[kind], t, locale);
      expect(title, kind).toMatch(/\S/);
      expect(message, kind).toContain(EMAIL);
      expect(message, kind).not.toMatch(/\$|undefined|NaN|urn:|dkim-missing|challengeInvalid|2027-03-01/);
    }
  });
});

describe('the add-on notifier', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('shows the translated text, dated in Thunderbird’s UI language', async () => {
    const create = vi.fn((_id: string, _options: { title: string; message: string }) => Promise.resolve('id'));
    const german = translator(catalogue('de'));
    vi.stubGlobal('messenger', {
      notifications: { create },
      runtime: { getURL: (path: string) => `moz-extension://x/${path}` },
      i18n: { getMessage: (name: string, substitutions?: string[]) => german(name, substitutions), getUILanguage: () => 'de' },
    });
    await notifier.notify(SAMPLES.renewed);
    expect(create).toHaveBeenCalledTimes(1);
    const [id, options] = create.mock.calls[0]!;
    expect(id).toBe(`one-click-smime-renewed-${EMAIL}`);
    expect(options).toMatchObject({ title: 'Zertifikat erneuert', message: noticeText(SAMPLES.renewed, german, 'de').message });
    expect(options.message).toContain('1. März 2027');
  });
});
