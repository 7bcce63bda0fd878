/** What the enrollment flow is given: its ports, its settings, and its sources of chance. */
import type {
  AcmePort,
  CertStorePort,
  Clock,
  DownloadPort,
  KeyPort,
  Logger,
  MailboxPort,
  MailCheckPort,
  Notifier,
  ReplyPort,
  SessionPort,
  StoragePort,
} from './ports';
import type { Settings } from './settings';

export interface EnrollerDeps {
  readonly acme: AcmePort;
  readonly mailCheck: MailCheckPort;
  readonly mailbox: MailboxPort;
  readonly reply: ReplyPort;
  readonly keys: KeyPort;
  readonly certStore: CertStorePort;
  readonly storage: StoragePort;
  readonly session: SessionPort;
  readonly clock: Clock;
  readonly notifier: Notifier;
  readonly downloads: DownloadPort;
  readonly log: Logger;
  readonly settings: () => Promise<Settings>;
  readonly randomId: () => string;
  /** In [0, 1): where in an ARI window to renew (RFC 9773 §4.2 asks for a random point). */
  readonly random: () => number;
  /** WebCrypto for the checks of a certificate chain; the platform's when absent. */
  readonly crypto?: Crypto;
  /** Fetches an issuer certificate from an Authority Information Access URL; `fetch` when absent. */
  readonly fetchIssuer?: (url: string) => Promise<Uint8Array>;
}
