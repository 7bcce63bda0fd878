// TEMPORARY smoke test of the whole flow in real Thunderbird, not committed.
import { writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { startWorld } from '../e2e/world';
import { certificates, enrollments } from '../e2e/drive';

it('enrolls, shows, revokes through the popup in a real Thunderbird', async () => {
  const world = await startWorld({ settings: { debugLog: true } });
  const { tb, user } = world;
  const interesting = () => tb.output().split('\n').filter((l) => /one-click|JavaScript|error|Error/i.test(l) && !/Gtk|glib|remote-settings|Glean|GraphicsCritical/.test(l)).slice(-30).join('\n');
  try {
    await tb.openPopup('#identity-select');
    await tb.waitInPopup(`return content.document.querySelector('#popup').dataset.ready === 'true' && !content.document.querySelector('#start-form').hidden;`, 15_000);
    writeFileSync('/tmp/popup-start.png', await tb.popupScreenshot());
    await tb.popupClick('#terms-agree');
    await tb.popupClick('#start');
    await tb.waitInPopup(`return !content.document.querySelector('#generated-passphrase').hidden;`, 20_000);
    const t0 = Date.now();
    let e;
    for (;;) {
      e = (await enrollments(tb)).find((x) => x.email === user.email);
      const starts = tb.output().split('\n').filter((l) => l.includes('background started')).length;
      console.log(`t=${Math.round((Date.now() - t0) / 1000)}s step=${e?.step} starts=${starts}`);
      if (e && ['installed', 'failed'].includes(e.step)) break;
      if (Date.now() - t0 > 120_000) break;
      await new Promise((r) => setTimeout(r, 3000));
    }
    expect(e?.step).toBe('installed');
    await tb.waitInPopup(`return !content.document.querySelector('#certificate').hidden;`, 10_000);
    writeFileSync('/tmp/popup-installed.png', await tb.popupScreenshot());
    console.log('steps li', await tb.popup(`return [...content.document.querySelectorAll('#steps li')].map((li) => li.textContent);`));
    console.log('cert', await tb.popup(`return ['cert-emails','cert-usage','cert-expiry','cert-fingerprint','cert-renew-at'].map((id) => content.document.getElementById(id).textContent);`));
    await tb.popupClick('#revoke');
    await tb.popup(`content.document.getElementById('revoke-reason').value = '4';`);
    await tb.popupClick('#revoke-confirm');
    await tb.waitInPopup(`return !content.document.querySelector('#cert-revoked').hidden;`, 20_000);
    console.log('status', await tb.popupText('#status'), await tb.popupText('#cert-revoked'));
    const certs = await certificates(tb);
    expect(certs[0]?.revoked?.reason).toBe(4);
    writeFileSync('/tmp/popup-revoked.png', await tb.popupScreenshot());
    console.log(interesting());
  } catch (error) {
    console.log(interesting());
    throw error;
  } finally {
    await world.dispose();
  }
}, 200_000);
