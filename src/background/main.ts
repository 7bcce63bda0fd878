/**
 * The background event page. Thunderbird may stop it at any moment (MV3), so every listener is
 * registered synchronously at top level (so events wake it) and all state lives in storage;
 * each listener first awaits `ready` (storage migrated, enrollments resumed).
 */
import { createAcmeAdapter } from '../enroll/adapters/acme';
import { createKeysAdapter } from '../enroll/adapters/keys';
import { createMailCheckAdapter } from '../enroll/adapters/mail-check';
import { Enroller } from '../enroll/enroller';
import { migrate } from '../enroll/migrations';
import { isEnvelope, type IdentityView } from '../enroll/protocol';
import { effectiveSettings, type Settings } from '../enroll/settings';
import { KEYS } from '../enroll/state';
import { indexedDbAccountStore } from './account-store';
import { handle, type HandlerContext } from './handlers';
import { certStore, downloads, mailRefs, mailbox, managedSettings, notifier, reply, storageArea } from './messenger-ports';
import { smimeStore } from './smime-store';
import { alarms } from './alarms';

const manifest = messenger.runtime.getManifest();
// The E2E harness waits for this line (test/e2e/addon-loads.test.ts).
console.info(`${manifest.name} ${manifest.version}: background started`);

const WAKE_ALARM = 'enroll-wake';
const RENEWAL_ALARM = 'renewal-check';
/** At the earliest time a certificate is due or a failed renewal is to be tried again (short-lived certificates cannot wait a day). */
const RENEWAL_WAKE_ALARM = 'renewal-wake';
/** Longest timer set for the renewal check: beyond it the alarm alone brings the check (setTimeout overflows past 24.8 days). */
const MAX_RENEWAL_TIMER_MS = 10 * 60_000;

const local = storageArea(messenger.storage.local);
const session = storageArea(messenger.storage.session);
let debugLog = false;

async function settings(): Promise<Settings & { readonly locked: boolean }> {
  const stored = await local.get([KEYS.settings]);
  const effective = effectiveSettings(stored[KEYS.settings], await managedSettings());
  debugLog = effective.debugLog;
  return effective;
}

const acme = createAcmeAdapter({ fetch: (input, init) => fetch(input, init), crypto, accounts: indexedDbAccountStore });
const keys = createKeysAdapter({ crypto });

const enroller = new Enroller({
  acme,
  mailCheck: createMailCheckAdapter({ fetch: (input, init) => fetch(input, init), crypto, settings, now: () => Date.now() }),
  mailbox,
  reply,
  keys,
  certStore,
  storage: local,
  session,
  clock: { now: () => Date.now() },
  notifier,
  downloads,
  log: {
    debug(message) {
      if (debugLog) console.debug(`[one-click-smime] ${message}`);
    },
  },
  settings,
  randomId: () => crypto.randomUUID(),
  random: () => crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32,
  crypto,
  fetchIssuer: async (url) => {
    const response = await fetch(url, { credentials: 'omit', cache: 'no-store' });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  },
});

let wakeTimer: ReturnType<typeof setTimeout> | undefined;
let renewalTimer: ReturnType<typeof setTimeout> | undefined;

const KEEPALIVE_ALARM = 'keepalive';
let inFlight = 0;

/**
 * Thunderbird stops an event page after about 30 s without events, even in the middle of work
 * (building the PKCS#12 takes that long). While work runs, an alarm every 15 s is such an
 * event; and should the page be stopped anyway, the next one starts it again and resumes.
 */
async function busy<T>(work: () => Promise<T>): Promise<T> {
  if (inFlight++ === 0) alarms().create(KEEPALIVE_ALARM, { delayInMinutes: 0.25, periodInMinutes: 0.25 });
  try {
    return await work();
  } finally {
    if (--inFlight === 0) await alarms().clear(KEEPALIVE_ALARM);
  }
}

/** The renewal check runs, then the next one is planned. */
async function checkRenewals(): Promise<void> {
  await ready;
  try {
    await busy(() => enroller.checkRenewals());
  } catch (error) {
    console.error('[one-click-smime] renewal check failed', error);
  } finally {
    await scheduleWake();
  }
}

/** The next renewal check: an alarm, and a timer while the page lives when it is near. */
async function scheduleRenewalCheck(): Promise<void> {
  const next = await enroller.nextRenewalCheckAt();
  if (renewalTimer !== undefined) clearTimeout(renewalTimer);
  renewalTimer = undefined;
  if (next === undefined) {
    await alarms().clear(RENEWAL_WAKE_ALARM);
    return;
  }
  const delay = Math.max(0, next - Date.now());
  if (delay <= MAX_RENEWAL_TIMER_MS) {
    renewalTimer = setTimeout(() => {
      void checkRenewals();
    }, delay);
  }
  alarms().create(RENEWAL_WAKE_ALARM, { when: Math.max(next, Date.now() + 1_000) });
}

/** A timer while the page lives, and an alarm in case Thunderbird suspends it meanwhile. */
async function scheduleWake(): Promise<void> {
  await scheduleRenewalCheck().catch((error: unknown) => {
    console.error('[one-click-smime] renewal check not scheduled', error);
  });
  const next = await enroller.nextWakeAt();
  if (wakeTimer !== undefined) clearTimeout(wakeTimer);
  wakeTimer = undefined;
  if (next === undefined) {
    await alarms().clear(WAKE_ALARM);
    return;
  }
  const delay = Math.max(0, next - Date.now());
  wakeTimer = setTimeout(() => {
    void tick();
  }, delay);
  alarms().create(WAKE_ALARM, { when: Math.max(next, Date.now() + 1_000) });
}

async function tick(): Promise<void> {
  await ready;
  try {
    await busy(() => enroller.tick());
  } finally {
    await scheduleWake();
  }
}

async function identities(): Promise<IdentityView[]> {
  const out: IdentityView[] = [];
  for (const account of await messenger.accounts.list()) {
    for (const identity of account.identities) {
      if (identity.id === undefined || identity.email === undefined || identity.email === '') continue;
      let smime: IdentityView['smime'] = null;
      try {
        const set = await smimeStore().getIdentityCertificates(identity.id);
        smime = { signing: set.signingDbKey !== null, encryption: set.encryptionDbKey !== null, signMail: set.signMail, encrypt: set.encryptionPolicy === 2 };
      } catch {
        // The Experiment failed: the popup says "unknown" rather than guessing.
      }
      out.push({ id: identity.id, email: identity.email, name: identity.name ?? '', accountName: account.name, smime });
    }
  }
  return out;
}

const context: HandlerContext = {
  enroller,
  acme,
  keys,
  downloads,
  settings,
  identities,
  kick(enrollmentId) {
    const run = busy(() => (enrollmentId === undefined ? enroller.resumeAll() : enroller.advance(enrollmentId).then(() => undefined)));
    void run.catch((error: unknown) => {
      console.error('[one-click-smime] enrollment step failed', error);
    }).finally(() => scheduleWake());
  },
};

async function start(): Promise<void> {
  await migrate(local);
  await settings();
  // Created once: the event page restarts often, and re-creating would push the check back each time.
  if (!(await alarms().get(RENEWAL_ALARM))) alarms().create(RENEWAL_ALARM, { delayInMinutes: 1, periodInMinutes: 24 * 60 });
}

const ready = start();
// Resume after start-up without holding up the listeners that only need storage ready.
void ready.then(() => {
  context.kick();
});

// ---- listeners: synchronous, top level (they wake the suspended event page: docs/ADDON.md) ----

// Thunderbird starts an event page at start-up only for an event: without this listener, an
// enrollment cut off by a restart would wait for the next new mail or a click on the button.
// The module's own start-up (`ready`, then resuming every enrollment) is all the work needed.
messenger.runtime.onStartup.addListener(() => {
  void ready;
});

messenger.messages.onNewMailReceived.addListener(
  (_folder, messages) => {
    void ready
      .then(() => busy(() => enroller.onNewMail(mailRefs(messages))))
      .catch((error: unknown) => {
        // A mail that could not be read or checked is not lost here: the enroller has already
        // scheduled a rescan (and noted why in the enrollment's history), or failed the
        // enrollment with the error. What still arrives here (storage unavailable) is logged;
        // scheduleWake below then sets the timer and alarm for any planned rescan.
        console.error('[one-click-smime] new mail handling failed', error);
      })
      .finally(() => scheduleWake());
  },
  // monitorAllFolders: a challenge filed into Junk or by a filter is still seen.
  true,
);

alarms().onAlarm.addListener((alarm) => {
  if (alarm.name === WAKE_ALARM) void tick();
  // A keepalive alarm after a stop means work was cut off: pick it up again.
  if (alarm.name === KEEPALIVE_ALARM && inFlight === 0) context.kick();
  if (alarm.name === RENEWAL_ALARM || alarm.name === RENEWAL_WAKE_ALARM) void checkRenewals();
});

messenger.runtime.onMessage.addListener((message: unknown) => {
  // Only our own protocol; returning undefined leaves other messages to other listeners.
  if (!isEnvelope(message)) return undefined;
  return ready.then(() => busy(() => handle(context, message.request))).finally(() => scheduleWake());
});

// A click on one of our notifications (certificate ready, passphrase or approval needed, mail
// refused) opens the popup, where the matching step waits.
messenger.notifications.onClicked.addListener((notificationId) => {
  if (!notificationId.startsWith('one-click-smime-')) return;
  void messenger.action.openPopup().catch(() => {
    // Not opened (no window in front): the toolbar button still shows the same popup.
  });
});
