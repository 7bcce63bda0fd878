/**
 * The add-on's options: defaults, what an administrator presets through managed storage
 * (managed-schema.json), and what the user saved. Values are validated field by field, so a
 * hand-edited or outdated entry falls back to the default instead of breaking the flow.
 */
import { KEY_TYPES, USAGES, type KeyType, type TokenJoinSetting, type Usage } from './ports';

export interface Settings {
  readonly directoryUrl: string;
  readonly eabKeyId: string;
  readonly eabHmacKey: string;
  /** `auto`: found per CA (string first; the other join once after a refused reply; remembered). */
  readonly tokenJoin: TokenJoinSetting;
  readonly keyType: KeyType;
  readonly usage: Usage;
  readonly askBeforeReplying: boolean;
  readonly dohUrl: string;
  readonly trustedAuthservIds: readonly string[];
  /** Seconds to wait for the challenge mail before POSTing to the challenge first (docs/ARCHITECTURE.md, "When the CA sends the challenge mail"). */
  readonly postChallengeAfterSeconds: number;
  /** How long the CA may take to validate before the enrollment is given up, in minutes. */
  readonly validationTimeoutMinutes: number;
  /** PEM trust anchors for S/MIME-signed challenge mails. */
  readonly smimeTrustAnchors: readonly string[];
  readonly keepKey: boolean;
  readonly debugLog: boolean;
  /**
   * SHA-256 fingerprints of roots pre-approved to issue e-mail certificates (an administrator's
   * policy): a chain issued by one of them is trusted for e-mail without asking the user.
   */
  readonly trustedMailRoots: readonly string[];
  /** Once the certificate verifies: sign all mail from the identity by default. */
  readonly signByDefault: boolean;
  /** Once the certificate verifies: require encryption by default (Thunderbird's "enable encryption by default"). */
  readonly encryptByDefault: boolean;
  /**
   * Unattended renewal: `user` lets each identity's choice decide (on unless turned off in the
   * popup); `on` / `off` is an administrator forcing it. Read from managed storage only.
   */
  readonly autoRenew: AutoRenewPolicy;
}

export type AutoRenewPolicy = 'on' | 'off' | 'user';

/** The local sandbox of `npm run sandbox` (its default ports); a preset in the options page. */
export const SANDBOX_DIRECTORY_URL = 'https://127.0.0.1:14000/directory';
/** The sandbox's DNS-over-HTTPS endpoint, which serves the sandbox CA's DKIM keys. */
export const SANDBOX_DOH_URL = 'https://127.0.0.1:14001/dns-query';

export const DEFAULT_SETTINGS: Settings = {
  directoryUrl: '',
  eabKeyId: '',
  eabHmacKey: '',
  tokenJoin: 'auto',
  keyType: 'P-256',
  usage: 'both',
  askBeforeReplying: false,
  dohUrl: 'https://cloudflare-dns.com/dns-query',
  trustedAuthservIds: [],
  // docs/ARCHITECTURE.md: one CA gives up seconds after the POST, another only mails after it: wait
  // generously for the mail before POSTing first.
  postChallengeAfterSeconds: 120,
  validationTimeoutMinutes: 30,
  smimeTrustAnchors: [],
  keepKey: false,
  debugLog: false,
  trustedMailRoots: [],
  signByDefault: true,
  encryptByDefault: false,
  autoRenew: 'user',
};

export const SETTING_KEYS = Object.keys(DEFAULT_SETTINGS) as readonly (keyof Settings)[];

function isHttpsUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Keeps the valid fields of an untrusted object; every other field is left out. */
export function validSettings(input: unknown): Partial<Settings> {
  if (typeof input !== 'object' || input === null) return {};
  const raw = input as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const str = (key: keyof Settings, ok: (v: string) => boolean = () => true): void => {
    const v = raw[key];
    if (typeof v === 'string' && ok(v)) out[key] = v.trim();
  };
  const bool = (key: keyof Settings): void => {
    const v = raw[key];
    if (typeof v === 'boolean') out[key] = v;
  };
  const num = (key: keyof Settings, min: number, max: number): void => {
    const v = raw[key];
    if (typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max) out[key] = v;
  };
  const list = (key: keyof Settings): void => {
    const v = raw[key];
    if (Array.isArray(v) && v.every((item) => typeof item === 'string')) out[key] = v.map((s) => s.trim()).filter((s) => s !== '');
  };
  // The ACME server and the resolver see what the add-on sends: https only (RFC 8555 §6.1).
  str('directoryUrl', (v) => v.trim() === '' || isHttpsUrl(v.trim()));
  str('eabKeyId');
  str('eabHmacKey', (v) => /^[A-Za-z0-9_-]*$/.test(v.trim()));
  str('tokenJoin', (v) => v === 'string' || v === 'bytes' || v === 'auto');
  str('keyType', (v) => (KEY_TYPES as readonly string[]).includes(v));
  str('usage', (v) => (USAGES as readonly string[]).includes(v));
  bool('askBeforeReplying');
  str('dohUrl', (v) => isHttpsUrl(v.trim()));
  list('trustedAuthservIds');
  num('postChallengeAfterSeconds', 0, 24 * 3600);
  num('validationTimeoutMinutes', 1, 7 * 24 * 60);
  list('smimeTrustAnchors');
  bool('keepKey');
  bool('debugLog');
  list('trustedMailRoots');
  if (Array.isArray(out['trustedMailRoots'])) {
    // 32 bytes in hex, colons and spaces optional; anything else is not a fingerprint.
    out['trustedMailRoots'] = (out['trustedMailRoots'] as string[]).filter((f) => /^[0-9A-Fa-f]{64}$/.test(f.replace(/[\s:]/g, '')));
  }
  bool('signByDefault');
  bool('encryptByDefault');
  str('autoRenew', (v) => v === 'on' || v === 'off' || v === 'user');
  return out;
}

/**
 * Effective settings: defaults, then the administrator's managed values, then the user's —
 * except when the administrator set `locked`, in which case managed values win.
 */
export function effectiveSettings(local: unknown, managed: unknown): Settings & { readonly locked: boolean } {
  const managedValues = validSettings(managed);
  const locked = typeof managed === 'object' && managed !== null && (managed as Record<string, unknown>)['locked'] === true;
  // The renewal policy is the administrator's alone: the user decides per identity in the popup.
  const { autoRenew: _ignored, ...localValues } = validSettings(local);
  const merged = locked
    ? { ...DEFAULT_SETTINGS, ...localValues, ...managedValues }
    : { ...DEFAULT_SETTINGS, ...managedValues, ...localValues };
  return { ...merged, autoRenew: managedValues.autoRenew ?? DEFAULT_SETTINGS.autoRenew, locked };
}
