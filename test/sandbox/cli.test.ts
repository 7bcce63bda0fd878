/**
 * `npm run sandbox` (sandbox/cli.ts): starts everything, prints how to reach it, and on SIGINT
 * stops everything, removes its state folder and exits 0, leaving no process and no open port.
 */
import { SANDBOX_DIRECTORY_URL, SANDBOX_DOH_URL } from '../../src/enroll/settings';
import { CLI_DEFAULT_PORTS } from '../../sandbox/types';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TestAcmeClient } from './acme-test-client';
import { leftovers, listening } from './leftovers';
import { openssl } from '../helpers/openssl';

describe('npm run sandbox', () => {
  it('prints the addresses and stops cleanly on SIGINT', async () => {
    const child = spawn(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'sandbox/cli.ts', '--personality', 'rfc-example', '--timing', 'after-post', '--join', 'bytes', '--cert-lifetime', '300', '--eab', '--acme-port', '0', '--doh-port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
      resolve(code);
    }));
    try {
      const deadline = Date.now() + 60_000;
      while (!output.includes('Press Ctrl-C') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      expect(output).toContain('Press Ctrl-C');
      expect(output).toMatch(/ACME directory\s+https:\/\/127\.0\.0\.1:\d+\/directory/);
      // The personality's knobs, with the explicit --timing and --join winning.
      expect(output).toMatch(/Personality\s+rfc-example: token-part1 in padded standard base64/);
      expect(output).toMatch(/challenge timing after-post, token join bytes, token-part1 base64-padded, validation on-reply/);
      expect(output).toMatch(/Certificates\s+valid 300 s/);
      expect(output).toMatch(/alice@example\.test\s+password \S+/);
      const stateDir = /State folder\s+(\S+)/.exec(output)![1]!;
      const tlsRootPath = /TLS root\s+(\S+)/.exec(output)![1]!;
      const mailboxRootPath = /Mailbox root\s+(\S+)/.exec(output)![1]!;
      const fingerprint = /SHA-256 ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})\n/.exec(output)?.[1];
      const port = (label: string): number => Number(new RegExp(`${label}\\s+(?:https://)?127\\.0\\.0\\.1:(\\d+)`).exec(output)![1]);
      const ports = [port('ACME directory'), port('IMAP \\(no TLS\\)'), port('SMTP submission'), port('DNS-over-HTTPS')];
      expect(existsSync(tlsRootPath)).toBe(true);
      expect(fingerprint, 'the mailbox root fingerprint is printed as Thunderbird shows it').toBe(
        /sha256 Fingerprint=(\S+)/i.exec(openssl(['x509', '-noout', '-fingerprint', '-sha256', '-in', mailboxRootPath]))![1]);
      for (const p of ports) expect(await listening(p), `port ${p} listens`).toBe(true);
      const client = new TestAcmeClient({ directoryUrl: `https://127.0.0.1:${ports[0]!}/directory`, tlsRootPem: readFileSync(tlsRootPath, 'utf8') });
      expect((await client.dir())['meta'], '--eab reached the server').toMatchObject({ externalAccountRequired: true });
      const refused = await client.newAccount();
      expect([refused.status, refused.json?.['type']]).toEqual([403, 'urn:ietf:params:acme:error:externalAccountRequired']);
      expect(output).toMatch(/EAB\s+kid \S+\s+hmacKey \S+\s+\(required\)/);

      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(output).toContain('stopped; nothing left running.');
      expect(await leftovers(stateDir, ports[1]!, ports)).toEqual({ processes: [], ports: [], stateDirExists: false });
    } finally {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
  });
});

describe('the options page preset "local sandbox"', () => {
  it('points at the ports `npm run sandbox` listens on by default', () => {
    expect(SANDBOX_DIRECTORY_URL).toBe(`https://127.0.0.1:${CLI_DEFAULT_PORTS.acme}/directory`);
    expect(SANDBOX_DOH_URL).toBe(`https://127.0.0.1:${CLI_DEFAULT_PORTS.doh}/dns-query`);
  });
});
