/**
 * The background event page. Thunderbird may stop it at any moment (MV3), so every listener is
 * registered synchronously at top level and all state lives in storage (DESIGN.md).
 */

const manifest = messenger.runtime.getManifest();
console.info(`${manifest.name} ${manifest.version}: background started`);
