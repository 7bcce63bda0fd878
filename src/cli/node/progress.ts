/**
 * What the command line tells its user while the flow runs, on stderr: each step of each
 * enrollment, refused mails with the reason, failures with the CA's problem. In a terminal the
 * current step is one live line that is rewritten; otherwise (a pipe, cron's mail) plain lines.
 * The sentences are the add-on's own (_locales/en/messages.json), so both say the same thing.
 */
import { readFileSync } from 'node:fs';
import type { Logger, Notice, Notifier } from '../../enroll/ports';
import { currentAddress } from '../../enroll/addresses';
import type { Enrollment, Step } from '../../enroll/state';
import { errorKey, refusalKey, stepKey } from '../../enroll/i18n-keys';

type Messages = Record<string, { message: string }>;

let catalogue: Messages | undefined;

/** The add-on's English sentence for `key`, with $1, $2… filled in; the key itself if it has none. */
export function message(key: string, ...substitutions: string[]): string {
  catalogue ??= JSON.parse(readFileSync(new URL('../../../_locales/en/messages.json', import.meta.url), 'utf8')) as Messages;
  const text = catalogue[key]?.message;
  if (text === undefined) return key;
  return text.replace(/\$(\d)/g, (whole, n: string) => substitutions[Number(n) - 1] ?? whole);
}

export interface ProgressOptions {
  readonly stream: NodeJS.WriteStream;
  readonly verbose: boolean;
  /** Plain lines even on a terminal (tests, --json). */
  readonly plain?: boolean;
}

export class Progress implements Notifier, Logger {
  private readonly live: boolean;
  private liveText = '';
  /** The step last told per enrollment, with the address it was about. */
  private readonly steps = new Map<string, `${Step} ${string}`>();
  /** Refusals already told, by enrollment and Message-ID (a temporary one is told again when it becomes final). */
  private readonly refusalsTold = new Set<string>();

  constructor(private readonly options: ProgressOptions) {
    this.live = options.stream.isTTY && options.plain !== true;
  }

  /** A line that stays. */
  line(text: string): void {
    this.clearLive();
    this.options.stream.write(`${text}\n`);
    if (this.liveText !== '') this.options.stream.write(this.liveText);
  }

  /** The current state: rewritten in place in a terminal, a plain line otherwise. */
  status(text: string): void {
    if (!this.live) {
      this.options.stream.write(`${text}\n`);
      return;
    }
    this.clearLive();
    const width = this.options.stream.columns > 10 ? this.options.stream.columns - 1 : 79;
    this.liveText = text.length > width ? `${text.slice(0, width - 1)}…` : text;
    this.options.stream.write(this.liveText);
  }

  /** Ends the live line (before a prompt or the end of the run). */
  done(): void {
    this.clearLive();
    this.liveText = '';
  }

  private clearLive(): void {
    if (this.live && this.liveText !== '') this.options.stream.write('\r\x1b[2K');
  }

  /** Storage observer: an enrollment record was written; say so when its step changed. */
  record(e: Enrollment): void {
    // A certificate for several addresses: the challenge steps are about the address being proven now.
    const who = currentAddress(e).email;
    for (const r of e.refusals) {
      const key = `${e.id} ${r.headerMessageId} ${r.temporary === true ? 'temporary' : 'final'}`;
      if (this.refusalsTold.has(key)) continue;
      this.refusalsTold.add(key);
      const codes = r.reasons.filter((code) => code !== 'will-retry');
      this.line(`${who}: ${message('notice_refused_title')} <${r.headerMessageId}> (${codes.join(', ')}): ${Progress.reasons(r.reasons)}`);
    }
    const before = this.steps.get(e.id);
    if (before === `${e.step} ${who}`) return;
    this.steps.set(e.id, `${e.step} ${who}`);
    // The add-on's "installed and set on the identity" is not what the command does.
    const text = `${who}: ${e.step === 'installed' ? 'Certificate issued' : message(stepKey(e.step))}`;
    if (e.step === 'failed' && e.error) {
      const problem = e.error.problem?.detail ?? e.error.message;
      this.line(`${text}: ${message(errorKey(e.error.code))} ${problem}${e.error.link === undefined ? '' : ` (${e.error.link})`}`);
    } else if (e.step === 'installed' || e.step === 'cancelled') {
      this.line(text);
    } else {
      this.status(text);
    }
  }

  /**
   * Steps, failures and refusals (with their reason codes) are told by `record`; the add-on's
   * notices about its popup ("open One-Click S/MIME…") do not apply, and `renew` says what is due.
   */
  notify(_notice: Notice): Promise<void> {
    return Promise.resolve();
  }

  debug(text: string): void {
    if (this.options.verbose) this.line(`  ${text}`);
  }

  /** The sentences of a refusal's reason codes. */
  static reasons(codes: readonly string[]): string {
    return codes.map((code) => message(refusalKey(code))).join(' ');
  }
}
