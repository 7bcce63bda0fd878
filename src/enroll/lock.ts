/**
 * One lock module for every record the flow writes. A background runs one JavaScript thread, but
 * every port call is an `await`: two requests that read a record, wait, and write it back would
 * each overwrite the other's change (a lost update). Work on one record is therefore chained:
 * the next holder starts only when the previous one has finished, whatever its outcome.
 *
 * Keys name what they guard, so one record's lock never blocks another's:
 * - `enrollment(id)`: every step, request and mail event of one enrollment;
 * - `certificate(identityId)`: every read-modify-write of an identity's certificate record
 *   (install, revoke, the renewal check);
 * - `identity(identityId)`: starting an enrollment, so two requests cannot both pass the
 *   "one running enrollment per identity" check (every identity the request names: `runAll`).
 *
 * Order, to stay free of deadlock: an enrollment lock may take a certificate lock inside it
 * (installation); a certificate or identity lock never takes an enrollment lock.
 */
export const LOCK = {
  enrollment: (id: string) => `enrollment:${id}`,
  certificate: (identityId: string) => `certificate:${identityId}`,
  identity: (identityId: string) => `identity:${identityId}`,
} as const;

export class Locks {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` once every earlier holder of `key` has finished; its result or error is passed on. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.tails.set(key, settled);
    void settled.then(() => {
      if (this.tails.get(key) === settled) this.tails.delete(key);
    });
    return next;
  }

  /**
   * Runs `fn` holding every one of `keys`, taken one inside the other in sorted order: two
   * holders of overlapping sets always take their common keys in the same order, so neither can
   * wait on the other's.
   */
  runAll<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const nested = sorted.reduceRight<() => Promise<T>>((inner, key) => () => this.run(key, inner), fn);
    return nested();
  }
}
