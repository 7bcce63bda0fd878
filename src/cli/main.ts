/**
 * `acme-email`: the command-line front end. Each subcommand lives in its own module and returns
 * an exit code: 0 success (or "answer" for check), 1 refuse, 2 usage or I/O error.
 */
import { UsageError } from './args';
import { ENROLL_USAGE } from './help';

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  check: async () => (await import('./check')).run,
  respond: async () => (await import('./respond')).run,
  csr: async () => (await import('./csr')).run,
  pkcs12: async () => (await import('./pkcs12')).run,
  cert: async () => (await import('./cert')).run,
  renew: async () => (await import('./renew')).run,
  revoke: async () => (await import('./revoke')).run,
};

const USAGE = `usage: acme-email <command> [options]
commands:
  check <message.eml> [--dns <zone.json>] [--doh <url>] [--expect-from <address>] [--to <address>]
        [--trust-authserv <id>] [--trust-anchor <ca.pem>] [--order-created <unix-seconds>] [--now <unix-seconds>]
  respond --subject "<subject>" --token <token-part2> (--thumbprint <b64url> | --account-key <file>) [--join string|bytes]
  csr --key <key.pem> --email <address> [--email <address> ...] [--usage sign|encrypt|both (default both)]
      [--non-repudiation] [--key-passphrase-file <file>] --out <req.pem>
  pkcs12 --key <key.pem> --cert <chain.pem> --out <file.p12> --passphrase-file <file>
         [--iterations <n> (default 600000)] [--legacy] [--name <friendly name>] [--key-passphrase-file <file>]
${ENROLL_USAGE}`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const load = name === undefined ? undefined : commands[name];
  if (!load) {
    process.stderr.write(name === undefined || name === '--help' ? USAGE : `acme-email: unknown command "${name}"\n${USAGE}`);
    return name === '--help' ? 0 : 2;
  }
  try {
    return await (await load())(rest);
  } catch (error) {
    // Usage and I/O problems end with a clear sentence, never a stack trace.
    const message = error instanceof UsageError ? error.message : error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    process.stderr.write(`acme-email ${name}: ${message}\n`);
    return 2;
  }
}
