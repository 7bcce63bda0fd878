/**
 * The terminal side of the command: lines from stdin (a pasted challenge, an answer to a
 * question), and the state folder's default place.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Lines of stdin, read only once asked for: a command that asks nothing never holds stdin open. */
export class StdinLines {
  private reader: { readonly lines: AsyncIterator<string, undefined>; close(): void } | undefined;
  private ended = false;

  constructor(private readonly input: Readable = process.stdin) {}

  /** The next line without its ending, or undefined once stdin has ended. */
  async next(): Promise<string | undefined> {
    if (this.ended) return undefined;
    if (!this.reader) {
      const rl = createInterface({ input: this.input, crlfDelay: Infinity, terminal: false });
      this.reader = { lines: rl[Symbol.asyncIterator](), close: () => {
        rl.close();
      } };
    }
    const result: IteratorResult<string, undefined> = await this.reader.lines.next();
    if (result.done === true) {
      this.ended = true;
      return undefined;
    }
    return result.value;
  }

  /** Lets go of stdin, so the process can end even if stdin stays open. */
  close(): void {
    this.ended = true;
    this.reader?.close();
    if (this.reader) this.input.destroy();
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
