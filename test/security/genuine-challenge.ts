/**
 * What the flow suites here start from: the CA's genuine challenge mail for IDENTITY, DKIM-signed
 * with keys made for the suite, and the challenge MemoryAcme offers for it (SETUP).
 * `genuineChallenge()` makes the mail in the suite's beforeAll and removes the keys in its afterAll.
 */
import { afterAll, beforeAll } from 'vitest';
import { CA_FROM, THUMBPRINT, TOKEN2, challengeMail, makeContext, signAsCa, type ForgeryContext } from '../fixtures/forgery/mutations';

/** The challenge the CA offers: the mail's From, token-part2 and the account's thumbprint. */
export const SETUP = { from: CA_FROM, token: TOKEN2, thumbprint: THUMBPRINT };

export interface GenuineChallenge {
  /** The suite's start on a whole second: the order is created then, the mail dated a minute later. */
  readonly t0: number;
  /** The signed mail, raw. */
  readonly mail: string;
  /** The mail's date (ms), as the mailbox reports it. */
  readonly mailTime: number;
  /** The DNS the DoH resolver answers from: the CA's DKIM key among the rest. */
  readonly zone: () => ForgeryContext['zone'];
}

/** Registers the suite's beforeAll (make keys, sign the mail) and afterAll (remove the keys). */
export function genuineChallenge(): GenuineChallenge {
  let made: { ctx: ForgeryContext; t0: number; mail: string } | undefined;
  beforeAll(async () => {
    const t0 = Math.floor(Date.now() / 1000) * 1000;
    const ctx = makeContext(t0);
    made = { ctx, t0, mail: await signAsCa(ctx, challengeMail(ctx)) };
  }, 60_000);
  afterAll(() => {
    made?.ctx.remove();
  });
  const ready = (): NonNullable<typeof made> => {
    if (made === undefined) throw new Error('the genuine challenge is made in beforeAll: read it inside a test');
    return made;
  };
  return {
    get t0() {
      return ready().t0;
    },
    get mail() {
      return ready().mail;
    },
    get mailTime() {
      return ready().ctx.mailDate.getTime();
    },
    zone: () => ready().ctx.zone,
  };
}
