/**
 * `npm run bench:acme [N]`: issues N certificates (default 3) from one Pebble this script starts,
 * each with a fresh account and one dns identifier, alternately with this client and with npm
 * `acme-client` (its `auto()` flow), and prints per issuance the HTTP requests each made and the
 * client-side CPU time (process.cpuUsage, user + system, of this one process; Pebble is another
 * process and not counted). Key and CSR generation happen before the measured part, for both.
 *
 * Counting is done at each client's own HTTP layer: our `onRequest` hook (every exchange,
 * retries included) and an axios request interceptor on acme-client's exported axios instance
 * (every request it sends). Pebble runs with nonce rejection and authorization reuse off, so
 * both see the same server behaviour.
 *
 * Last line: `requests ours=<n> acme-client=<m>`, the largest per-issuance count of each.
 */
import { webcrypto } from 'node:crypto';
import { Agent as HttpsAgent } from 'node:https';
import acme from 'acme-client';
import { AcmeClient, generateAccountKey } from '../src/acme';
import { startPebble, type Pebble } from '../test/helpers/pebble';

const crypto = webcrypto as unknown as Crypto;

function pemToDer(pem: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64'));
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

async function ours(pebble: Pebble, name: string, csrDer: Uint8Array): Promise<{ requests: number; cpu: number }> {
  const accountKey = await generateAccountKey(crypto);
  let requests = 0;
  const start = process.cpuUsage();
  const client = new AcmeClient({ directoryUrl: pebble.directoryUrl, fetch: pebble.fetch, crypto, accountKey, onRequest: () => requests++ });
  await client.createAccount({ termsOfServiceAgreed: true });
  const order = await client.newOrder([{ type: 'dns', value: name }]);
  for (const url of order.authorizations) {
    const authz = await client.getAuthorization(url);
    if (authz.status === 'valid') continue;
    const challenge = authz.challenges.find((c) => c.type === 'http-01');
    if (!challenge) throw new Error('no http-01 challenge');
    await client.respondToChallenge(challenge.url);
    await client.waitForAuthorization(url, { initial: authz });
  }
  const finalized = await client.finalize(order, csrDer);
  const done = await client.waitForOrder(order.url, 'valid', { initial: finalized });
  const chain = await client.downloadCertificate(done.certificate!);
  if (chain.certificates.length < 2) throw new Error('short chain');
  return { requests, cpu: cpuMs(start) };
}

async function theirs(pebble: Pebble, csrPem: Buffer, counter: { n: number }): Promise<{ requests: number; cpu: number }> {
  const accountKey = await acme.crypto.createPrivateEcdsaKey('P-256');
  const before = counter.n;
  const start = process.cpuUsage();
  const client = new acme.Client({ directoryUrl: pebble.directoryUrl, accountKey });
  const pem = await client.auto({
    csr: csrPem,
    termsOfServiceAgreed: true,
    skipChallengeVerification: true, // Pebble validates without looking (PEBBLE_VA_ALWAYS_VALID)
    challengePriority: ['http-01'],
    challengeCreateFn: () => Promise.resolve(),
    challengeRemoveFn: () => Promise.resolve(),
  });
  if (!pem.includes('BEGIN CERTIFICATE')) throw new Error('acme-client returned no certificate');
  return { requests: counter.n - before, cpu: cpuMs(start) };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? process.env['N'] ?? 3);
  const pebble = await startPebble();
  try {
    // acme-client talks through its own axios instance: trust Pebble's TLS CA there, and count.
    acme.axios.defaults.httpsAgent = new HttpsAgent({ ca: pebble.tlsCaPem });
    const counter = { n: 0 };
    acme.axios.interceptors.request.use((config) => {
      counter.n++;
      return config;
    });
    let maxOurs = 0;
    let maxTheirs = 0;
    for (let i = 1; i <= n; i++) {
      const name = `bench${i}.example.test`;
      const [, csrPem] = await acme.crypto.createCsr({ commonName: name, altNames: [name] }, await acme.crypto.createPrivateEcdsaKey('P-256'));
      const a = await ours(pebble, name, pemToDer(csrPem.toString()));
      const b = await theirs(pebble, csrPem, counter);
      maxOurs = Math.max(maxOurs, a.requests);
      maxTheirs = Math.max(maxTheirs, b.requests);
      console.log(`issuance ${i}: ours ${a.requests} requests, ${a.cpu.toFixed(1)} ms CPU | acme-client ${b.requests} requests, ${b.cpu.toFixed(1)} ms CPU`);
    }
    console.log(`requests ours=${maxOurs} acme-client=${maxTheirs}`);
  } finally {
    await pebble.stop();
  }
}

await main();
