/**
 * A private X server (Xvfb) on a free display number, for screenshots with real window
 * decorations and for the demo when no display is present. Stopped by its own PID.
 */
import { existsSync } from 'node:fs';
import { startProcess, type RunningProcess } from './process';

export interface Xvfb {
  readonly display: string;
  stop(): Promise<void>;
}

export async function startXvfb(width = 1280, height = 800): Promise<Xvfb> {
  if (!existsSync('/usr/bin/Xvfb')) throw new Error('Xvfb not found: run scripts/setup-system.sh as root (package xvfb)');
  for (let n = 90 + Math.floor(Math.random() * 400); ; n++) {
    if (existsSync(`/tmp/.X${n}-lock`) || existsSync(`/tmp/.X11-unix/X${n}`)) continue;
    const proc: RunningProcess = startProcess('/usr/bin/Xvfb', [`:${n}`, '-screen', '0', `${width}x${height}x24`, '-nolisten', 'tcp', '-ac']);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (proc.child.exitCode !== null) break;
      if (existsSync(`/tmp/.X11-unix/X${n}`)) return { display: `:${n}`, stop: () => proc.stop() };
      await new Promise((r) => setTimeout(r, 50));
    }
    await proc.stop();
    if (n > 1000) throw new Error(`Xvfb did not start:\n${proc.output()}`);
  }
}
