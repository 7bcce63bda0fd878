/**
 * The options page: writes the user's settings to storage.local `settings`, shows what an
 * administrator set through managed storage, and refuses to edit when they locked it.
 * Validation is src/enroll/settings.ts's: what it drops is named back to the user.
 */
import { KEY_TYPES, USAGES } from '../enroll/ports';
import { learnedJoin } from '../enroll/joins';
import type { StoragePort } from '../enroll/ports';
import { BUILT_IN_PRESETS, managedPresets, presetFor, type CaPreset } from '../enroll/presets';
import { SETTING_KEYS, effectiveSettings, validSettings, type Settings } from '../enroll/settings';
import { KEYS } from '../enroll/state';
import { localizePage, t } from '../ui/i18n';

// The caller names the element type it placed in options.html.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
function el<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`options.html has no #${id}`);
  return found as T;
}

const input = (id: string): HTMLInputElement => el<HTMLInputElement>(id);
const select = (id: string): HTMLSelectElement => el<HTMLSelectElement>(id);
const area = (id: string): HTMLTextAreaElement => el<HTMLTextAreaElement>(id);

/** The label of each setting the page edits, to name the ones validation dropped. */
const SETTING_LABELS: Partial<Record<keyof Settings, string>> = {
  directoryUrl: 'optionsDirectoryUrl',
  eabKeyId: 'optionsEabKeyId',
  eabHmacKey: 'optionsEabHmacKey',
  tokenJoin: 'optionsTokenJoin',
  keyType: 'optionsKeyType',
  usage: 'optionsUsage',
  askBeforeReplying: 'optionsAskBeforeReplying',
  postChallengeAfterSeconds: 'optionsPostAfter',
  validationTimeoutMinutes: 'optionsValidationTimeout',
  dohUrl: 'optionsDohUrl',
  trustedAuthservIds: 'optionsTrustedAuthserv',
  smimeTrustAnchors: 'optionsTrustAnchors',
  keepKey: 'optionsKeepKey',
  debugLog: 'optionsDebugLog',
  trustedMailRoots: 'optionsTrustedMailRoots',
  signByDefault: 'optionsSignByDefault',
  encryptByDefault: 'optionsEncryptByDefault',
};

function settingName(key: keyof Settings): string {
  const label = SETTING_LABELS[key];
  return label === undefined ? key : t(label);
}

function lines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

/** PEM blocks, one per certificate, from whatever the user pasted. */
function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

function fill(settings: Settings): void {
  input('directory-url').value = settings.directoryUrl;
  select('preset').value = presetFor(presets, settings.directoryUrl)?.id ?? 'custom';
  input('eab-key-id').value = settings.eabKeyId;
  input('eab-hmac-key').value = settings.eabHmacKey;
  select('token-join').value = settings.tokenJoin;
  select('key-type').value = settings.keyType;
  select('usage').value = settings.usage;
  input('ask-before-replying').checked = settings.askBeforeReplying;
  input('post-after').value = String(settings.postChallengeAfterSeconds);
  input('validation-timeout').value = String(settings.validationTimeoutMinutes);
  input('doh-url').value = settings.dohUrl;
  area('trusted-authserv').value = settings.trustedAuthservIds.join('\n');
  area('trust-anchors').value = settings.smimeTrustAnchors.join('\n');
  input('keep-key').checked = settings.keepKey;
  input('debug-log').checked = settings.debugLog;
  area('trusted-mail-roots').value = settings.trustedMailRoots.join('\n');
  input('sign-by-default').checked = settings.signByDefault;
  input('encrypt-by-default').checked = settings.encryptByDefault;
}

function read(): Record<keyof Settings, unknown> {
  return {
    directoryUrl: input('directory-url').value.trim(),
    eabKeyId: input('eab-key-id').value.trim(),
    eabHmacKey: input('eab-hmac-key').value.trim(),
    tokenJoin: select('token-join').value,
    keyType: select('key-type').value,
    usage: select('usage').value,
    askBeforeReplying: input('ask-before-replying').checked,
    postChallengeAfterSeconds: Number(input('post-after').value),
    validationTimeoutMinutes: Number(input('validation-timeout').value),
    dohUrl: input('doh-url').value.trim(),
    trustedAuthservIds: lines(area('trusted-authserv').value),
    smimeTrustAnchors: pemBlocks(area('trust-anchors').value),
    keepKey: input('keep-key').checked,
    debugLog: input('debug-log').checked,
    trustedMailRoots: lines(area('trusted-mail-roots').value),
    signByDefault: input('sign-by-default').checked,
    encryptByDefault: input('encrypt-by-default').checked,
    // Not the user's to set here: the administrator's policy, else each identity's checkbox in the popup.
    autoRenew: 'user',
  };
}

/** storage.local as the flow's StoragePort, for reading what it learned. */
const storageArea: StoragePort = {
  get: (keys) => messenger.storage.local.get([...keys]),
  getAll: () => messenger.storage.local.get(),
  set: (items) => messenger.storage.local.set(items),
  remove: (keys) => messenger.storage.local.remove([...keys]),
};

async function managed(): Promise<Record<string, unknown>> {
  try {
    return await messenger.storage.managed.get();
  } catch {
    // No enterprise policy for this add-on.
    return {};
  }
}

/** Built-in presets, then the administrator's; filled once the managed values are read. */
let presets: readonly CaPreset[] = BUILT_IN_PRESETS;

function fillPresets(): void {
  const options = [...presets.map((p) => ({ value: p.id, label: p.name ?? t(p.labelKey ?? '') })), { value: 'custom', label: t('optionsPresetCustom') }];
  select('preset').replaceChildren(
    ...options.map((o) => {
      const option = document.createElement('option');
      option.value = o.value;
      option.textContent = o.label;
      return option;
    }),
  );
}

/** A preset fills the CA's fields; the user sees them and may change any before saving. */
function applyPreset(preset: CaPreset): void {
  input('directory-url').value = preset.directoryUrl;
  select('token-join').value = preset.tokenJoin;
  select('key-type').value = preset.keyType;
  if (preset.dohUrl !== undefined) input('doh-url').value = preset.dohUrl;
}

/** What the add-on learned about the configured CA's join (shown under the join option). */
async function showLearnedJoin(): Promise<void> {
  const directoryUrl = input('directory-url').value.trim();
  const learned = directoryUrl === '' ? undefined : await learnedJoin(storageArea, directoryUrl);
  el('learned-join').hidden = learned === undefined;
  if (learned) el('learned-join').textContent = t('optionsLearnedJoin', t(`tokenJoin_${learned.join}`), new Date(learned.confirmedAt).toLocaleDateString());
}

async function load(): Promise<void> {
  const stored = await messenger.storage.local.get(KEYS.settings);
  const managedValues = await managed();
  presets = [...BUILT_IN_PRESETS, ...managedPresets(managedValues)];
  fillPresets();
  const settings = effectiveSettings(stored[KEYS.settings], managedValues);
  fill(settings);
  el('locked').hidden = !settings.locked;
  el<HTMLFieldSetElement>('fields').disabled = settings.locked;
  el<HTMLButtonElement>('save').disabled = settings.locked;
  await showLearnedJoin();
}

function main(): void {
  localizePage();
  for (const [id, values] of [['key-type', KEY_TYPES], ['usage', USAGES]] as const) {
    select(id).replaceChildren(
      ...values.map((v) => {
        const option = document.createElement('option');
        option.value = v;
        option.textContent = id === 'usage' ? t(`usage_${v}`) : v;
        return option;
      }),
    );
  }
  fillPresets();
  select('preset').addEventListener('change', () => {
    const preset = presets.find((p) => p.id === select('preset').value);
    if (preset) applyPreset(preset);
  });
  input('directory-url').addEventListener('input', () => {
    select('preset').value = presetFor(presets, input('directory-url').value.trim())?.id ?? 'custom';
    void showLearnedJoin();
  });
  el('options').addEventListener('submit', (event) => {
    event.preventDefault();
    const wanted = read();
    const valid = validSettings(wanted);
    const dropped = SETTING_KEYS.filter((key) => !(key in valid));
    void messenger.storage.local.set({ [KEYS.settings]: valid }).then(() => {
      el('saved').textContent = dropped.length === 0 ? t('optionsSaved') : t('optionsInvalid', dropped.map(settingName).join(', '));
    });
  });
  void load();
}

main();
