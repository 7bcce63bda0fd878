/** Locks.runAll: every key held, overlapping sets taken in one order, so they never interleave or deadlock. */
import { describe, expect, it } from 'vitest';
import { Locks } from '../../src/enroll/lock';

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

describe('Locks.runAll', () => {
  it('holds its keys while it runs: work on a key it took first waits for it, work on another key does not', async () => {
    const locks = new Locks();
    const order: string[] = [];
    const all = locks.runAll(['b', 'a'], async () => {
      order.push('all start');
      await tick();
      order.push('all end');
    });
    // 'a' is taken first (sorted order); the others are taken in turn inside it.
    const onA = locks.run('a', () => Promise.resolve(order.push('a')));
    const onC = locks.run('c', () => Promise.resolve(order.push('c')));
    await Promise.all([all, onA, onC]);
    expect(order.indexOf('a')).toBeGreaterThan(order.indexOf('all end'));
    expect(order.indexOf('c')).toBeLessThan(order.indexOf('all end'));
  });

  it('two overlapping sets, given in opposite orders, run one after the other and both finish', async () => {
    const locks = new Locks();
    const order: string[] = [];
    const holder = (name: string) => async (): Promise<string> => {
      order.push(`${name} start`);
      await tick();
      order.push(`${name} end`);
      return name;
    };
    const results = await Promise.all([locks.runAll(['x', 'y'], holder('first')), locks.runAll(['y', 'x', 'y'], holder('second'))]);
    expect(results).toEqual(['first', 'second']);
    expect(order).toEqual(['first start', 'first end', 'second start', 'second end']);
  });
});
