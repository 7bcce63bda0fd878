// Placeholder until the subcommand lands; owned by the issue that implements it.
export function run(_args: string[]): Promise<number> {
  process.stderr.write('acme-email csr: not implemented yet\n');
  return Promise.resolve(2);
}
