/**
 * `acme-email check <message.eml>`: the add-on's whole decision about one saved mail (RFC 8823
 * §3), printed as one JSON object. Exit 0 = answer, 1 = refuse, 2 = usage or input error.
 */
import { readFileSync, statSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import { parseArgs, single, UsageError } from './args';
import {
  createDohResolver,
  createZoneResolver,
  inspectChallengeMail,
  LIMITS,
  MessageParseError,
  parseMessage,
  parseZoneFile,
  type ExpectedChallengeMail,
  type TxtResolver,
  ZoneFileError,
} from '../messages/index';

const VALUED = ['dns', 'doh', 'expect-from', 'to', 'trust-authserv', 'now', 'order-created', 'trust-anchor'];

/** Thrown for an input file the command cannot use (clear message, exit 2). */
class InputError extends Error {
  override readonly name = 'InputError';
}

function readInput(path: string, what: string, maxBytes: number): Buffer {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (error) {
    throw new InputError(`cannot read ${what} "${path}" (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
  }
  if (size > maxBytes) throw new InputError(`${what} "${path}" is ${size} bytes; the limit is ${maxBytes}`);
  try {
    return readFileSync(path);
  } catch (error) {
    throw new InputError(`cannot read ${what} "${path}" (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
  }
}

function unixSeconds(text: string, option: string): Date {
  if (!/^\d{1,12}$/.test(text)) throw new UsageError(`--${option} takes a time in Unix seconds`);
  return new Date(Number(text) * 1000);
}

/** A resolver for when none was given: every lookup is a temporary error that says so. */
const noResolver: TxtResolver = {
  txt: () => Promise.resolve({ kind: 'error', reason: 'no DNS source given (use --dns <zone.json> or --doh <url>)' }),
};

export async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args, VALUED);
  if (parsed.positional.length !== 1) throw new UsageError('check takes exactly one message file');
  const dns = single(parsed, 'dns');
  const doh = single(parsed, 'doh');
  if (dns !== undefined && doh !== undefined) throw new UsageError('give --dns or --doh, not both');
  const nowText = single(parsed, 'now');
  const now = nowText === undefined ? new Date() : unixSeconds(nowText, 'now');
  const orderText = single(parsed, 'order-created');
  const expectFrom = single(parsed, 'expect-from');
  const to = single(parsed, 'to');
  const expectation: Partial<ExpectedChallengeMail> = {
    ...(expectFrom === undefined ? {} : { challengeFrom: expectFrom }),
    ...(to === undefined ? {} : { identity: to }),
    ...(orderText === undefined ? {} : { orderCreatedAt: unixSeconds(orderText, 'order-created') }),
  };

  try {
    let resolver = noResolver;
    if (dns !== undefined) resolver = createZoneResolver(parseZoneFile(readInput(dns, 'zone file', 16 * 1024 * 1024).toString('utf8')));
    if (doh !== undefined) {
      let url: URL;
      try {
        url = new URL(doh);
      } catch {
        throw new UsageError(`--doh "${doh}" is not a URL`);
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError('--doh needs an https: URL');
      resolver = createDohResolver({ url: url.href, fetch });
    }
    const trustAnchors = (parsed.options.get('trust-anchor') ?? []).map((path) => readInput(path, 'trust anchor', 1024 * 1024).toString('latin1'));
    // The CLI refuses a file the add-on would never fetch: larger than any challenge mail.
    const raw = readInput(parsed.positional[0]!, 'message', LIMITS.maxMessageBytes);
    parseMessage(raw); // malformed input is a usage error here (exit 2), not a verdict

    const verdict = await inspectChallengeMail(raw, expectation, {
      resolver,
      crypto: webcrypto as unknown as Crypto,
      now: () => now,
      trustedAuthservIds: parsed.options.get('trust-authserv') ?? [],
      trustAnchors,
    });
    const output = {
      verdict: verdict.verdict,
      tokenPart1: verdict.tokenPart1,
      ...(verdict.verdict === 'answer' ? { authenticatedBy: verdict.authenticatedBy, authenticatedAs: verdict.authenticatedAs } : {}),
      reasons: verdict.reasons.map((r) => ({ code: r.code, message: r.message })),
      dkim: verdict.dkim.map((r) => ({ domain: r.domain, selector: r.selector, algorithm: r.algorithm, result: r.result, reason: r.reason })),
      smime: verdict.smime.status,
    };
    process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    return verdict.verdict === 'answer' ? 0 : 1;
  } catch (error) {
    if (error instanceof InputError || error instanceof ZoneFileError || error instanceof MessageParseError) throw new UsageError(error.message);
    throw error;
  }
}
