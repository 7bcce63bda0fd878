/**
 * Time, injected (internal): the wire's retries and the waiters' polls read and wait through an
 * {@link AcmeClock}, so tests and benchmarks never wait on the wall clock.
 */
import { AcmeAbortError, type RequestInfo } from './errors';

export interface AcmeClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: AcmeClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason as Error);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/** Sleeps on `clock`, turning an abort into AcmeAbortError (its cause the signal's reason). */
export async function sleepOrAbort(clock: AcmeClock, ms: number, signal: AbortSignal | undefined, request?: RequestInfo): Promise<void> {
  try {
    await clock.sleep(ms, signal);
  } catch (error) {
    throw new AcmeAbortError('cancelled while waiting', request, { cause: signal?.reason ?? error });
  }
}
