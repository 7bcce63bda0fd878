/**
 * `acme-email renew [--state-dir <dir>]`: renews every certificate of the state folder that is
 * due — inside the CA's RFC 9773 renewal window when it offers ARI (at a random point of it, as
 * §4.2 asks), else in the last third of its lifetime — with the options its `cert` run was given.
 * Safe to run every hour from cron: one run at a time (the state folder's lock), and a renewed
 * certificate is not due again, so a second run does nothing. A certificate for several
 * addresses (`cert --one-certificate`) is renewed as one, for all of them. Exit codes are cron's to act on.
 */
import { parseArgs, UsageError } from './args';
import { CERTIFICATE_PREFIX, type CertificateRecord } from '../enroll/state';
import { PROFILE_PREFIX, enrollAll, exitForError, type Profile } from './cert';
import type { Progress } from './node/progress';
import type { FileStorage } from './node/storage';
import { EXIT, InputFileError, cancelStale, createRunContext, exitCodeOf, type Outcome, type RunConfig, type RunContext } from './run';
import { MailServerError } from './node/mail';
import { PortError } from '../enroll/ports';
import { commandSession } from './session';

interface Due {
  readonly record: CertificateRecord;
  readonly profile: Profile;
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args, ['state-dir'], ['json', 'verbose', 'plain']);
  if (parsed.positional.length > 0) throw new UsageError(`unexpected argument "${parsed.positional[0]!}"`);
  const session = commandSession(parsed);
  const { stateDir, io } = session;
  const { progress, json } = io;
  try {
    const storage = session.openState();
    const due = await dueCertificates(stateDir, storage, progress);
    const outcomes: Outcome[] = [];
    const skipped: string[] = [];
    for (const { record, profile } of due) {
      if (io.stopped()) break;
      if (profile.config.mail.mode === 'manual') {
        progress.line(`${record.email}: due for renewal, but it was issued with --manual: run acme-email cert --manual again`);
        skipped.push(record.email);
        continue;
      }
      // One certificate's trouble (its mail server down, a file gone) does not keep the others from renewing.
      let ctx: RunContext | undefined;
      try {
        const context = createRunContext(profile.config, { stateDir, progress, storage });
        ctx = context;
        await context.start();
        await cancelStale(context);
        const passphrase = context.passphrases.get(record.email.toLowerCase())!;
        outcomes.push(...(await enrollAll(context, io, () => context.enroller.renew(record.identityId, passphrase, true))));
      } catch (error) {
        const code = error instanceof MailServerError ? 'mailServer' : error instanceof InputFileError ? 'input' : error instanceof PortError && error.kind === 'transient' ? 'network' : undefined;
        if (code === undefined) throw error;
        progress.line(`${record.email}: not renewed: ${error instanceof Error ? error.message : String(error)}`);
        outcomes.push({ email: record.email, step: 'failed', refusals: [], error: { code, message: error instanceof Error ? error.message : String(error) } });
      } finally {
        await ctx?.stop().catch(() => undefined);
      }
    }
    progress.done();
    if (json) process.stdout.write(`${JSON.stringify({ due: due.map((d) => d.record.email), renewed: outcomes, skipped })}\n`);
    else if (due.length === 0) progress.line('no certificate is due for renewal');
    else {
      for (const o of outcomes) {
        progress.line(o.files ? `${o.email}: renewed; written to ${o.files.p12}, valid until ${o.certificate!.notAfter}` : `${o.email}: not renewed (${o.error?.code ?? o.step}): ${o.error?.message ?? ''}`);
      }
    }
    if (io.stopped()) return EXIT.interrupted;
    if (skipped.length > 0) return EXIT.failed;
    return exitCodeOf(outcomes);
  } catch (error) {
    progress.done();
    return exitForError('renew', error);
  } finally {
    await session.close();
  }
}

/**
 * Refreshes each certificate's renewal time (the flow's own check: ARI when offered) and returns
 * those whose time has come. A certificate revoked, or made by another tool, is left alone.
 */
async function dueCertificates(stateDir: string, storage: FileStorage, progress: Progress): Promise<Due[]> {
  const all = await storage.getAll();
  const withProfile: Due[] = [];
  for (const [key, value] of Object.entries(all)) {
    if (!key.startsWith(CERTIFICATE_PREFIX)) continue;
    const record = value as CertificateRecord;
    const profile = all[`${PROFILE_PREFIX}${record.email.toLowerCase()}`] as Profile | undefined;
    // A certificate of several addresses is renewed once, by its owner's record and profile, for all of them.
    if (record.revoked || record.coveredBy !== undefined || profile?.schema !== 1) continue;
    withProfile.push({ record, profile });
  }
  if (withProfile.length === 0) return [];
  // One check over every certificate, trusting every root the profiles name (ARI is fetched from each CA).
  // Files it does not need (passphrase, key, EAB key) are left out, so a missing one fails only its own renewal.
  const { passphraseFile: _passphrase, keyFile: _key, eab: _eab, ...first } = withProfile[0]!.profile.config;
  const checkConfig: RunConfig = { ...first, trustFiles: [...new Set(withProfile.flatMap((d) => d.profile.config.trustFiles))], mail: { mode: 'manual' } };
  const checker = createRunContext(checkConfig, { stateDir, progress, storage });
  await checker.enroller.checkRenewals();
  const now = Date.now();
  const out: Due[] = [];
  for (const d of withProfile) {
    const record = (await checker.enroller.certificate(d.record.identityId)) ?? d.record;
    const dueNow = record.renewAt <= now || record.notAfter <= now;
    const when = `renewal from ${new Date(record.renewAt).toISOString()} (${record.renewalSource === 'ari' ? "the CA's renewal window" : 'the last third of its lifetime'}), valid until ${new Date(record.notAfter).toISOString()}`;
    if (dueNow) progress.line(`${record.email}: due for renewal: ${when}`);
    else progress.debug(`${record.email}: not due: ${when}`);
    if (dueNow) out.push({ record, profile: d.profile });
  }
  return out;
}
