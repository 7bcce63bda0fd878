/**
 * The nonce pool (internal), RFC 8555 §6.5: every response's Replay-Nonce is kept, error
 * responses included, and handed to the next signed request, so a client asks newNonce (§7.2)
 * only when the pool is empty. A nonce is handed out once: two requests running at the same
 * time never share one.
 */

/** base64url (RFC 8555 §6.5.1); anything else in Replay-Nonce is ignored rather than sent back. */
const NONCE_RE = /^[A-Za-z0-9_-]+$/;

/** At most this many unused nonces are kept; older ones are likely stale anyway. */
const NONCE_POOL_SIZE = 16;

/** Whether a Replay-Nonce header value is a nonce worth keeping. */
export function isNonce(value: string | null): value is string {
  return value !== null && NONCE_RE.test(value);
}

export class NoncePool {
  private readonly nonces: string[] = [];

  /** `fetchNew` asks the server for a nonce (newNonce) when the pool is empty. */
  constructor(private readonly fetchNew: (signal?: AbortSignal) => Promise<string>) {}

  /** A nonce no one else has been given: the newest pooled one, else a fresh one from the server. */
  take(signal?: AbortSignal): Promise<string> {
    const pooled = this.nonces.pop();
    return pooled === undefined ? this.fetchNew(signal) : Promise.resolve(pooled);
  }

  /** Keeps a response's Replay-Nonce; an absent or malformed one is ignored. */
  add(replayNonce: string | null): void {
    if (!isNonce(replayNonce)) return;
    this.nonces.push(replayNonce);
    if (this.nonces.length > NONCE_POOL_SIZE) this.nonces.shift();
  }
}
