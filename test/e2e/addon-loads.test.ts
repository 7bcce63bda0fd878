/**
 * The built `.xpi` starts in a real, headless Thunderbird: background up, toolbar button present,
 * the popup opens and lists the configured identity; options preset through storage.local reach
 * the add-on; the IMAP password set through the login manager is the one Thunderbird will use.
 */
import { createServer, type Server } from 'node:https';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueServerCert, makeTestCa, type TestCa } from '../helpers/openssl';
import { freePort, makeTempDir, type TempDir } from '../helpers/process';
import { nssCertificates, readPrefs } from '../../scripts/harness/checks';
import { popupVisible } from '../../scripts/harness/drive';
import { ADDON_ID, IDENTITY_KEY, SERVER_KEY, Thunderbird, buildXpi, createProfile, packageVersion, thunderbirdPidsFor, type Profile } from '../../scripts/harness/thunderbird';

describe('the built add-on in a real Thunderbird', () => {
  let build: TempDir | undefined;
  let profile: Profile | undefined;
  let tb: Thunderbird | undefined;
  let ca: TestCa | undefined;
  let https: Server | undefined;
  let httpsPort = 0;
  const email = 'carol@example.test';
  // The ACME directory this server hands out waits for `releaseDirectory` (the test of the
  // popup's terms): a CA slow to answer, made deterministic.
  let releaseDirectory: () => void = () => undefined;
  let directoryReleased = Promise.resolve();
  let directoryRequests = 0;

  beforeAll(async () => {
    build = makeTempDir('ocs-e2e-build');
    const xpi = buildXpi(build.path);
    ca = makeTestCa(build.path, 'E2E Test Root');
    const tls = issueServerCert(ca, build.path);
    https = createServer({ cert: readFileSync(tls.certPath), key: readFileSync(tls.keyPath) }, (req, res) => {
      if (req.url !== '/directory') {
        res.end('trusted');
        return;
      }
      directoryRequests++;
      const base = `https://127.0.0.1:${httpsPort}`;
      void directoryReleased.then(() => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({
          newNonce: `${base}/nonce`, newAccount: `${base}/account`, newOrder: `${base}/order`,
          revokeCert: `${base}/revoke`, keyChange: `${base}/key-change`,
          meta: { termsOfService: `${base}/terms.pdf` },
        }));
      });
    });
    httpsPort = await freePort();
    await new Promise<void>((resolve) => {
      https?.listen(httpsPort, '127.0.0.1', resolve);
    });
    profile = createProfile({
      xpiPath: xpi,
      trustedRootPem: ca.certPem,
      // Nothing listens on these ports: login_at_startup is off and this suite never fetches mail.
      account: { email, username: email, password: 'not-sent-anywhere', imapPort: await freePort(), smtpPort: await freePort() },
    });
    tb = await Thunderbird.start(profile);
  });

  afterAll(async () => {
    await tb?.stop();
    await new Promise<void>((resolve) => {
      if (https) https.close(() => {
        resolve();
      });
      else resolve();
    });
    const path = profile?.path;
    try {
      if (path !== undefined) {
        expect(thunderbirdPidsFor(path)).toEqual([]);
        // Checked from outside, after the quit flushed them.
        expect(nssCertificates(path)).toContainEqual({ nickname: 'E2E trusted root', trust: 'C,,' });
        expect(readPrefs(path).get(`mail.identity.${IDENTITY_KEY}.useremail`)).toBe(email);
      }
    } finally {
      profile?.remove();
      build?.remove();
    }
  });

  function thunderbird(): Thunderbird {
    if (!tb) throw new Error('Thunderbird did not start');
    return tb;
  }

  it('starts the background, which logs its start line with the package version', async () => {
    const match = await thunderbird().waitForOutput(/One-Click S\/MIME (\S+): background started/, 20_000);
    expect(match[1]).toBe(packageVersion());
  });

  it('puts its button in the main window toolbar', async () => {
    const info = await thunderbird().chrome<{ extension: string | null; label: string | null } | null>(`
      const win = Services.wm.getMostRecentWindow('mail:3pane');
      const button = win.document.querySelector('#unifiedToolbarContent [extension="' + arguments[0] + '"]');
      return button ? { extension: button.getAttribute('extension'), label: button.getAttribute('label') } : null;
    `, [ADDON_ID]);
    expect(info).not.toBeNull();
    expect(info?.extension).toBe(ADDON_ID);
    expect(info?.label).toBeTruthy();
  });

  it('opens the popup from the toolbar button, listing the configured identity', async () => {
    const t = thunderbird();
    await t.openPopup('#identity-select');
    const addresses = await t.waitInPopup<string[]>(`
      const options = [...content.document.querySelectorAll('#identity-select option')].map((o) => o.textContent);
      return options.length > 0 ? options : null;
    `);
    expect(addresses).toContain(email);
    const url = await t.popup<string>('return content.document.URL;');
    expect(url).toMatch(/^moz-extension:\/\/[^/]+\/popup\/popup\.html$/);
    await t.closePopup();
  });

  it('sees options preset from chrome through storage.local', async () => {
    const t = thunderbird();
    const settings = { directoryUrl: 'https://127.0.0.1:9/directory', dohUrl: 'https://127.0.0.1:9/dns-query' };
    await t.setAddonStorage({ settings });
    expect((await t.getAddonStorage())['settings']).toEqual(settings);
    // Read back by the add-on itself, through its own storage API, in its own process.
    await t.openPopup('main');
    const seen = await t.popup(`
      const page = content.wrappedJSObject;
      const got = await page.browser.storage.local.get('settings');
      return JSON.parse(page.JSON.stringify(got.settings));
    `);
    expect(seen).toEqual(settings);
    await t.closePopup();
  });

  it('trusts the given root for TLS, as the add-on\'s fetch to the CA needs', async () => {
    const body = await thunderbird().chrome<string>(`
      const response = await fetch(arguments[0]);
      return response.text();
    `, [`https://127.0.0.1:${httpsPort}/`]);
    expect(body).toBe('trusted');
  });

  it('keeps Start disabled until the CA\'s terms are read, then asks to accept them', async () => {
    const t = thunderbird();
    directoryReleased = new Promise((resolve) => {
      releaseDirectory = resolve;
    });
    const before = directoryRequests;
    await t.setAddonStorage({ settings: { directoryUrl: `https://127.0.0.1:${httpsPort}/directory`, dohUrl: `https://127.0.0.1:${httpsPort}/dns-query` } });
    await t.openPopup('main');
    await expect.poll(() => popupVisible(t, '#start-form')).toBe(true);
    // The CA has the request and has not answered: nothing may be agreed to or started yet.
    await expect.poll(() => directoryRequests).toBeGreaterThan(before);
    const waiting = {
      startDisabled: await t.popup<boolean>('return content.document.querySelector("#start").disabled;'),
      reading: await popupVisible(t, '#ca-reading'),
      readingText: await t.popupText('#ca-reading'),
      terms: await popupVisible(t, '#terms'),
      ready: await t.popup<string>('return content.document.querySelector("#popup").dataset.ready;'),
    };
    expect(waiting).toEqual({ startDisabled: true, reading: true, readingText: "Reading the certificate authority's terms…", terms: false, ready: 'false' });
    releaseDirectory();
    await t.waitInPopup('return content.document.querySelector("#popup").dataset.ready === "true";');
    const read = {
      startDisabled: await t.popup<boolean>('return content.document.querySelector("#start").disabled;'),
      reading: await popupVisible(t, '#ca-reading'),
      terms: await popupVisible(t, '#terms'),
      link: await t.popup<string>('return content.document.querySelector("#terms-link").href;'),
      agreed: await t.popup<boolean>('return content.document.querySelector("#terms-agree").checked;'),
    };
    expect(read).toEqual({ startDisabled: false, reading: false, terms: true, link: `https://127.0.0.1:${httpsPort}/terms.pdf`, agreed: false });
    // Start without ticking the box: the popup asks for it and no enrollment is made.
    await t.popupClick('#start');
    await t.waitInPopup('return content.document.querySelector("#status").textContent === "Please accept the terms of service first.";');
    expect(Object.keys(await t.getAddonStorage()).filter((k) => k.startsWith('enrollment:'))).toEqual([]);
    await t.closePopup();
  });

  it('uses the IMAP password stored through the login manager', async () => {
    const t = thunderbird();
    await t.setPassword('imap://127.0.0.1', email, 's3cret-imap');
    const password = await t.chrome<string>(`
      const { MailServices } = ChromeUtils.importESModule('resource:///modules/MailServices.sys.mjs');
      const server = MailServices.accounts.getIncomingServer(arguments[0]);
      // Looks in the login manager first and prompts only when nothing is stored there.
      return server.getPasswordWithUI('E2E: the password should have come from the login manager', 'E2E');
    `, [SERVER_KEY]);
    expect(password).toBe('s3cret-imap');
    const cached = await t.chrome<string>(`
      const { MailServices } = ChromeUtils.importESModule('resource:///modules/MailServices.sys.mjs');
      return MailServices.accounts.getIncomingServer(arguments[0]).password;
    `, [SERVER_KEY]);
    expect(cached).toBe('s3cret-imap');
  });
});
