/* Privileged Experiment (parent scope): Thunderbird's certificate database and identity prefs.
 * A classic script, not a module; kept as small as possible (STYLE.md practice 12).
 * Errors are rethrown as ExtensionError, or the add-on only sees "An unexpected error occurred". */
'use strict';

var { ExtensionError } = ExtensionUtils;
var { MailServices } = ChromeUtils.importESModule('resource:///modules/MailServices.sys.mjs');

function decodeBase64(text) {
  // atob does not exist in this scope; ChromeUtils has a base64 decoder for URL-safe input only.
  return ChromeUtils.base64URLDecode(text.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''), { padding: 'reject' });
}

function certDb() {
  return Cc['@mozilla.org/security/x509certdb;1'].getService(Ci.nsIX509CertDB);
}

function identityById(identityId) {
  const identity = MailServices.accounts.getIdentity(identityId);
  if (!identity || !identity.email) throw new ExtensionError(`No identity with id ${identityId}`);
  return identity;
}

// Thunderbird looks this global up by the name in manifest.json's experiment_apis.
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- read by Thunderbird, not by this file
var smimeStore = class extends ExtensionAPI {
  getAPI() {
    return {
      smimeStore: {
        async importPkcs12(pkcs12Base64, passphrase, email, sha256Fingerprint) {
          const bytes = decodeBase64(pkcs12Base64);
          const file = Services.dirsvc.get('TmpD', Ci.nsIFile);
          file.append('one-click-smime.p12');
          file.createUnique(Ci.nsIFile.NORMAL_FILE_TYPE, 0o600);
          try {
            await IOUtils.write(file.path, bytes);
            const status = certDb().importPKCS12File(file, passphrase);
            if (status !== 0) throw new ExtensionError(`PKCS#12 import failed with status ${status}`);
          } catch (error) {
            if (error instanceof ExtensionError) throw error;
            throw new ExtensionError(`PKCS#12 import failed: ${error && error.message ? error.message : String(error)}`);
          } finally {
            if (file.exists()) file.remove(false);
          }
          const wanted = sha256Fingerprint.replace(/:/g, '').toUpperCase();
          for (const cert of certDb().getCerts()) {
            if (cert.sha256Fingerprint.replace(/:/g, '').toUpperCase() === wanted) {
              return { dbKey: cert.dbKey, name: cert.displayName, email: cert.emailAddress };
            }
          }
          throw new ExtensionError(`Imported, but no certificate for ${email} with that fingerprint was found`);
        },

        async setIdentityCertificates(identityId, dbKey, certName, forSigning, forEncryption) {
          try {
            const identity = identityById(identityId);
            if (forSigning) {
              identity.setUnicharAttribute('signing_cert_name', certName);
              identity.setCharAttribute('signing_cert_dbkey', dbKey);
            }
            if (forEncryption) {
              identity.setUnicharAttribute('encryption_cert_name', certName);
              identity.setCharAttribute('encryption_cert_dbkey', dbKey);
            }
          } catch (error) {
            if (error instanceof ExtensionError) throw error;
            throw new ExtensionError(`Could not set the identity's certificate: ${error && error.message ? error.message : String(error)}`);
          }
        },

        async getIdentityCertificates(identityId) {
          const identity = identityById(identityId);
          return {
            signingDbKey: identity.getCharAttribute('signing_cert_dbkey') || null,
            encryptionDbKey: identity.getCharAttribute('encryption_cert_dbkey') || null,
          };
        },
      },
    };
  }
};
