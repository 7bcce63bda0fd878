/**
 * The terminal side of the command: lines from stdin (a pasted challenge, an answer to a
 * question), and the state folder's default place.
 */
import { createInterface } from 'node:readline';
import { homedir } from 'node:os';
import { join } from 'node:path';

export class StdinLines {
  private readonly lines: AsyncIterator<string, undefined>;
  private ended = false;

  constructor(input: NodeJS.ReadableStream = process.stdin) {
    this.lines = createInterface({ input, crlfDelay: Infinity, terminal: false })[Symbol.asyncIterator]();
  }

  /** The next line without its ending, or undefined once stdin has ended. */
  async next(): Promise<string | undefined> {
    if (this.ended) return undefined;
    const result: IteratorResult<string, undefined> = await this.lines.next();
    if (result.done === true) {
      this.ended = true;
      return undefined;
    }
    return result.value;
  }

  get atEnd(): boolean {
    return this.ended;
  }
}

/** $XDG_CONFIG_HOME/acme-email, or ~/.config/acme-email (XDG Base Directory Specification). */
export function defaultStateDir(): string {
  const xdg = process.env['XDG_CONFIG_HOME'];
  return join(xdg !== undefined && xdg.startsWith('/') ? xdg : join(homedir(), '.config'), 'acme-email');
}

/** Asks a yes/no question on stderr; only "y" or "yes" is yes. */
export async function confirm(lines: StdinLines, question: string): Promise<boolean> {
  process.stderr.write(`${question} [y/N] `);
  const answer = (await lines.next())?.trim().toLowerCase();
  return answer === 'y' || answer === 'yes';
}
