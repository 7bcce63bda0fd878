/**
 * Certificate authorities the options page offers as a starting point: the public RFC 8823 CAs
 * whose ACME directory URL their operators publish, each with the way it joins the token halves
 * and the key type its own client makes, plus the local sandbox. An administrator adds presets in
 * managed storage (`caPresets`). A preset only fills the form: the user sees the values and can
 * change any of them before saving.
 *
 * Sources (checked when the preset was added):
 * - CASTLE Platform's "ACME Email Server": production and staging directories as its own client
 *   (acme_email, a certbot wrapper) hard-codes them; CASTLE joins the *decoded bytes* of the two
 *   token halves; that client makes RSA-2048 keys (certbot's default key size).
 * - rapidmx acme-server: "ACME clients are configured with one URL" (its README); it joins the
 *   two base64url *strings*; its own client uses acme-client, whose default key is RSA-2048.
 */
import { KEY_TYPES, type KeyType, type TokenJoin } from './ports';
import { SANDBOX_DIRECTORY_URL, SANDBOX_DOH_URL } from './settings';

export interface CaPreset {
  /** Stable id (the options page's `<option value>`). */
  readonly id: string;
  /** A _locales key for built-in presets; administrators' presets carry their own name. */
  readonly labelKey?: string;
  readonly name?: string;
  readonly directoryUrl: string;
  readonly tokenJoin: TokenJoin;
  readonly keyType: KeyType;
  /** The DNS-over-HTTPS resolver to use with this CA, when it needs its own (the sandbox). */
  readonly dohUrl?: string;
}

export const BUILT_IN_PRESETS: readonly CaPreset[] = [
  { id: 'castle', labelKey: 'presetCastle', directoryUrl: 'https://acme.castle.cloud/acme/directory', tokenJoin: 'bytes', keyType: 'RSA-2048' },
  { id: 'castle-staging', labelKey: 'presetCastleStaging', directoryUrl: 'https://acme-staging.castle.cloud/acme/directory', tokenJoin: 'bytes', keyType: 'RSA-2048' },
  { id: 'rapidmx', labelKey: 'presetRapidmx', directoryUrl: 'https://acme.rapidmx.io/directory', tokenJoin: 'string', keyType: 'RSA-2048' },
  { id: 'sandbox', labelKey: 'optionsPresetSandbox', directoryUrl: SANDBOX_DIRECTORY_URL, tokenJoin: 'string', keyType: 'P-256', dohUrl: SANDBOX_DOH_URL },
];

function httpsUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * An administrator's presets from managed storage (`caPresets`: `[{name, directoryUrl,
 * tokenJoin?, keyType?, dohUrl?}]`); entries that are not complete and https are left out.
 */
export function managedPresets(managed: unknown): CaPreset[] {
  const list = typeof managed === 'object' && managed !== null ? (managed as Record<string, unknown>)['caPresets'] : undefined;
  if (!Array.isArray(list)) return [];
  const out: CaPreset[] = [];
  list.forEach((item: unknown, index) => {
    if (typeof item !== 'object' || item === null) return;
    const p = item as Record<string, unknown>;
    if (typeof p['name'] !== 'string' || p['name'].trim() === '' || !httpsUrl(p['directoryUrl'])) return;
    const join = p['tokenJoin'] === 'bytes' ? 'bytes' : 'string';
    const keyType = (KEY_TYPES as readonly unknown[]).includes(p['keyType']) ? (p['keyType'] as KeyType) : 'P-256';
    out.push({
      id: `managed-${index}`,
      name: p['name'].trim(),
      directoryUrl: p['directoryUrl'],
      tokenJoin: join,
      keyType,
      ...(httpsUrl(p['dohUrl']) ? { dohUrl: p['dohUrl'] } : {}),
    });
  });
  return out;
}

/** The preset whose directory URL the settings use, if any (the options page shows it selected). */
export function presetFor(presets: readonly CaPreset[], directoryUrl: string): CaPreset | undefined {
  return presets.find((p) => p.directoryUrl === directoryUrl);
}
