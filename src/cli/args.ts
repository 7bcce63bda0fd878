/** A tiny, strict option parser for the `acme-email` subcommands. */

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface ParsedArgs {
  readonly positional: string[];
  /** Every value given for an option, in order (`--email a --email b`). */
  readonly options: ReadonlyMap<string, string[]>;
  readonly flags: ReadonlySet<string>;
}

/**
 * Parses `args` against the option names that take a value and the flags that do not.
 * Unknown options and missing values are usage errors.
 */
export function parseArgs(args: readonly string[], valued: readonly string[], flagNames: readonly string[] = []): ParsedArgs {
  const positional: string[] = [];
  const options = new Map<string, string[]>();
  const flags = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const name = arg.slice(2);
    if (flagNames.includes(name)) {
      flags.add(name);
    } else if (valued.includes(name)) {
      const value = args[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      options.set(name, [...(options.get(name) ?? []), value]);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { positional, options, flags };
}

/** The single value of an option, or undefined; giving it twice is a usage error. */
export function single(parsed: ParsedArgs, name: string): string | undefined {
  const values = parsed.options.get(name);
  if (values && values.length > 1) throw new UsageError(`--${name} given more than once`);
  return values?.[0];
}

export function required(parsed: ParsedArgs, name: string): string {
  const value = single(parsed, name);
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}
