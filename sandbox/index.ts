/**
 * The sandbox: a strict local RFC 8555 + RFC 8823 CA with real mail around it (private Dovecot,
 * a DKIM-signing submission MTA, an RFC 8484 DNS-over-HTTPS endpoint), all on 127.0.0.1.
 * It is the embedded default of the demo and the peer of every end-to-end test.
 *
 * Nothing here imports src/: what the CA checks (JWS, thumbprints, key authorizations, CSRs,
 * DKIM of replies) is written independently, so a bug shared with the client cannot hide itself.
 */
export type {
  ChallengeTiming, TokenJoin, Forgery, SandboxFaults, SandboxUser, SandboxOptions, SentChallenge,
  DkimVerdict, ReceivedReply, SandboxChanges, Sandbox,
} from './types';
export { NO_FAULTS } from './types';
import type { Sandbox, SandboxOptions } from './types';

/** Starts every part on free loopback ports, state in a fresh temp folder. */
export function startSandbox(_options: SandboxOptions = {}): Promise<Sandbox> {
  return Promise.reject(new Error('startSandbox: not implemented yet (interface only)'));
}
