/**
 * A real Thunderbird for end-to-end tests: builds the add-on, makes a throwaway profile with the
 * `.xpi` installed, optional mail account and trusted root, starts Thunderbird headless with
 * Marionette, and stops it by its own PID. How and why: docs/E2E.md.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, makeTempDir, startProcess, waitForPort, type RunningProcess, type TempDir } from './process';
import { Marionette, type ElementRef } from './marionette';

export const ADDON_ID = 'one-click-smime@acme-email';
/**
 * The real binary: Debian's /usr/bin/thunderbird is a shell wrapper that does not `exec`, so its
 * PID is not Thunderbird's, and killing it would orphan Thunderbird.
 */
export const THUNDERBIRD = process.env['THUNDERBIRD_BIN']
  ?? (existsSync('/usr/lib/thunderbird/thunderbird') ? '/usr/lib/thunderbird/thunderbird' : '/usr/bin/thunderbird');
const ROOT = resolve(import.meta.dirname, '..', '..');

/** The fixed moz-extension UUID given to the add-on, so its pages have a known URL. */
export const ADDON_UUID = '5b2d0c3e-6f1a-4c51-9a43-0c1c5e8d7a11';
export const ADDON_BASE_URL = `moz-extension://${ADDON_UUID}/`;

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Builds the add-on with the project's own commands (`vite build`, `web-ext build`, as
 * `npm run pack` does) into `outDir`, so parallel runs never race on `dist/` or `artifacts/`.
 * Returns the `.xpi` path.
 */
export function buildXpi(outDir: string): string {
  const dist = join(outDir, 'dist');
  const bin = join(ROOT, 'node_modules', '.bin');
  execFileSync(join(bin, 'vite'), ['build', '--logLevel', 'warn', '--outDir', dist, '--emptyOutDir'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const name = `one-click-smime-${packageVersion()}.xpi`;
  execFileSync(join(bin, 'web-ext'), ['build', '--source-dir', dist, '--artifacts-dir', outDir, '--overwrite-dest', '--filename', name],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  return join(outDir, name);
}

/** An IMAP account with one identity and its SMTP server, written as prefs. */
export interface MailAccount {
  readonly email: string;
  readonly fullName?: string;
  readonly username: string;
  readonly password: string;
  readonly imapPort: number;
  readonly smtpPort: number;
  /** 0 plain, 2 STARTTLS, 3 TLS (Thunderbird's `socketType`). Default 0: the sandbox is on loopback. */
  readonly imapSocketType?: number;
  readonly smtpSocketType?: number;
  readonly host?: string;
}

export interface ProfileOptions {
  readonly xpiPath: string;
  readonly account?: MailAccount;
  /** A root certificate (PEM) the profile's NSS database trusts for TLS (e.g. the sandbox CA). */
  readonly trustedRootPem?: string;
  /**
   * A root certificate (PEM) the profile's NSS database trusts for e-mail (`,C,`), as Mozilla's
   * store trusts an S/MIME root; the same PEM as `trustedRootPem` gets both (`C,C,`).
   */
  readonly emailRootPem?: string;
  readonly extraPrefs?: Readonly<Record<string, string | number | boolean>>;
}

/** The account, server and identity keys the prefs use (also the WebExtension identity id). */
export const ACCOUNT_KEY = 'account1';
export const SERVER_KEY = 'server1';
export const IDENTITY_KEY = 'id1';
export const SMTP_KEY = 'smtp1';

function prefLine(name: string, value: string | number | boolean): string {
  return `user_pref(${JSON.stringify(name)}, ${JSON.stringify(value)});`;
}

function basePrefs(downloadDir: string): Record<string, string | number | boolean> {
  return {
    'extensions.autoDisableScopes': 0,
    'extensions.enabledScopes': 15,
    'extensions.webextensions.uuids': JSON.stringify({ [ADDON_ID]: ADDON_UUID }),
    'extensions.update.enabled': false,
    'extensions.update.autoUpdateDefault': false,
    'extensions.getAddons.cache.enabled': false,
    'extensions.systemAddon.update.enabled': false,
    'app.update.enabled': false,
    'app.update.auto': false,
    'app.update.checkInstallTime': false,
    'app.update.disabledForTesting': true,
    'mail.provider.suppress_dialog_on_startup': true,
    'mail.shell.checkDefaultClient': false,
    'mail.spotlight.firstRunDone': true,
    'mail.winsearch.firstRunDone': true,
    'mail.rights.version': 1,
    'mailnews.start_page.enabled': false,
    'mail.inappnotifications.enabled': false,
    // New-mail alerts go through the system alerts service, which fails headless.
    'mail.biff.show_alert': false,
    'mail.biff.play_sound': false,
    'datareporting.policy.dataSubmissionEnabled': false,
    'datareporting.healthreport.uploadEnabled': false,
    'toolkit.telemetry.enabled': false,
    'toolkit.telemetry.unified': false,
    'toolkit.telemetry.server': '',
    'network.captive-portal-service.enabled': false,
    'network.connectivity-service.enabled': false,
    'network.dns.disablePrefetch': true,
    'network.prefetch-next': false,
    'network.http.speculative-parallel-limit': 0,
    'messenger.startup.action': 0,
    'browser.safebrowsing.malware.enabled': false,
    'browser.safebrowsing.phishing.enabled': false,
    'security.OCSP.enabled': 0,
    'services.settings.server': 'http://127.0.0.1:9/',
    'geo.enabled': false,
    'devtools.console.stdout.content': true,
    'devtools.console.stdout.chrome': true,
    'browser.dom.window.dump.enabled': true,
    'browser.download.dir': downloadDir,
    'browser.download.folderList': 2,
    'browser.download.useDownloadDir': true,
    'browser.download.always_ask_before_handling_new_types': false,
    'browser.download.start_downloads_in_tmp_dir': false,
    'remote.prefs.recommended': true,
    'toolkit.startup.max_resumed_crashes': -1,
  };
}

function accountPrefs(a: MailAccount): Record<string, string | number | boolean> {
  const host = a.host ?? '127.0.0.1';
  const s = `mail.server.${SERVER_KEY}`;
  const i = `mail.identity.${IDENTITY_KEY}`;
  const o = `mail.smtpserver.${SMTP_KEY}`;
  return {
    'mail.accountmanager.accounts': ACCOUNT_KEY,
    'mail.accountmanager.defaultaccount': ACCOUNT_KEY,
    [`mail.account.${ACCOUNT_KEY}.identities`]: IDENTITY_KEY,
    [`mail.account.${ACCOUNT_KEY}.server`]: SERVER_KEY,
    [`${s}.type`]: 'imap',
    [`${s}.hostname`]: host,
    [`${s}.port`]: a.imapPort,
    [`${s}.userName`]: a.username,
    [`${s}.name`]: a.email,
    [`${s}.socketType`]: a.imapSocketType ?? 0,
    [`${s}.authMethod`]: 3,
    [`${s}.login_at_startup`]: false,
    [`${s}.check_new_mail`]: true,
    [`${s}.check_time`]: 1,
    [`${s}.use_idle`]: true,
    [`${s}.check_all_folders_for_new`]: true,
    [`${s}.offline_download`]: false,
    [`${i}.useremail`]: a.email,
    [`${i}.fullName`]: a.fullName ?? a.email.split('@')[0] ?? a.email,
    [`${i}.valid`]: true,
    [`${i}.smtpServer`]: SMTP_KEY,
    [`${i}.compose_html`]: false,
    [`${i}.reply_on_top`]: 0,
    [`${i}.sig_on_reply`]: false,
    [`${i}.fcc`]: false,
    [`${i}.doFcc`]: false,
    [`${i}.draft_folder`]: '',
    'mail.smtpservers': SMTP_KEY,
    'mail.smtp.defaultserver': SMTP_KEY,
    [`${o}.hostname`]: host,
    [`${o}.port`]: a.smtpPort,
    [`${o}.username`]: a.username,
    [`${o}.authMethod`]: 3,
    [`${o}.try_ssl`]: a.smtpSocketType ?? 0,
    [`${o}.description`]: 'sandbox',
  };
}

/** A Thunderbird profile on disk; removed with `remove()`. */
export interface Profile {
  readonly path: string;
  readonly downloadDir: string;
  readonly account: MailAccount | undefined;
  remove(): void;
}

/** Makes a throwaway profile: prefs, the `.xpi`, an NSS database trusting `trustedRootPem`. */
export function createProfile(options: ProfileOptions): Profile {
  const dir = makeTempDir('ocs-tb-profile');
  try {
    const downloadDir = join(dir.path, 'downloads');
    mkdirSync(downloadDir);
    mkdirSync(join(dir.path, 'extensions'));
    copyFileSync(options.xpiPath, join(dir.path, 'extensions', `${ADDON_ID}.xpi`));
    const prefs = { ...basePrefs(downloadDir), ...(options.account ? accountPrefs(options.account) : {}), ...options.extraPrefs };
    writeFileSync(join(dir.path, 'user.js'), Object.entries(prefs).map(([k, v]) => prefLine(k, v)).join('\n') + '\n');
    execFileSync('certutil', ['-N', '--empty-password', '-d', `sql:${dir.path}`], { stdio: 'pipe' });
    const sameRoot = options.emailRootPem !== undefined && options.emailRootPem.trim() === options.trustedRootPem?.trim();
    if (options.trustedRootPem !== undefined) {
      const pemPath = join(dir.path, 'trusted-root.pem');
      writeFileSync(pemPath, options.trustedRootPem);
      execFileSync('certutil', ['-A', '-n', 'E2E trusted root', '-t', sameRoot ? 'C,C,' : 'C,,', '-i', pemPath, '-d', `sql:${dir.path}`], { stdio: 'pipe' });
    }
    if (options.emailRootPem !== undefined && !sameRoot) {
      const pemPath = join(dir.path, 'email-root.pem');
      writeFileSync(pemPath, options.emailRootPem);
      execFileSync('certutil', ['-A', '-n', 'E2E e-mail root', '-t', ',C,', '-i', pemPath, '-d', `sql:${dir.path}`], { stdio: 'pipe' });
    }
    return { path: dir.path, downloadDir, account: options.account, remove: () => {
      dir.remove();
    } };
  } catch (error) {
    dir.remove();
    throw error;
  }
}

/** The PIDs of `pid`'s descendants, read from /proc (Thunderbird forks helper processes). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // the process ended while we read
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface StartOptions {
  /** Show a window on this X display instead of running headless. */
  readonly display?: string;
  readonly timeoutMs?: number;
}

/** A running Thunderbird with a Marionette session (chrome context by default). */
export class Thunderbird {
  private constructor(
    readonly profile: Profile,
    readonly process: RunningProcess,
    readonly marionette: Marionette,
    private readonly tmp: TempDir,
    readonly startedAt: number,
    private readonly chunks: readonly { readonly at: number; readonly length: number }[],
  ) {}

  get pid(): number {
    return this.process.pid;
  }

  static async start(profile: Profile, options: StartOptions = {}): Promise<Thunderbird> {
    const tmp = makeTempDir('ocs-tb-tmp');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TMPDIR: tmp.path,
      MOZ_CRASHREPORTER_DISABLE: '1',
      MOZ_DISABLE_AUTO_SAFE_MODE: '1',
      MOZ_NO_REMOTE: '1',
      XDG_CACHE_HOME: join(tmp.path, 'cache'),
    };
    // A fresh Marionette port at every start, written over the last one in user.js: the port of a
    // killed Thunderbird is free for any other process to take, another test's Thunderbird among
    // them, and this one would then be driving that one.
    const marionettePort = await freePort();
    const userJs = join(profile.path, 'user.js');
    const perStart = ['marionette.port', 'ui.popup.disable_autohide'];
    const prefs = readFileSync(userJs, 'utf8').split('\n').filter((line) => line !== '' && !perStart.some((name) => line.startsWith(`user_pref("${name}"`)));
    prefs.push(prefLine('marionette.port', marionettePort));
    // On a display without a window manager (a private Xvfb) nothing gives the main window the
    // focus, so the toolbar popup's panel closed as soon as it opened; this pref (meant for
    // inspecting popups) keeps panels open when the focus is elsewhere. Headless needs nothing.
    if (options.display !== undefined) prefs.push(prefLine('ui.popup.disable_autohide', true));
    writeFileSync(userJs, prefs.join('\n') + '\n');
    const args = ['--profile', profile.path, '--no-remote', '--marionette', '--remote-allow-system-access'];
    if (options.display === undefined) {
      args.unshift('--headless');
      delete env['DISPLAY'];
      env['MOZ_HEADLESS'] = '1';
    } else {
      env['DISPLAY'] = options.display;
      delete env['MOZ_HEADLESS'];
    }
    if (!existsSync(THUNDERBIRD)) throw new Error(`Thunderbird not found at ${THUNDERBIRD}: run scripts/setup-system.sh as root`);
    const startedAt = Date.now();
    const proc = startProcess(THUNDERBIRD, args, { env });
    // When each piece of output arrived, to time log lines (bench) without polling.
    const chunks: { at: number; length: number }[] = [];
    const note = (chunk: Buffer): void => {
      chunks.push({ at: Date.now(), length: chunk.toString().length });
    };
    proc.child.stdout?.on('data', note);
    proc.child.stderr?.on('data', note);
    let marionette: Marionette | undefined;
    try {
      await Promise.race([
        waitForPort(marionettePort, options.timeoutMs ?? 60_000),
        new Promise((_, reject) => proc.child.once('exit', (code) => {
          reject(new Error(`Thunderbird exited (${code}) before Marionette came up:\n${proc.output().slice(-4000)}`));
        })),
      ]);
      marionette = await Marionette.connect(marionettePort);
      await marionette.newSession();
      await marionette.setContext('chrome');
      // A ceiling above the scripts' own deadlines (compose, display: 50 s): on a busy machine a
      // send that passed them can still take a while to finish, and the script must not be cut.
      await marionette.setTimeouts({ script: 120_000 });
      // And make sure that it is this Thunderbird answering.
      const pid = await marionette.executeScript<number>('return Services.appinfo.processID;');
      if (pid !== proc.pid) throw new Error(`Marionette on port ${marionettePort} is process ${pid}, not the Thunderbird just started (${proc.pid})`);
      return new Thunderbird(profile, proc, marionette, tmp, startedAt, chunks);
    } catch (error) {
      marionette?.close();
      await killTree(proc);
      tmp.remove();
      throw error;
    }
  }

  /** Everything Thunderbird wrote to stdout and stderr (console.* lands here, see prefs). */
  output(): string {
    return this.process.output();
  }

  /** Resolves with the first match of `pattern` in the output; rejects after `timeoutMs`. */
  async waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.output());
      if (match) return match;
      if (this.process.child.exitCode !== null) throw new Error(`Thunderbird exited while waiting for ${pattern}:\n${this.output().slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`no ${pattern} in Thunderbird's output after ${timeoutMs} ms:\n${this.output().slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** When (epoch ms) the output first matched `pattern`, to the arrival of the chunk; undefined if it has not. */
  outputTime(pattern: RegExp): number | undefined {
    const match = pattern.exec(this.output());
    if (!match) return undefined;
    const end = match.index + match[0].length;
    let seen = 0;
    for (const chunk of this.chunks) {
      seen += chunk.length;
      if (seen >= end) return chunk.at;
    }
    return undefined;
  }

  /**
   * Runs `body` as the body of an async function in the chrome context (the main window's
   * scope; `arguments` are `args`) and returns its JSON-cloned result.
   */
  async chrome<T = unknown>(body: string, args: readonly unknown[] = []): Promise<T> {
    return this.marionette.executeScript<T>(`return (async function () {\n${body}\n}).apply(this, arguments);`, args);
  }

  /** Stores a password in the login manager, as Thunderbird's own password prompt would; replaces an older one. */
  async setPassword(origin: string, username: string, password: string): Promise<void> {
    await this.chrome(`
      const [origin, username, password] = arguments;
      const info = Cc['@mozilla.org/login-manager/loginInfo;1'].createInstance(Ci.nsILoginInfo);
      info.init(origin, null, origin, username, password, '', '');
      const old = (await Services.logins.getAllLogins()).find((l) => l.origin === origin && l.username === username);
      if (!old) await Services.logins.addLoginAsync(info);
      else if (old.password !== password) Services.logins.modifyLogin(old, info);
    `, [origin, username, password]);
  }

  /** Stores the configured account's IMAP and SMTP passwords, then logs in to IMAP and fetches the Inbox. */
  async loginAccount(): Promise<void> {
    const a = this.profile.account;
    if (!a) throw new Error('the profile has no mail account');
    const host = a.host ?? '127.0.0.1';
    await this.setPassword(`imap://${host}`, a.username, a.password);
    await this.setPassword(`smtp://${host}`, a.username, a.password);
    await this.checkMail();
  }

  /** Asks the IMAP server for new mail in the Inbox (as the Get Messages button does). */
  async checkMail(): Promise<void> {
    await this.chrome(`
      const { MailServices } = ChromeUtils.importESModule('resource:///modules/MailServices.sys.mjs');
      const server = MailServices.accounts.getIncomingServer(arguments[0]);
      const inbox = server.rootFolder.getFolderWithFlags(Ci.nsMsgFolderFlags.Inbox).QueryInterface(Ci.nsIMsgImapMailFolder);
      await new Promise((resolve, reject) => {
        inbox.updateFolderWithListener(null, {
          OnStartRunningUrl() {},
          OnStopRunningUrl(url, status) { status === 0 ? resolve() : reject(new Error('IMAP update failed: 0x' + (status >>> 0).toString(16))); },
        });
      });
    `, [SERVER_KEY]);
  }

  /** Subjects of the messages Thunderbird holds in a folder of the account (default the Inbox). */
  async folderSubjects(folderName?: string): Promise<string[]> {
    return this.chrome<string[]>(`
      const { MailServices } = ChromeUtils.importESModule('resource:///modules/MailServices.sys.mjs');
      const server = MailServices.accounts.getIncomingServer(arguments[0]);
      const folder = arguments[1]
        ? [...server.rootFolder.descendants].find((f) => f.name === arguments[1])
        : server.rootFolder.getFolderWithFlags(Ci.nsMsgFolderFlags.Inbox);
      if (!folder) return [];
      return [...folder.messages].map((m) => m.mime2DecodedSubject || m.subject);
    `, [SERVER_KEY, folderName ?? null]);
  }

  /** Writes the add-on's `storage.local` through its own extension API (see docs/E2E.md). */
  async setAddonStorage(items: Record<string, unknown>): Promise<void> {
    await this.chrome(`
      const [id, items] = arguments;
      const { ExtensionParent } = ChromeUtils.importESModule('resource://gre/modules/ExtensionParent.sys.mjs');
      const { ExtensionStorageIDB } = ChromeUtils.importESModule('resource://gre/modules/ExtensionStorageIDB.sys.mjs');
      const extension = ExtensionParent.GlobalManager.getExtension(id);
      if (!extension) throw new Error('add-on not running: ' + id);
      const db = await ExtensionStorageIDB.open(ExtensionStorageIDB.getStoragePrincipal(extension));
      const changes = await db.set(items);
      if (changes) ExtensionStorageIDB.notifyListeners(id, changes);
    `, [ADDON_ID, items]);
  }

  /**
   * Waits until the add-on has started and, with `background` (the default), its background page
   * is loaded. On a profile's first run Thunderbird loads the event page at once; on later starts
   * it may defer it until an event the page listens to fires (primed listeners), so pass false.
   */
  async waitForAddon(timeoutMs = 30_000, background = true): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const up = await this.chrome<boolean>(`
        const { ExtensionParent } = ChromeUtils.importESModule('resource://gre/modules/ExtensionParent.sys.mjs');
        const extension = ExtensionParent.GlobalManager.getExtension(arguments[0]);
        return !!extension && (!arguments[1] || [...extension.views].some((v) => v.viewType === 'background'));
      `, [ADDON_ID, background]);
      if (up) return;
      if (Date.now() > deadline) throw new Error(`the add-on${background ? "'s background" : ''} did not load within ${timeoutMs} ms:\n${this.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** How many times the background has logged its start line so far. */
  backgroundStarts(): number {
    return this.output().match(/: background started/g)?.length ?? 0;
  }

  /** Reloads the add-on (its background starts afresh, reading storage anew) and waits until it is loaded again. */
  async reloadAddon(timeoutMs = 20_000): Promise<void> {
    await this.chrome(`
      const { ExtensionParent } = ChromeUtils.importESModule('resource://gre/modules/ExtensionParent.sys.mjs');
      const { AddonManager } = ChromeUtils.importESModule('resource://gre/modules/AddonManager.sys.mjs');
      const old = ExtensionParent.GlobalManager.getExtension(arguments[0]);
      const addon = await AddonManager.getAddonByID(arguments[0]);
      await addon.reload();
      const deadline = Date.now() + arguments[1];
      for (;;) {
        const now = ExtensionParent.GlobalManager.getExtension(arguments[0]);
        if (now && now !== old && [...now.views].some((v) => v.viewType === 'background')) return;
        if (Date.now() > deadline) throw new Error('the add-on did not load again');
        await new Promise((r) => setTimeout(r, 50));
      }
    `, [ADDON_ID, timeoutMs]);
  }

  /** Removes `keys` from the add-on's storage.local, as its own `storage.local.remove` would (listeners told). */
  async removeAddonStorage(keys: readonly string[]): Promise<void> {
    await this.chrome(`
      const [id, keys] = arguments;
      const { ExtensionParent } = ChromeUtils.importESModule('resource://gre/modules/ExtensionParent.sys.mjs');
      const { ExtensionStorageIDB } = ChromeUtils.importESModule('resource://gre/modules/ExtensionStorageIDB.sys.mjs');
      const extension = ExtensionParent.GlobalManager.getExtension(id);
      if (!extension) throw new Error('add-on not running: ' + id);
      const db = await ExtensionStorageIDB.open(ExtensionStorageIDB.getStoragePrincipal(extension));
      const changes = await db.remove(keys);
      if (changes) ExtensionStorageIDB.notifyListeners(id, changes);
    `, [ADDON_ID, keys]);
  }

  /** Reads the add-on's `storage.local` (all keys). */
  async getAddonStorage(): Promise<Record<string, unknown>> {
    return this.chrome<Record<string, unknown>>(`
      const [id] = arguments;
      const { ExtensionParent } = ChromeUtils.importESModule('resource://gre/modules/ExtensionParent.sys.mjs');
      const { ExtensionStorageIDB } = ChromeUtils.importESModule('resource://gre/modules/ExtensionStorageIDB.sys.mjs');
      const extension = ExtensionParent.GlobalManager.getExtension(id);
      if (!extension) throw new Error('add-on not running: ' + id);
      const db = await ExtensionStorageIDB.open(ExtensionStorageIDB.getStoragePrincipal(extension));
      return JSON.parse(JSON.stringify(await db.get(null)));
    `, [ADDON_ID]);
  }

  /** The add-on's toolbar button in the main window (chrome context). */
  async toolbarButton(): Promise<ElementRef> {
    return this.marionette.findElement(`#unifiedToolbarContent [extension="${ADDON_ID}"]`);
  }

  /**
   * Clicks the toolbar button and waits until the popup's page has loaded and `readySelector`
   * exists in it. The popup is a remote `<browser class="webextension-popup-browser">` in a panel
   * of the main window (see docs/E2E.md).
   */
  async openPopup(readySelector = 'main', timeoutMs = 15_000): Promise<void> {
    const ready = `return content.document.readyState === 'complete' && content.document.querySelector(${JSON.stringify(readySelector)}) !== null;`;
    // A click can land while the window is still being activated (with a display) and open
    // nothing; click again only if no popup came up meanwhile.
    for (let attempt = 1; ; attempt++) {
      await this.marionette.click(await this.toolbarButton());
      try {
        await this.waitInPopup(ready, attempt < 3 ? 4000 : timeoutMs);
        return;
      } catch (error) {
        if (attempt >= 3 || await this.popupOpen()) {
          if (await this.popupOpen()) {
            await this.waitInPopup(ready, timeoutMs);
            return;
          }
          throw error;
        }
      }
    }
  }

  /** Whether a popup of the add-on is open. */
  async popupOpen(): Promise<boolean> {
    return this.chrome<boolean>(`
      const win = Services.wm.getMostRecentWindow('mail:3pane');
      return [...win.document.querySelectorAll('browser.webextension-popup-browser')]
        .some((b) => b.currentURI && b.currentURI.spec.startsWith(arguments[0]));
    `, [ADDON_BASE_URL]);
  }

  /** Closes the popup's panel, as Escape or a click elsewhere would. */
  async closePopup(): Promise<void> {
    await this.chrome(`
      const win = Services.wm.getMostRecentWindow('mail:3pane');
      for (const panel of win.document.querySelectorAll('panel')) if (panel.state === 'open' || panel.state === 'showing') panel.hidePopup();
    `);
  }

  /**
   * Runs `body` as an async function inside the popup's page (its own process) through a frame
   * script: `content` is the popup's window (an Xray: DOM access, clicks and events work; page
   * globals need `content.wrappedJSObject`), `args` are the arguments. Returns the JSON-cloned
   * result. Rejects if there is no popup or the script throws.
   */
  async popup<T = unknown>(body: string, args: readonly unknown[] = [], timeoutMs = 10_000): Promise<T> {
    return this.chrome<T>(`
      const [body, args, addonUrl, timeoutMs] = arguments;
      const win = Services.wm.getMostRecentWindow('mail:3pane');
      const browser = [...win.document.querySelectorAll('browser.webextension-popup-browser')]
        .filter((b) => b.currentURI && b.currentURI.spec.startsWith(addonUrl)).at(-1);
      if (!browser) throw new Error('no popup is open');
      const mm = browser.messageManager;
      const topic = 'e2e-popup:' + Services.uuid.generateUUID().toString();
      return await new Promise((resolve, reject) => {
        const timer = win.setTimeout(() => { mm.removeMessageListener(topic, listener); reject(new Error('popup script timed out')); }, timeoutMs);
        const listener = { receiveMessage(message) {
          mm.removeMessageListener(topic, listener);
          win.clearTimeout(timer);
          if ('error' in message.data) reject(new Error('in the popup: ' + message.data.error)); else resolve(message.data.value);
        } };
        mm.addMessageListener(topic, listener);
        const script = '(async () => { const topic = ' + JSON.stringify(topic) + '; try {'
          + ' const value = await (async function () {\\n' + body + '\\n}).apply(content, ' + JSON.stringify(args) + ');'
          + ' sendAsyncMessage(topic, { value: value === undefined ? null : JSON.parse(JSON.stringify(value)) });'
          + ' } catch (e) { sendAsyncMessage(topic, { error: String(e && e.stack ? e + "\\\\n" + e.stack : e) }); } })();';
        mm.loadFrameScript('data:application/javascript;charset=utf-8,' + encodeURIComponent(script), false);
      });
    `, [body, args, ADDON_BASE_URL, timeoutMs]);
  }

  /**
   * A PNG of the popup's page as it is drawn (the parent process asks the popup's process for a
   * snapshot: `WindowGlobalParent.drawSnapshot`), headless or not; `top` (CSS pixels) shows a
   * lower part of a page taller than the popup.
   */
  async popupScreenshot(top = 0): Promise<Buffer> {
    const dataUrl = await this.chrome<string>(`
      const win = Services.wm.getMostRecentWindow('mail:3pane');
      const browser = [...win.document.querySelectorAll('browser.webextension-popup-browser')]
        .filter((b) => b.currentURI && b.currentURI.spec.startsWith(arguments[0])).at(-1);
      if (!browser) throw new Error('no popup is open');
      const rect = browser.getBoundingClientRect();
      // The rectangle is in the page's CSS pixels from its top, whatever it is scrolled to.
      const bitmap = await browser.browsingContext.currentWindowGlobal.drawSnapshot(
        new win.DOMRect(0, arguments[1], rect.width, rect.height), win.devicePixelRatio, 'white');
      const canvas = win.document.createElementNS('http://www.w3.org/1999/xhtml', 'canvas');
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
      canvas.getContext('2d').drawImage(bitmap, 0, 0);
      return canvas.toDataURL('image/png');
    `, [ADDON_BASE_URL, top]);
    return Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64');
  }

  /** Polls `predicateBody` (a popup function body returning a truthy value) until it holds. */
  async waitInPopup<T = unknown>(predicateBody: string, timeoutMs = 15_000, args: readonly unknown[] = []): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const value = await this.popup<T>(predicateBody, args);
        if (value) return value;
        last = value;
      } catch (error) {
        last = error;
      }
      if (Date.now() > deadline) {
        throw new Error(`popup condition not met after ${timeoutMs} ms: ${predicateBody}\nlast: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The text of the element `selector` in the popup, or null if there is none. */
  async popupText(selector: string): Promise<string | null> {
    return this.popup<string | null>('const el = content.document.querySelector(arguments[0]); return el ? el.textContent : null;', [selector]);
  }

  /** Clicks the element `selector` in the popup (a DOM click, as a mouse click would dispatch). */
  async popupClick(selector: string): Promise<void> {
    await this.popup(`
      const el = content.document.querySelector(arguments[0]);
      if (!el) throw new Error('no ' + arguments[0] + ' in the popup');
      if (el.disabled) throw new Error(arguments[0] + ' is disabled');
      el.click();
    `, [selector]);
  }

  /** Sets an input's or select's value in the popup and fires `input` and `change`, as typing would. */
  async popupSetValue(selector: string, value: string | boolean): Promise<void> {
    await this.popup(`
      const [selector, value] = arguments;
      const el = content.document.querySelector(selector);
      if (!el) throw new Error('no ' + selector + ' in the popup');
      if (typeof value === 'boolean') el.checked = value; else el.value = value;
      el.dispatchEvent(new content.Event('input', { bubbles: true }));
      el.dispatchEvent(new content.Event('change', { bubbles: true }));
    `, [selector, value]);
  }

  /** Quits Thunderbird gracefully (prefs are saved), then makes sure nothing of it is left. */
  async stop(): Promise<void> {
    const helpers = descendants(this.pid);
    try {
      await Promise.race([
        this.marionette.send('Marionette:Quit', { flags: ['eForceQuit'] }),
        new Promise((r) => setTimeout(r, 10_000)),
      ]);
    } catch {
      // the connection drops as Thunderbird exits
    }
    this.marionette.close();
    const exited = await waitExit(this.process, 20_000);
    if (!exited) await this.process.stop(3000);
    killPids(helpers);
    this.tmp.remove();
  }

  /** Kills Thunderbird at once (SIGKILL), as a crash or power loss would: nothing is saved. */
  async kill(): Promise<void> {
    const helpers = descendants(this.pid);
    this.marionette.close();
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await waitExit(this.process, 10_000);
    killPids(helpers);
    this.tmp.remove();
  }
}

async function waitExit(proc: RunningProcess, timeoutMs: number): Promise<boolean> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      resolve(false);
    }, timeoutMs);
    proc.child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    if (!alive(pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

async function killTree(proc: RunningProcess): Promise<void> {
  const helpers = descendants(proc.pid);
  await proc.stop(2000);
  killPids(helpers);
}

/** PIDs of live processes whose command line contains `profilePath` (for "nothing left behind" checks). */
export function thunderbirdPidsFor(profilePath: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (cmdline.includes(profilePath)) out.push(Number(name));
    } catch {
      // ended
    }
  }
  return out;
}
