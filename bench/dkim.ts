/**
 * `npm run bench:dkim`: DKIM verification throughput, ours beside npm `mailauth` (the peer), on
 * the same corpus in one run, both answering key lookups from the same in-memory zone. The
 * corpus is signed by mailauth: RSA-2048 and Ed25519, relaxed and simple, bodies of 1–16 KB.
 * Both verifiers must report `pass` for every message, or the figures mean nothing and the
 * bench fails. Also times the subject pre-filter on non-challenge subjects (target < 20 µs).
 * Env: BENCH_MESSAGES (default 200), BENCH_ROUNDS (default 3; the best round counts).
 * Last line: `dkim msgs/s ours=<x> mailauth=<y>`.
 */
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { dkimSign } from 'mailauth/lib/dkim/sign';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { createZoneResolver, mayBeChallengeSubject, parseMessage, verifyDkim } from '../src/messages/index';

const crypto = webcrypto as unknown as Crypto;
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const NOW = new Date('2026-11-23T18:01:00Z');

// Test-only keys, made for this run.
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');
const edSpki = ed.publicKey.export({ type: 'spki', format: 'der' });
const zoneRecords: Record<string, string[]> = {
  'rsa._domainkey.ca.example': [`v=DKIM1; k=rsa; p=${rsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`],
  'ed._domainkey.ca.example': [`v=DKIM1; k=ed25519; p=${edSpki.subarray(edSpki.length - 32).toString('base64')}`],
};
const ours = createZoneResolver(zoneRecords);
/** mailauth's resolver contract: TXT as arrays of character-strings; ENOTFOUND when absent. */
const theirs = (name: string): Promise<string[][]> => {
  const records = zoneRecords[name];
  if (!records) return Promise.reject(Object.assign(new Error(`${name} not found`), { code: 'ENOTFOUND' }));
  return Promise.resolve(records.map((r) => [r]));
};

function message(i: number): string {
  const line = `Line ${i} of a challenge mail body, with  some   spacing\t and text to hash.`;
  const body = Array.from({ length: 16 + (i % 16) * 14 }, () => line).join('\r\n');
  return [
    'From: ACME CA <acme-challenge@ca.example>',
    'To: <alice@example.org>',
    `Subject: ACME: LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ${String(i).padStart(9, '0')}`,
    'Date: Mon, 23 Nov 2026 18:00:00 +0000',
    `Message-ID: <bench-${i}@ca.example>`,
    'Auto-Submitted: auto-generated; type=acme',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    body,
    '',
  ].join('\r\n');
}

async function corpus(): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const useEd = i % 2 === 1;
    const signed = await dkimSign(message(i), {
      canonicalization: i % 4 < 2 ? 'relaxed/relaxed' : 'simple/simple',
      signTime: new Date('2026-11-23T18:00:00Z'),
      // A colon-separated string: mailauth ignores an array here (its typings are wrong).
      headerList: 'From:To:Subject:Date:Message-ID:Auto-Submitted:Content-Type',
      signatureData: [{ signingDomain: 'ca.example', selector: useEd ? 'ed' : 'rsa', privateKey: (useEd ? ed : rsa).privateKey.export({ type: 'pkcs8', format: 'pem' }), algorithm: useEd ? 'ed25519-sha256' : 'rsa-sha256' }],
    } as unknown as Parameters<typeof dkimSign>[1]);
    out.push(Buffer.from(signed.signatures + message(i), 'latin1'));
  }
  return out;
}

async function runOurs(messages: readonly Buffer[]): Promise<number> {
  let passed = 0;
  for (const raw of messages) {
    const results = await verifyDkim(parseMessage(raw), { resolver: ours, crypto, now: () => NOW });
    if (results.length === 1 && results[0]!.result === 'pass') passed++;
  }
  return passed;
}

async function runMailauth(messages: readonly Buffer[]): Promise<number> {
  let passed = 0;
  for (const raw of messages) {
    const result = await dkimVerify(raw, { resolver: theirs, curTime: NOW });
    if (result.results.length === 1 && result.results[0]!.status.result === 'pass') passed++;
  }
  return passed;
}

async function best(label: string, run: () => Promise<number>): Promise<number> {
  let bestRate = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    const passed = await run();
    const seconds = (performance.now() - start) / 1000;
    if (passed !== MESSAGES) throw new Error(`${label}: only ${passed} of ${MESSAGES} messages passed; the corpus or the verifier is broken`);
    bestRate = Math.max(bestRate, MESSAGES / seconds);
  }
  return bestRate;
}

function prefilterMicros(): number {
  const subjects = Array.from({ length: 1000 }, (_, i) => [`Re: lunch on ${i}?`, `Your invoice #${i}`, `=?utf-8?q?Gr=C3=BC=C3=9Fe_${i}?=`, `Weekly report ${i} — ${'x'.repeat(i % 80)}`][i % 4]!);
  let kept = 0;
  const iterations = 200;
  const start = performance.now();
  for (let r = 0; r < iterations; r++) for (const s of subjects) if (mayBeChallengeSubject(s)) kept++;
  const micros = ((performance.now() - start) * 1000) / (iterations * subjects.length);
  // Encoded-word subjects get the benefit of the doubt (a quarter of this set): the rest must be stopped.
  if (kept !== (iterations * subjects.length) / 4) throw new Error(`the pre-filter let ${kept} non-challenge subjects through`);
  return micros;
}

const messages = await corpus();
const sizes = messages.map((m) => m.length);
console.log(`corpus: ${MESSAGES} messages, ${Math.min(...sizes)}–${Math.max(...sizes)} bytes, rsa-2048 and ed25519, relaxed and simple`);
// The peer runs first, so any JIT warm-up of shared code (node:crypto) favours neither side.
const mailauthRate = await best('mailauth', () => runMailauth(messages));
const oursRate = await best('ours', () => runOurs(messages));
const prefilter = prefilterMicros();
console.log(`pre-filter: ${prefilter.toFixed(3)} µs per non-challenge subject (target < 20 µs)`);
console.log(`dkim msgs/s ours=${oursRate.toFixed(0)} mailauth=${mailauthRate.toFixed(0)}`);
