/**
 * `npm run bench:e2e`: figures of the add-on in a real Thunderbird, printed, never asserted
 * (issue 8): `.xpi` and background bundle sizes, Thunderbird start to add-on ready, memory of the
 * extension process and of Thunderbird as a whole.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../helpers/process';
import { Thunderbird, buildXpi, createProfile } from './thunderbird';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

interface ProcMemory {
  readonly extension: number;
  readonly total: number;
}

async function memory(tb: Thunderbird): Promise<ProcMemory> {
  return tb.chrome<ProcMemory>(`
    const info = await ChromeUtils.requestProcInfo();
    const extension = info.children.filter((c) => c.type === 'extension').reduce((sum, c) => sum + c.memory, 0);
    const total = info.children.reduce((sum, c) => sum + c.memory, info.memory);
    return { extension, total };
  `);
}

async function main(): Promise<void> {
  const build = makeTempDir('ocs-bench-build');
  try {
    const xpi = buildXpi(build.path);
    console.log(`xpi size: ${kb(statSync(xpi).size)} (${xpi.slice(build.path.length + 1)})`);
    console.log(`background bundle: ${kb(statSync(join(build.path, 'dist', 'background.js')).size)} minified (target < 300 KB)`);

    const ready: number[] = [];
    const marionette: number[] = [];
    let mem: ProcMemory | undefined;
    for (let i = 0; i < RUNS; i++) {
      const profile = await createProfile({ xpiPath: xpi });
      let tb: Thunderbird | undefined;
      try {
        tb = await Thunderbird.start(profile);
        marionette.push(Date.now() - tb.startedAt);
        await tb.waitForOutput(/: background started/, 30_000);
        ready.push((tb.outputTime(/: background started/) ?? Date.now()) - tb.startedAt);
        // Let start-up settle before reading memory.
        await new Promise((r) => setTimeout(r, 2000));
        mem = await memory(tb);
      } finally {
        await tb?.stop();
        profile.remove();
      }
    }
    console.log(`Thunderbird start to Marionette ready: median ${median(marionette)} ms over ${RUNS} runs (${marionette.join(', ')})`);
    console.log(`Thunderbird start to add-on background started: median ${median(ready)} ms over ${RUNS} runs (${ready.join(', ')})`);
    if (mem) console.log(`memory: extension process ${mb(mem.extension)}, Thunderbird in all ${mb(mem.total)} (resident)`);
  } finally {
    build.remove();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
