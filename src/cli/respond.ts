/**
 * `acme-email respond`: the RFC 8823 §3.2 response block for a challenge that arrived in another
 * mail client — paste the subject, give token-part2 and the account key (or its thumbprint),
 * and send the printed block as the reply's body.
 */
import { createPublicKey, webcrypto, type JsonWebKey as NodeJwk } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { parseArgs, required, single, UsageError } from './args';
import { jwkThumbprint } from '../acme/thumbprint';
import { armouredBody, decodeWordsInText, joinsAgree, keyAuthorization, responseValue, tokenFromSubject } from '../messages/index';
import { TOKEN_JOINS } from '../common/vocabulary';

const VALUED = ['subject', 'token', 'thumbprint', 'account-key', 'join'];
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** The public JWK of an account key file: a JWK (public or private) or a PEM key. */
function publicJwk(path: string): JsonWebKey {
  let text: string;
  try {
    if (statSync(path).size > 64 * 1024) throw new UsageError(`the account key file "${path}" is too large to be a key`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read the account key "${path}" (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const trimmed = text.trim();
    const key = trimmed.startsWith('{') ? createPublicKey({ key: JSON.parse(trimmed) as NodeJwk, format: 'jwk' }) : createPublicKey(trimmed);
    const jwk: JsonWebKey = key.export({ format: 'jwk' });
    return jwk;
  } catch (error) {
    throw new UsageError(`"${path}" is not a JWK or PEM key (${error instanceof Error ? error.message : String(error)})`);
  }
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args, VALUED);
  if (parsed.positional.length > 0) throw new UsageError(`unexpected argument "${parsed.positional[0]!}"`);
  const subject = required(parsed, 'subject');
  const tokenPart2 = required(parsed, 'token');
  const joinText = single(parsed, 'join') ?? 'string';
  const join = TOKEN_JOINS.find((j) => j === joinText);
  if (join === undefined) throw new UsageError('--join is "string" or "bytes"');
  const thumbprintText = single(parsed, 'thumbprint');
  const keyPath = single(parsed, 'account-key');
  if ((thumbprintText === undefined) === (keyPath === undefined)) throw new UsageError('give exactly one of --thumbprint and --account-key');
  if (!BASE64URL.test(tokenPart2) || tokenPart2.length > 1024) throw new UsageError('--token must be the challenge\'s base64url "token"');

  const token = tokenFromSubject(decodeWordsInText(subject.replace(/\r?\n(?=[ \t])/g, '')));
  if (!token.ok) throw new UsageError(`--subject: ${token.refusal.message}`);
  const crypto = webcrypto as unknown as Crypto;
  let thumbprint: string;
  if (thumbprintText !== undefined) {
    if (!BASE64URL.test(thumbprintText) || thumbprintText.length !== 43) throw new UsageError('--thumbprint must be 43 base64url characters (a SHA-256 JWK thumbprint)');
    thumbprint = thumbprintText;
  } else thumbprint = await jwkThumbprint(publicJwk(keyPath!), crypto);

  let keyAuth: string;
  try {
    keyAuth = keyAuthorization(token.token, tokenPart2, thumbprint, join);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  process.stdout.write(armouredBody(await responseValue(keyAuth, crypto)));
  const agree = joinsAgree(token.token, tokenPart2);
  process.stderr.write(`token halves joined as ${join}${agree ? ' (string and byte joining agree for this token)' : ' (string and byte joining differ for this token: use the one your CA expects)'}\n`);
  return 0;
}
