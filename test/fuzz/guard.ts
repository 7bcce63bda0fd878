/**
 * The fuzz suites' referee: every input goes through `run`, which sorts the outcome into
 * returned, refused with one of the target's own typed errors, crashed (any other exception) or
 * hung (no answer within HANG_MS). Counts are printed as the figure
 * `fuzz: inputs=<n> crashes=<n> hangs=<n>` and the suites assert crashes = hangs = 0.
 *
 * Runs per target: FUZZ_RUNS (default a few thousand, so `npm test` stays fast; `npm run fuzz`
 * sets 200000). The seed is printed on failure by fast-check, so a crash is reproducible.
 */
import fc from 'fast-check';

export const RUNS = Math.max(1, Number(process.env['FUZZ_RUNS'] ?? 2000));
/**
 * An input still unanswered after this long counts as a hang. Generous on purpose: the machine
 * is shared, and what this catches is unbounded work (catastrophic backtracking, a loop that
 * never ends), which takes far longer.
 */
export const HANG_MS = 5_000;
/** Per-test time limit: Vitest's default is for ordinary tests, not for `npm run fuzz`. */
export const TEST_TIMEOUT_MS = Math.max(60_000, RUNS * 25);

export interface Tally {
  readonly target: string;
  inputs: number;
  returned: number;
  refused: number;
  crashes: number;
  hangs: number;
  /** The first few crashes and hangs, for the failure message. */
  readonly examples: string[];
}

export function tally(target: string): Tally {
  return { target, inputs: 0, returned: 0, refused: 0, crashes: 0, hangs: 0, examples: [] };
}

const HUNG = Symbol('hung');

function describeInput(input: unknown): string {
  if (input instanceof Uint8Array) return `bytes ${Buffer.from(input).toString('hex')}`.slice(0, 300);
  // JSON.stringify gives undefined for undefined, whatever its typing says.
  const text = JSON.stringify(input, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)) as string | undefined;
  return (text ?? 'undefined').slice(0, 300);
}

/**
 * Runs one input. `allowed` says which exceptions are the target's typed refusals. Synchronous
 * targets cannot be interrupted; their time is measured instead, against the same bound.
 */
export async function run<T>(t: Tally, input: T, target: (input: T) => unknown, allowed: (error: unknown) => boolean): Promise<void> {
  t.inputs++;
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const result = await Promise.race([
      Promise.resolve().then(() => target(input)),
      new Promise<typeof HUNG>((resolve) => {
        timer = setTimeout(() => {
          resolve(HUNG);
        }, HANG_MS);
      }),
    ]);
    if (result === HUNG || performance.now() - started > HANG_MS) {
      t.hangs++;
      if (t.examples.length < 5) t.examples.push(`hang: ${describeInput(input)}`);
    } else t.returned++;
  } catch (error) {
    if (allowed(error)) t.refused++;
    else {
      t.crashes++;
      if (t.examples.length < 5) t.examples.push(`crash ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}: ${describeInput(input)}`);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Feeds `RUNS` inputs from `arbitrary` to the target; returns the tally (also printed). */
export async function fuzz<T>(name: string, arbitrary: fc.Arbitrary<T>, target: (input: T) => unknown, allowed: (error: unknown) => boolean, runs = RUNS): Promise<Tally> {
  const t = tally(name);
  await fc.assert(
    fc.asyncProperty(arbitrary, async (input) => {
      await run(t, input, target, allowed);
    }),
    { numRuns: runs },
  );
  console.log(`fuzz: inputs=${t.inputs} crashes=${t.crashes} hangs=${t.hangs} (${name}; returned ${t.returned}, refused ${t.refused})`);
  return t;
}

/** Bytes that are mostly printable mail text with CR, LF, tabs, colons and high bytes. */
export const mailBytes = (maxLength = 2000): fc.Arbitrary<string> =>
  fc.string({
    unit: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.split('')) },
      { weight: 3, arbitrary: fc.constantFrom('\r\n', '\n', '\r', ' ', '\t', ':', ';', '=', '?', '"', '<', '>', '@', ',', '(', ')', '\\', '-', '_', '.', '/', '+') },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)) },
    ),
    maxLength,
  });

/** Mutations of a valid sample: cut, duplicate, flip and insert, where parsers are most fragile. */
export function mutated(sample: string, maxEdits = 6): fc.Arbitrary<string> {
  const edit = fc.tuple(fc.nat(), fc.constantFrom('delete', 'insert', 'replace', 'duplicate'), mailBytes(20));
  return fc.array(edit, { minLength: 1, maxLength: maxEdits }).map((edits) => {
    let s = sample;
    for (const [at, kind, text] of edits) {
      const i = s.length === 0 ? 0 : at % s.length;
      const j = Math.min(s.length, i + 1 + (at % 40));
      if (kind === 'delete') s = s.slice(0, i) + s.slice(j);
      else if (kind === 'insert') s = s.slice(0, i) + text + s.slice(i);
      else if (kind === 'replace') s = s.slice(0, i) + text + s.slice(j);
      else s = s.slice(0, j) + s.slice(i, j) + s.slice(j);
    }
    return s;
  });
}

/** Byte-level mutations of a valid binary sample (DER, PKCS#12). */
export function mutatedBytes(sample: Uint8Array, maxEdits = 4): fc.Arbitrary<Uint8Array> {
  const edit = fc.tuple(fc.nat(), fc.constantFrom('flip', 'set', 'truncate', 'insert'), fc.integer({ min: 0, max: 255 }));
  return fc.array(edit, { minLength: 1, maxLength: maxEdits }).map((edits) => {
    let bytes = Uint8Array.from(sample);
    for (const [at, kind, value] of edits) {
      const i = bytes.length === 0 ? 0 : at % bytes.length;
      if (kind === 'flip' && bytes.length > 0) bytes[i] = bytes[i]! ^ (1 << (value % 8));
      else if (kind === 'set' && bytes.length > 0) bytes[i] = value;
      else if (kind === 'truncate') bytes = bytes.slice(0, i);
      else bytes = Uint8Array.from([...bytes.slice(0, i), value, ...bytes.slice(i)]);
    }
    return bytes;
  });
}
