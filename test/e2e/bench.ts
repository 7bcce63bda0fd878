/**
 * `npm run bench:e2e`: figures of the add-on in a real Thunderbird, printed, never asserted
 * (docs/E2E.md, "Figures"): `.xpi` and background bundle sizes, Thunderbird start to add-on ready, memory of the
 * extension process and of Thunderbird as a whole; against the sandbox, the time from the challenge
 * mail reaching the IMAP server to the reply reaching the sandbox MTA, split into its parts, and the
 * whole flow from the popup's click to `installed`, with every step's share (from the enrollment's
 * history timestamps), so each wait is visible; then when the user's `.p12` reached the download
 * folder. Same machine, same clock for Thunderbird, the sandbox and this script.
 * Last line: `e2e click→installed ms=<n> pkcs12 ms=<m> challenge→reply ms=<k>` (medians).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../helpers/process';
import type { HistoryEntry } from '../../src/enroll/state';
import { repliesFrom, startInPopup, waitForDownload, waitForEnrollment } from '../../scripts/harness/drive';
import { Thunderbird, buildXpi, createProfile } from '../../scripts/harness/thunderbird';
import { startWorld, type World } from '../../scripts/harness/world';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

interface ProcMemory {
  readonly extension: number;
  readonly total: number;
}

async function memory(tb: Thunderbird): Promise<ProcMemory> {
  return tb.chrome<ProcMemory>(`
    const info = await ChromeUtils.requestProcInfo();
    const extension = info.children.filter((c) => c.type === 'extension').reduce((sum, c) => sum + c.memory, 0);
    const total = info.children.reduce((sum, c) => sum + c.memory, info.memory);
    return { extension, total };
  `);
}

async function main(): Promise<void> {
  const build = makeTempDir('ocs-bench-build');
  try {
    const xpi = buildXpi(build.path);
    console.log(`xpi size: ${kb(statSync(xpi).size)} (${xpi.slice(build.path.length + 1)})`);
    console.log(`background bundle: ${kb(statSync(join(build.path, 'dist', 'background.js')).size)} minified (target < 300 KB)`);

    const ready: number[] = [];
    const marionette: number[] = [];
    let mem: ProcMemory | undefined;
    for (let i = 0; i < RUNS; i++) {
      const profile = createProfile({ xpiPath: xpi });
      let tb: Thunderbird | undefined;
      try {
        tb = await Thunderbird.start(profile);
        marionette.push(Date.now() - tb.startedAt);
        await tb.waitForOutput(/: background started/, 30_000);
        ready.push((tb.outputTime(/: background started/) ?? Date.now()) - tb.startedAt);
        // Let start-up settle before reading memory.
        await new Promise((r) => setTimeout(r, 2000));
        mem = await memory(tb);
      } finally {
        await tb?.stop();
        profile.remove();
      }
    }
    console.log(`Thunderbird start to Marionette ready: median ${median(marionette)} ms over ${RUNS} runs (${marionette.join(', ')})`);
    console.log(`Thunderbird start to add-on background started: median ${median(ready)} ms over ${RUNS} runs (${ready.join(', ')})`);
    if (mem) console.log(`memory: extension process ${mb(mem.extension)}, Thunderbird in all ${mb(mem.total)} (resident)`);

    const MAIL_RUNS = Number(process.env['BENCH_MAIL_RUNS'] ?? 3);
    const total: number[] = [];
    const toDecision: number[] = [];
    const toThunderbird: number[] = [];
    const thunderbirdToDecision: number[] = [];
    const composeSend: number[] = [];
    const flow: number[] = [];
    const pkcs12: number[] = [];
    const offered: number[] = [];
    const spans: Map<string, number>[] = [];
    for (let i = 0; i < MAIL_RUNS; i++) {
      const world = await startWorld({ xpiPath: xpi });
      try {
        // Steady state, as for a user whose Thunderbird has been running: its Inbox session is in
        // IMAP IDLE (Thunderbird enters IDLE about 2 s after its last command, so a challenge
        // arriving just after log-in waits for that too; docs/E2E.md).
        await waitForIdle(world);
        await recordMsgAdded(world);
        const clicked = Date.now();
        await startInPopup(world.tb, { email: world.user.email, passphrase: 'bench passphrase' });
        const replied = await waitForEnrollment(world.tb, world.user.email, (e) => e.answeredAt !== undefined || e.step === 'failed', 60_000);
        const deadline = Date.now() + 30_000;
        while (repliesFrom(world.sandbox, world.user.email).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        const challenge = world.sandbox.challengesSent()[0];
        const sent = challenge?.deliveredAt.getTime();
        const received = repliesFrom(world.sandbox, world.user.email)[0]?.at.getTime();
        const replying = replied.history.find((h) => h.step === 'replying')?.at;
        if (sent === undefined || received === undefined || replying === undefined) throw new Error('no challenge/reply recorded');
        total.push(received - sent);
        toDecision.push(replying - sent);
        const subject = challenge?.subject ?? '';
        const added = (await world.tb.chrome<[string, number][]>('return Services.wm.getMostRecentWindow("mail:3pane").__benchMsgAdded ?? [];'))
          .find(([s]) => s === subject)?.[1];
        if (added === undefined) throw new Error(`Thunderbird never added ${subject} to its folder`);
        toThunderbird.push(added - sent);
        thunderbirdToDecision.push(replying - added);
        // The add-on records `replied` once sendMessage resolves, which is after the MTA has the
        // mail: composing, sending and submission are one span, to the MTA's receipt.
        composeSend.push(received - replying);

        const done = await waitForEnrollment(world.tb, world.user.email, undefined, 180_000);
        if (done.step !== 'installed') throw new Error(`the flow ended in ${done.step}: ${done.error?.message ?? ''}`);
        // The first `installed` entry: notes may follow it (the user's .p12 built after the step).
        const installedIndex = done.history.findIndex((h) => h.step === 'installed');
        const installedAt = done.history[installedIndex]!.at;
        flow.push(installedAt - clicked);
        spans.push(stepSpans(clicked, done.history.slice(0, installedIndex + 1)));
        pkcs12.push(pkcs12Span(done.history.slice(0, installedIndex + 1)));
        // The user's .p12 is offered after the certificate is installed, off the measured path.
        await waitForDownload(world.profile.downloadDir, '.p12', 120_000);
        offered.push(Date.now() - installedAt);
      } finally {
        await world.dispose();
      }
    }
    const fmt = (xs: number[]): string => `median ${median(xs)} ms (${xs.join(', ')})`;
    console.log(`challenge mail delivered to the IMAP server (Thunderbird in IDLE) → reply at the sandbox MTA: ${fmt(total)} over ${MAIL_RUNS} runs (target < 2000 ms)`);
    console.log(`  of which: IMAP IDLE + Thunderbird fetch + the add-on's checks (DKIM over DoH) until it decides to reply: ${fmt(toDecision)}`);
    console.log(`    Dovecot's IDLE notification and Thunderbird's header fetch, until the mail is in Thunderbird's folder: ${fmt(toThunderbird)}`);
    console.log(`    Thunderbird's new-mail event (it gathers new mail for 200 ms) and the add-on reading and checking the mail: ${fmt(thunderbirdToDecision)}`);
    console.log(`  the add-on composing and sending the reply, through SMTP submission and DKIM signing to the CA's MTA: ${fmt(composeSend)}`);
    const flowMedian = median(flow);
    console.log(`whole flow, click → installed (the enrollment's history): ${fmt(flow)} (target ≤ 8000 ms)`);
    console.log('  each step, from entering it to entering the next: median over the runs, and its share of the median click → installed:');
    for (const [step, ms] of medianSpans(spans)) {
      console.log(`    ${step.padEnd(60)} ${String(ms).padStart(6)} ms  ${((100 * ms) / flowMedian).toFixed(1).padStart(5)} %`);
    }
    console.log(`  the PKCS#12 on the install path (entering installing → the note "${IMPORTED_NOTE}", else → installed): ${fmt(pkcs12)} (target ≤ 1000 ms)`);
    console.log(`user's .p12 in the download folder, after installed: ${fmt(offered)}`);
    console.log(`e2e click→installed ms=${flowMedian} pkcs12 ms=${median(pkcs12)} challenge→reply ms=${median(total)}`);
  } finally {
    build.remove();
  }
}

/**
 * The time from each history entry to the next, named by its step and note (a note marks a point
 * inside a step: "no mail yet: challenge POSTed first", "imported into Thunderbird"…); the click
 * counts as the first entry. Entries of the same name add up.
 */
function stepSpans(clicked: number, history: readonly HistoryEntry[]): Map<string, number> {
  const spans = new Map<string, number>();
  const add = (name: string, ms: number): void => {
    spans.set(name, (spans.get(name) ?? 0) + ms);
  };
  if (history[0]) add('click → enrollment recorded', history[0].at - clicked);
  for (let i = 0; i + 1 < history.length; i++) {
    const { step, note } = history[i]!;
    add(note === undefined ? step : `${step}: ${note.length > 48 ? `${note.slice(0, 47)}…` : note}`, history[i + 1]!.at - history[i]!.at);
  }
  return spans;
}

/** The history note the install step writes once Thunderbird has imported the one-time PKCS#12. */
const IMPORTED_NOTE = 'imported into Thunderbird';

/**
 * The PKCS#12 part of the install step: from entering `installing` to the note written after the
 * import, or, without that note, to `installed` (then it also holds the renewal-info request, NSS's
 * usability check and whatever else the step does before it ends).
 */
function pkcs12Span(history: readonly HistoryEntry[]): number {
  const start = history.findIndex((h) => h.step === 'installing');
  if (start < 0) return Number.NaN;
  const end = history.slice(start).find((h) => h.note === IMPORTED_NOTE) ?? history.at(-1)!;
  return end.at - history[start]!.at;
}

/** Per step, the median of its spans over the runs (0 in a run that skipped it), in first-seen order. */
function medianSpans(runs: readonly Map<string, number>[]): [string, number][] {
  const names: string[] = [];
  for (const run of runs) for (const name of run.keys()) if (!names.includes(name)) names.push(name);
  return names.map((name) => [name, median(runs.map((run) => run.get(name) ?? 0))]);
}

/** Notes when Thunderbird adds each message to a folder (nsIMsgFolderNotificationService msgAdded), by subject. */
async function recordMsgAdded(world: World): Promise<void> {
  await world.tb.chrome(`
    const { MailServices } = ChromeUtils.importESModule('resource:///modules/MailServices.sys.mjs');
    const win = Services.wm.getMostRecentWindow('mail:3pane');
    const log = win.__benchMsgAdded = [];
    MailServices.mfn.addListener({ msgAdded(header) { log.push([header.mime2DecodedSubject || header.subject, Date.now()]); } }, MailServices.mfn.msgAdded);
  `);
}

/** Waits until Dovecot shows the world's user in IDLE (Thunderbird waiting for new mail). */
async function waitForIdle(world: World, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!world.sandbox.imapSessions().some((s) => s.user === world.user.email && s.command === 'IDLE')) {
    if (Date.now() > deadline) throw new Error(`Thunderbird's IMAP session did not enter IDLE within ${timeoutMs} ms: ${JSON.stringify(world.sandbox.imapSessions())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
