/**
 * `acme-email cert`: gets an S/MIME certificate for one or more addresses from an RFC 8555 CA
 * with the RFC 8823 email-reply-00 challenge, through the add-on's own enrollment flow. The
 * challenge mail is caught over IMAP (IDLE) and answered over SMTP submission after every check
 * the add-on makes, or — with `--manual` — pasted on stdin (the subject, or the whole raw mail,
 * whose DKIM is then checked) and answered by the user with the block printed on stdout.
 * With `--one-certificate` every address goes into one certificate: one enrollment owned by the
 * first, the others `alsoFor`, each challenge answered from its own address in turn.
 * Writes `<out>/<addr>.p12`, `<out>/<addr>.pass` (unless --passphrase-file) and
 * `<out>/<addr>.chain.pem` per certificate, named after its (first) address; never a clear key.
 */
import { parseArgs, UsageError } from './args';
import { addressesOf, currentAddress, isConfirmed, sameAddress } from '../enroll/addresses';
import type { ReplyRequest } from '../enroll/ports';
import { isTerminal, type Enrollment, type OrderAddress } from '../enroll/state';
import { PortError } from '../enroll/ports';
import { LockedError } from './node/lock';
import { MailServerError } from './node/mail';
import { StateFileError } from './node/storage';
import {
  EXIT,
  InputFileError,
  cancelStale,
  certificateOwners,
  createRunContext,
  driveUntilDone,
  exitCodeOf,
  finish,
  type Outcome,
  type RunContext,
} from './run';
import { commandSession, type CommandIo } from './session';
import { confirm, type StdinLines } from './terminal';

import { CERT_FLAGS, CERT_VALUED, PROFILE_PREFIX, configOf, profileFor } from './cert-options';

export { CERT_FLAGS, CERT_VALUED, PROFILE_PREFIX, configOf, profileFor, type Profile } from './cert-options';

/** The innermost cause's message ("self-signed certificate in certificate chain" under "fetch failed"). */
function rootCause(error: unknown): string | undefined {
  let current: unknown = error;
  let deepest: string | undefined;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    if (current !== error) deepest = current.message;
    current = current.cause;
  }
  return deepest;
}

function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const detail = error instanceof PortError ? error.problem?.detail : undefined;
  const cause = rootCause(error);
  const extra = [detail, cause].filter((text): text is string => text !== undefined && text !== '' && !message.includes(text));
  return extra.length === 0 ? message : `${message} (${extra.join('; ')})`;
}

/** Maps what can end a command early to its exit code and one clear line. */
export function exitForError(command: string, error: unknown): number {
  if (error instanceof UsageError) throw error;
  const line = (text: string): void => {
    process.stderr.write(`acme-email ${command}: ${text}\n`);
  };
  if (error instanceof InputFileError || error instanceof StateFileError) {
    line(error.message);
    return EXIT.usage;
  }
  if (error instanceof LockedError) {
    line(error.message);
    return EXIT.locked;
  }
  if (error instanceof MailServerError) {
    line(error.message);
    return EXIT.mailServer;
  }
  if (error instanceof PortError) {
    line(describeError(error));
    return error.kind === 'transient' ? EXIT.network : EXIT.failed;
  }
  if (error instanceof Error && ['KeyError', 'PemError', 'InvalidMailboxError', 'WrongPassphraseError', 'PassphrasePolicyError', 'Pkcs12FormatError', 'CertificateError'].includes(error.name)) {
    line(error.message);
    return EXIT.usage;
  }
  throw error;
}

/** The CA's terms: agreed by --agree-tos, or asked on the terminal; never assumed. */
async function agreeToTerms(ctx: RunContext, io: CommandIo, agreed: boolean): Promise<boolean> {
  const info = await ctx.acme.caInfo(ctx.config.directoryUrl);
  if (info.externalAccountRequired && ctx.config.eab === undefined) throw new UsageError('this CA requires external account binding: give --eab-kid and --eab-hmac-key-file');
  if (info.termsOfService === undefined || agreed) return true;
  if (!process.stdin.isTTY) throw new UsageError(`the CA has terms of service (${info.termsOfService}): read them, then add --agree-tos`);
  io.progress.done();
  return confirm(io.lines, `The certificate authority's terms of service are at ${info.termsOfService}. Do you agree to them?`);
}

function printSummary(io: CommandIo, outcomes: readonly Outcome[]): void {
  io.progress.done();
  if (io.json) {
    process.stdout.write(`${JSON.stringify({ certificates: outcomes })}\n`);
    return;
  }
  for (const o of outcomes) {
    const who = o.addresses === undefined ? o.email : `${o.email} (one certificate for ${o.addresses.join(', ')})`;
    if (o.files && o.certificate) {
      io.progress.line(`${who}: certificate written to ${o.files.p12}${o.files.passphraseGenerated ? ` (its passphrase is in ${o.files.passphrase})` : ''}, chain to ${o.files.chain}; valid until ${o.certificate.notAfter}, renew from ${o.certificate.renewAt}`);
    } else if (o.error) {
      io.progress.line(`${who}: no certificate (${o.error.code}): ${o.error.message}`);
    } else {
      io.progress.line(`${who}: no certificate (${o.step})`);
    }
  }
}

/** Waits until `id` satisfies `done`; polled, the flow runs meanwhile. */
async function waitFor(ctx: RunContext, id: string, io: CommandIo, done: (e: Enrollment) => boolean): Promise<Enrollment> {
  for (;;) {
    const e = (await ctx.enroller.list()).find((x) => x.id === id);
    if (!e) throw new Error(`enrollment ${id} vanished`);
    if (done(e) || isTerminal(e.step) || io.stopped()) return e;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const SUBJECT_LINE = /^(?:subject:\s*)?(ACME:.*)$/i;

/** True when the enrollment is waiting for the challenge mail to `address`. */
function awaitingMailTo(e: Enrollment, address: OrderAddress): boolean {
  return e.step === 'awaiting-mail' && e.tokenPart2 !== undefined && sameAddress(currentAddress(e).email, address.email);
}

/** Manual mode, one address of an enrollment: say what to expect, read the paste, print the response. */
async function manualExchange(ctx: RunContext, io: CommandIo, id: string, address: OrderAddress): Promise<void> {
  const e = await waitFor(ctx, id, io, (x) => awaitingMailTo(x, address) || isConfirmed(x, address.email));
  if (!awaitingMailTo(e, address)) return;
  io.progress.done();
  process.stderr.write(
    `\nA challenge mail will come to ${address.email} from ${e.challengeFrom ?? 'the CA'}, with a subject "ACME: <token>".\n` +
      'Paste its subject line — or the whole raw mail (its source, headers included), to have its DKIM signature checked,\n' +
      'ended by a line holding only "." or by Ctrl-D:\n',
  );
  const first = await nextNonEmpty(io.lines);
  if (first === undefined && io.stopped()) return;
  if (first === undefined) throw new UsageError('nothing was pasted on stdin');
  const subject = SUBJECT_LINE.exec(first.trim());
  if (subject && !/^subject:/i.test(first.trim())) {
    await answerSubject(ctx, io, id, subject[1]!);
    return;
  }
  const collected = [first];
  for (;;) {
    const line = await io.lines.next();
    if (line === undefined || line === '.') break;
    collected.push(line);
  }
  const nonEmpty = collected.filter((l) => l.trim() !== '');
  const lone = nonEmpty.length === 1 ? SUBJECT_LINE.exec(nonEmpty[0]!.trim()) : null;
  if (lone) {
    await answerSubject(ctx, io, id, lone[1]!);
    return;
  }
  const raw = new TextEncoder().encode(`${collected.join('\r\n')}\r\n`);
  const ref = ctx.manual!.paste(raw);
  const after = await waitFor(ctx, id, io, (x) => !awaitingMailTo(x, address) || x.refusals.some((r) => r.headerMessageId === ref.headerMessageId && r.temporary !== true));
  const refusal = after.refusals.find((r) => r.headerMessageId === ref.headerMessageId);
  if (awaitingMailTo(after, address) && refusal) {
    io.progress.line(`${address.email}: the pasted mail is not answered; the request is stopped`);
    await ctx.enroller.cancel(id);
  }
}

async function nextNonEmpty(lines: StdinLines): Promise<string | undefined> {
  for (;;) {
    const line = await lines.next();
    if (line === undefined || line.trim() !== '') return line;
  }
}

/** Prints the response to send and waits until the user says it is sent (or stdin ends). */
async function printResponse(io: CommandIo, to: string, subject: string, body: string): Promise<void> {
  io.progress.done();
  if (io.json) process.stdout.write(`${JSON.stringify({ response: { to, subject, body } })}\n`);
  else {
    process.stderr.write(`\nReply to ${to} with the subject "${subject}", as plain text, with exactly this text and nothing quoted:\n\n`);
    process.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
  }
  process.stderr.write('\nPress Enter once the reply is sent (the CA is told to look only then).\n');
  await io.lines.next();
}

async function answerSubject(ctx: RunContext, io: CommandIo, id: string, pasted: string): Promise<void> {
  let subject = pasted;
  let body: string;
  for (;;) {
    try {
      body = await ctx.enroller.manualResponse(id, subject);
      break;
    } catch (error) {
      const why = `the pasted subject is not an ACME challenge subject: ${error instanceof Error ? error.message : String(error)}`;
      // A person at the terminal may have mistyped: ask again. A script gets a clear exit 2.
      if (!process.stdin.isTTY) throw new UsageError(why);
      process.stderr.write(`${why}\nPaste the subject line again:\n`);
      const again = await nextNonEmpty(io.lines);
      const match = again === undefined ? null : SUBJECT_LINE.exec(again.trim());
      if (!match) throw new UsageError(again === undefined ? 'nothing was pasted on stdin' : why);
      subject = match[1]!;
    }
  }
  const e = (await ctx.enroller.list()).find((x) => x.id === id)!;
  await printResponse(io, e.challengeFrom ?? 'the address the challenge came from', `Re: ${subject}`, body);
  await ctx.enroller.manualSent(id);
}

/**
 * --ask: an authentic challenge mail waits for the user's yes before it is answered (the flow's
 * `awaiting-consent` step); "no" keeps it refused and never answered.
 */
async function askBeforeReplies(ctx: RunContext, io: CommandIo, ids: readonly string[], finished: () => boolean): Promise<void> {
  const asked = new Set<string>();
  while (!finished() && !io.stopped()) {
    for (const e of await ctx.enroller.list()) {
      const pending = e.pendingReply;
      if (!ids.includes(e.id) || e.step !== 'awaiting-consent' || !pending || asked.has(`${e.id} ${pending.headerMessageId}`)) continue;
      asked.add(`${e.id} ${pending.headerMessageId}`);
      io.progress.done();
      process.stderr.write(`\nA challenge mail for ${currentAddress(e).email} arrived from ${pending.author}, subject "${pending.subject}"; authentic: ${pending.authenticity}.\nThe reply goes to ${pending.replyTo}, subject "${pending.replySubject}".\n`);
      const yes = await confirm(io.lines, 'Answer it?');
      if (yes) await ctx.enroller.approveReply(e.id);
      else await ctx.enroller.declineReply(e.id);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts an enrollment per certificate (per address, or one for all with --one-certificate) and
 * drives them to the end; the outcomes, in address order. An installed certificate's profile is
 * kept for `renew`.
 */
export async function enrollAll(ctx: RunContext, io: CommandIo, start: (email: string) => ReturnType<RunContext['enroller']['start']>): Promise<Outcome[]> {
  if (ctx.manual) {
    ctx.manual.onReply((request: ReplyRequest) => printResponse(io, request.expectTo, request.expectSubject, request.body));
  }
  const ids: string[] = [];
  for (const email of certificateOwners(ctx.config)) {
    const { enrollment } = await start(email);
    ids.push(enrollment.id);
    await ctx.enroller.advance(enrollment.id);
  }
  let finished = false;
  let aborted = false;
  const driving = driveUntilDone(ctx, ids, () => aborted || io.stopped()).finally(() => {
    finished = true;
  });
  const asking = ctx.config.ask === true ? askBeforeReplies(ctx, io, ids, () => finished) : Promise.resolve();
  try {
    if (ctx.manual) {
      // One paste and one response per address, in the order the flow takes them.
      for (const id of ids) {
        const e = (await ctx.enroller.list()).find((x) => x.id === id);
        for (const address of e === undefined ? [] : addressesOf(e)) await manualExchange(ctx, io, id, address);
      }
    }
  } catch (error) {
    // A paste that cannot be used ends the run: the flow stops too, and its requests are cancelled.
    aborted = true;
    await Promise.allSettled([driving, asking]);
    for (const id of ids) await ctx.enroller.cancel(id).catch(() => undefined);
    throw error;
  }
  const ended = await driving;
  await asking;
  const outcomes: Outcome[] = [];
  for (const id of ids) {
    const e = ended.find((x) => x.id === id)!;
    if (!isTerminal(e.step)) await ctx.enroller.cancel(id);
    const outcome = await finish(ctx, (await ctx.enroller.list()).find((x) => x.id === id) ?? e);
    outcomes.push(outcome);
    if (outcome.step === 'installed') await keepProfile(ctx, e);
  }
  return outcomes;
}

/**
 * Keeps the profile `renew` runs again, under the certificate's first address. The other
 * addresses of a certificate for several are renewed with it: a profile of their own, left by an
 * earlier run, would renew them a second time alone.
 */
async function keepProfile(ctx: RunContext, e: Enrollment): Promise<void> {
  const others = addressesOf(e).filter((a) => !sameAddress(a.email, e.email));
  if (others.length > 0) await ctx.storage.remove(others.map((a) => `${PROFILE_PREFIX}${a.email.toLowerCase()}`));
  await ctx.storage.set({ [`${PROFILE_PREFIX}${e.email.toLowerCase()}`]: profileFor(ctx.config, e.email) });
}

/** What `start` asks of the flow for `email`: with --one-certificate, the other addresses too. */
function alsoForOf(config: RunContext['config'], email: string): { alsoFor?: OrderAddress[] } {
  if (config.oneCertificate !== true) return {};
  const others = config.emails.filter((other) => !sameAddress(other, email)).map((other) => ({ identityId: other.toLowerCase(), email: other }));
  return others.length === 0 ? {} : { alsoFor: others };
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args, CERT_VALUED, CERT_FLAGS);
  const config = configOf(parsed);
  const session = commandSession(parsed);
  const { stateDir, io } = session;
  const { progress } = io;
  let ctx: RunContext | undefined;
  try {
    const storage = session.openState();
    ctx = createRunContext(config, { stateDir, progress, storage });
    await ctx.start();
    await cancelStale(ctx);
    if (!(await agreeToTerms(ctx, io, parsed.flags.has('agree-tos')))) {
      process.stderr.write('acme-email cert: the terms were not agreed to; nothing was asked of the CA\n');
      return EXIT.failed;
    }
    const context = ctx;
    const outcomes = await enrollAll(ctx, io, (email) =>
      context.enroller.start({ identityId: email.toLowerCase(), email, ...alsoForOf(config, email), keyType: config.keyType, usage: config.usage, passphrase: context.passphrases.get(email.toLowerCase())!, termsAgreed: true }),
    );
    printSummary(io, outcomes);
    return io.stopped() ? EXIT.interrupted : exitCodeOf(outcomes);
  } catch (error) {
    progress.done();
    return exitForError('cert', error);
  } finally {
    await session.close(ctx);
  }
}
