/**
 * The background page against a fake `messenger`: listeners registered synchronously at top
 * level (so Thunderbird wakes the event page for them), all folders watched, storage migrated,
 * only our own runtime messages answered.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { PROTOCOL } from '../../src/enroll/protocol';

type Listener = (...args: unknown[]) => unknown;

function area(initial: Record<string, unknown> = {}) {
  let data: Record<string, unknown> = structuredClone(initial);
  return {
    get data() {
      return data;
    },
    get: (keys?: string | string[] | null) => {
      if (keys === undefined || keys === null) return Promise.resolve(structuredClone(data));
      const list = typeof keys === 'string' ? [keys] : keys;
      return Promise.resolve(Object.fromEntries(list.filter((k) => k in data).map((k) => [k, structuredClone(data[k])])));
    },
    set: (items: Record<string, unknown>) => {
      data = { ...data, ...structuredClone(items) };
      return Promise.resolve();
    },
    remove: (keys: string | string[]) => {
      const list = typeof keys === 'string' ? [keys] : keys;
      data = Object.fromEntries(Object.entries(data).filter(([k]) => !list.includes(k)));
      return Promise.resolve();
    },
  };
}

const registered: { newMail?: { listener: Listener; monitorAllFolders: unknown }; message?: Listener; alarm?: Listener; notificationClick?: Listener; startup?: Listener } = {};
const alarmsCreated: string[] = [];
const local = area({ directoryUrl: 'https://ca.test/directory' });

const fakeMessenger = {
  runtime: {
    getManifest: () => ({ name: 'One-Click S/MIME', version: '9.9.9' }),
    onMessage: { addListener: (l: Listener) => (registered.message = l) },
    onStartup: { addListener: (l: Listener) => (registered.startup = l) },
    getURL: (p: string) => `moz-extension://x/${p}`,
  },
  storage: { local, session: area(), managed: { get: () => Promise.reject(new Error('no policy')) } },
  messages: {
    onNewMailReceived: { addListener: (l: Listener, monitorAllFolders: unknown) => (registered.newMail = { listener: l, monitorAllFolders }) },
    query: () => Promise.resolve({ messages: [] }),
  },
  alarms: {
    create: (name: string) => alarmsCreated.push(name),
    clear: () => Promise.resolve(true),
    get: () => Promise.resolve(undefined),
    onAlarm: { addListener: (l: Listener) => (registered.alarm = l) },
  },
  accounts: {
    list: () => Promise.resolve([{ name: 'Work', identities: [{ id: 'id1', email: 'alice@example.test', name: 'Alice' }] }]),
  },
  smimeStore: { getIdentityCertificates: () => Promise.resolve({ signingDbKey: null, encryptionDbKey: 'k', signMail: false, encryptionPolicy: 2 }) },
  i18n: { getMessage: (name: string) => name },
  notifications: { onClicked: { addListener: (l: Listener) => (registered.notificationClick = l) } },
  action: { openPopup: vi.fn(() => Promise.resolve(true)) },
};

beforeAll(async () => {
  vi.stubGlobal('messenger', fakeMessenger);
  vi.spyOn(console, 'info').mockImplementation(() => undefined);
  await import('../../src/background/main');
});

describe('background page', () => {
  it('registers its listeners at top level, watching every folder', () => {
    // Checked right after the module ran, before any promise settled.
    expect(registered.newMail?.monitorAllFolders).toBe(true);
    expect(registered.message).toBeTypeOf('function');
    expect(registered.alarm).toBeTypeOf('function');
    expect(registered.notificationClick).toBeTypeOf('function');
    // Without an onStartup listener Thunderbird would not start the page after a restart.
    expect(registered.startup).toBeTypeOf('function');
  });

  it('opens the popup when one of its notifications is clicked, and only then', () => {
    registered.notificationClick?.('someone-else');
    expect(fakeMessenger.action.openPopup).not.toHaveBeenCalled();
    registered.notificationClick?.('one-click-smime-installed-alice@example.test');
    expect(fakeMessenger.action.openPopup).toHaveBeenCalledTimes(1);
  });

  it('migrates storage and schedules the daily renewal check once', async () => {
    await vi.waitFor(() => {
      expect(local.data['schemaVersion']).toBe(1);
    });
    expect(local.data['settings']).toEqual({ directoryUrl: 'https://ca.test/directory' });
    expect(alarmsCreated.filter((n) => n === 'renewal-check')).toHaveLength(1);
  });

  it('answers only its own protocol', async () => {
    expect(registered.message?.({ type: 'getState' })).toBeUndefined();
    expect(registered.message?.('hello')).toBeUndefined();
    const answer = (await registered.message?.({ protocol: PROTOCOL, request: { type: 'getState' } })) as { ok: boolean; value: { identities: unknown[]; directoryUrl: string } };
    expect(answer.ok).toBe(true);
    expect(answer.value.directoryUrl).toBe('https://ca.test/directory');
    expect(answer.value.identities).toEqual([{ id: 'id1', email: 'alice@example.test', name: 'Alice', accountName: 'Work', smime: { signing: false, encryption: true, signMail: false, encrypt: true } }]);
  });

  it('ignores new mail when nothing is being enrolled, without fetching it', async () => {
    const getRaw = vi.fn();
    Object.assign(fakeMessenger.messages, { getRaw });
    registered.newMail?.listener({ path: '/INBOX' }, { messages: [{ id: 1, headerMessageId: '<a@b>', subject: 'ACME: abc', author: 'x', date: new Date() }] });
    await new Promise((r) => setTimeout(r, 50));
    expect(getRaw).not.toHaveBeenCalled();
  });
});
