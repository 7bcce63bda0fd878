/**
 * Storage migrations, run once when the background starts, before anything reads the state.
 * Each step takes the whole storage.local content at version N and returns the changes that
 * make it version N+1. A version newer than this code knows is left untouched (a downgraded
 * add-on must not destroy what a newer one wrote) and reported.
 *
 * Version 0 — the foundation's options page: a top-level `directoryUrl` string, no version.
 * Version 1 — `settings` object; `enrollment:<id>` and `certificate:<identityId>` records, each
 *             with its own `schema` field.
 */
import { KEYS, SCHEMA_VERSION } from './state';
import type { StoragePort } from './ports';

export interface MigrationChanges {
  readonly set: Record<string, unknown>;
  readonly remove: readonly string[];
}

type Migration = (all: Readonly<Record<string, unknown>>) => MigrationChanges;

/** MIGRATIONS[n] turns version n into n + 1. */
const MIGRATIONS: readonly Migration[] = [
  (all) => {
    const settings: Record<string, unknown> = typeof all[KEYS.settings] === 'object' && all[KEYS.settings] !== null ? { ...(all[KEYS.settings] as object) } : {};
    const legacyUrl = all['directoryUrl'];
    if (typeof legacyUrl === 'string' && settings['directoryUrl'] === undefined) settings['directoryUrl'] = legacyUrl;
    return { set: { [KEYS.settings]: settings }, remove: ['directoryUrl'] };
  },
];

export class StorageTooNewError extends Error {
  override readonly name = 'StorageTooNewError';
}

function versionOf(all: Readonly<Record<string, unknown>>): number {
  const v = all[KEYS.schema];
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0;
}

/** Brings storage.local to SCHEMA_VERSION; returns the version found. */
export async function migrate(storage: StoragePort): Promise<number> {
  let all = await storage.getAll();
  const found = versionOf(all);
  if (found > SCHEMA_VERSION) throw new StorageTooNewError(`storage is at version ${found}, this add-on knows ${SCHEMA_VERSION}`);
  for (let v = found; v < SCHEMA_VERSION; v++) {
    const step = MIGRATIONS[v];
    if (!step) throw new Error(`no migration from storage version ${v}`);
    const changes = step(all);
    all = { ...Object.fromEntries(Object.entries(all).filter(([key]) => !changes.remove.includes(key))), ...changes.set };
    // Written step by step: a stop in the middle leaves a consistent older version behind.
    await storage.set({ ...changes.set, [KEYS.schema]: v + 1 });
    if (changes.remove.length > 0) await storage.remove(changes.remove);
  }
  return found;
}
