/**
 * Starts the real Debian Pebble (RFC 8555 test CA) on loopback for one test suite or benchmark.
 * Pebble ships no TLS certificate: a throwaway OpenSSL CA signs one per start, and `fetch`
 * trusts exactly that CA. Validation is switched off (PEBBLE_VA_ALWAYS_VALID=1), so Pebble never
 * needs DNS or a challenge responder; `-dnsserver` points at a free loopback port so it could
 * never ask a real resolver either.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetchTrusting, issueServerCert, makeTestCa } from './openssl';
import { freePort, makeTempDir, startProcess, waitForPort, type RunningProcess } from './process';

export interface PebbleOptions {
  /** EAB key ids → base64url HMAC keys; with `eabRequired`, accounts need one (RFC 8555 §7.3.4). */
  readonly eabKeys?: Readonly<Record<string, string>>;
  readonly eabRequired?: boolean;
  /** Percentage of good nonces Pebble rejects as badNonce (PEBBLE_WFE_NONCEREJECT); 0 by default. */
  readonly nonceRejectPercent?: number;
  /** Number of alternate root chains (PEBBLE_ALTERNATE_ROOTS); 0 by default. */
  readonly alternateRoots?: number;
  /** Percentage of valid authorizations Pebble reuses (PEBBLE_AUTHZREUSE); 0 by default, for counting. */
  readonly authzReusePercent?: number;
  /** Extra environment for Pebble. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface Pebble {
  readonly directoryUrl: string;
  readonly managementUrl: string;
  /** PEM of the TLS CA that signed Pebble's own HTTPS certificate (not the ACME issuing root). */
  readonly tlsCaPem: string;
  /** A fetch that trusts Pebble's TLS certificate and nothing else extra. */
  readonly fetch: typeof fetch;
  /** PEM of issuing root `index` (0 is the default chain), from the management port. */
  root(index?: number): Promise<string>;
  /** Pebble's view of a certificate, from /cert-status-by-serial/<lower-case hex serial>. */
  certStatus(serialHex: string): Promise<{ Status: string; Reason?: number; Serial: string }>;
  /** Everything Pebble logged, for assertion messages. */
  output(): string;
  stop(): Promise<void>;
}

export async function startPebble(options: PebbleOptions = {}): Promise<Pebble> {
  const dir = makeTempDir('pebble');
  let proc: RunningProcess | undefined;
  try {
    const ca = makeTestCa(dir.path, 'Pebble TLS Test Root');
    const server = issueServerCert(ca, dir.path, 'pebble');
    const [acmePort, mgmtPort, httpPort, tlsPort, dnsPort] = await distinctFreePorts(5);
    const config = {
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: server.certPath,
        privateKey: server.keyPath,
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: options.eabRequired ?? false,
        externalAccountMACKeys: options.eabKeys ?? {},
      },
    };
    const configPath = join(dir.path, 'pebble-config.json');
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    proc = startProcess('pebble', ['-config', configPath, '-dnsserver', `127.0.0.1:${dnsPort}`], {
      cwd: dir.path,
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        PEBBLE_VA_ALWAYS_VALID: '1',
        PEBBLE_VA_NOSLEEP: '1',
        PEBBLE_WFE_NONCEREJECT: String(options.nonceRejectPercent ?? 0),
        PEBBLE_AUTHZREUSE: String(options.authzReusePercent ?? 0),
        PEBBLE_ALTERNATE_ROOTS: String(options.alternateRoots ?? 0),
        ...options.env,
      },
    });
    const running = proc;
    await Promise.all([waitForPort(acmePort!), waitForPort(mgmtPort!)]).catch((error: unknown) => {
      throw new Error(`Pebble did not start: ${String(error)}\n${running.output()}`);
    });
    const trustingFetch = fetchTrusting(ca.certPem);
    const managementUrl = `https://127.0.0.1:${mgmtPort}`;
    const getText = async (path: string): Promise<string> => {
      const response = await trustingFetch(`${managementUrl}${path}`);
      const text = await response.text();
      if (!response.ok) throw new Error(`Pebble management GET ${path}: HTTP ${response.status} ${text}`);
      return text;
    };
    return {
      directoryUrl: `https://127.0.0.1:${acmePort}/dir`,
      managementUrl,
      tlsCaPem: ca.certPem,
      fetch: trustingFetch,
      root: (index = 0) => getText(`/roots/${index}`),
      certStatus: async (serialHex) => JSON.parse(await getText(`/cert-status-by-serial/${serialHex}`)) as { Status: string; Reason?: number; Serial: string },
      output: () => running.output(),
      async stop() {
        await running.stop();
        dir.remove();
      },
    };
  } catch (error) {
    await proc?.stop();
    dir.remove();
    throw error;
  }
}

/** `count` free loopback ports, all different (the OS could hand the same one out twice). */
async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}
