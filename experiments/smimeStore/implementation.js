/* Privileged Experiment (parent scope): Thunderbird's certificate database and identity prefs.
 * A classic script, not a module; kept as small as possible.
 * Errors are rethrown as ExtensionError, or the add-on only sees "An unexpected error occurred"
 * (docs/ADDON.md, "Thunderbird facts"). The WebExtension identity id is the identity's key in MailServices.accounts. */
'use strict';

// Imported rather than taken from the sandbox's globals: which globals an Experiment script
// gets has changed between Gecko versions; the module is stable.
var { ExtensionError } = ChromeUtils.importESModule('resource://gre/modules/ExtensionUtils.sys.mjs').ExtensionUtils;
var { MailServices } = ChromeUtils.importESModule('resource:///modules/MailServices.sys.mjs');

function messageOf(error) {
  return error && error.message ? error.message : String(error);
}

/** base64 → bytes. `atob` does not exist in this scope (docs/ADDON.md); ChromeUtils decodes base64url. */
function decodeBase64(text) {
  const url = text.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return new Uint8Array(ChromeUtils.base64URLDecode(url, { padding: 'reject' }));
}

async function writeBytes(file, bytes) {
  if (typeof IOUtils !== 'undefined') {
    await IOUtils.write(file.path, bytes);
    return;
  }
  // Older scopes without IOUtils: a plain XPCOM file stream (write, create, truncate; mode 0600).
  const stream = Cc['@mozilla.org/network/file-output-stream;1'].createInstance(Ci.nsIFileOutputStream);
  stream.init(file, 0x02 | 0x08 | 0x20, 0o600, 0);
  const binary = Cc['@mozilla.org/binaryoutputstream;1'].createInstance(Ci.nsIBinaryOutputStream);
  binary.setOutputStream(stream);
  binary.writeByteArray(Array.from(bytes));
  binary.close();
  stream.close();
}

function certDb() {
  return Cc['@mozilla.org/security/x509certdb;1'].getService(Ci.nsIX509CertDB);
}

function identityById(identityId) {
  const identity = MailServices.accounts.getIdentity(identityId);
  if (!identity || !identity.email) throw new ExtensionError(`No identity with id ${identityId}`);
  return identity;
}

function rethrow(what, error) {
  if (error instanceof ExtensionError) throw error;
  throw new ExtensionError(`${what}: ${messageOf(error)}`);
}

function normalizedFingerprint(text) {
  return String(text).replace(/:/g, '').toUpperCase();
}

/** The certificate in NSS's database with this SHA-256 fingerprint, or null. */
function certByFingerprint(sha256Fingerprint) {
  const wanted = normalizedFingerprint(sha256Fingerprint);
  for (const cert of certDb().getCerts()) {
    if (normalizedFingerprint(cert.sha256Fingerprint) === wanted) return cert;
  }
  return null;
}

function describe(cert) {
  return {
    subject: cert.subjectName,
    issuer: cert.issuerName,
    sha256Fingerprint: cert.sha256Fingerprint,
    der: cert.getBase64DERString(),
    builtInRoot: Boolean(cert.isBuiltInRoot),
  };
}

/**
 * NSS's verdict for one usage, local only (no OCSP fetch), at the current time: what Thunderbird
 * itself checks before it signs (email signer) or encrypts to the certificate (email recipient).
 */
function verifyForUsage(cert, usage) {
  return new Promise((resolve) => {
    certDb().asyncVerifyCertAtTime(cert, usage, Ci.nsIX509CertDB.FLAG_LOCAL_ONLY, '', Math.floor(Date.now() / 1000), [], {
      verifyCertFinished(errorCode, chain) {
        if (!errorCode) {
          resolve({ ok: true, errorCode: 0, errorName: '', errorMessage: '', chain: (chain || []).map(describe) });
          return;
        }
        const errors = Cc['@mozilla.org/nss_errors_service;1'].getService(Ci.nsINSSErrorsService);
        let errorName = '';
        let errorMessage = '';
        try {
          if (errors.isNSSErrorCode(errorCode)) {
            const xpcom = errors.getXPCOMFromNSSError(errorCode);
            errorName = errors.getErrorName(xpcom);
            errorMessage = errors.getErrorMessage(xpcom);
          }
        } catch {
          // The numeric code still says what failed.
        }
        resolve({ ok: false, errorCode, errorName, errorMessage, chain: [] });
      },
    });
  });
}

// Thunderbird looks this global up by the name in manifest.json's experiment_apis.
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- read by Thunderbird, not by this file
var smimeStore = class extends ExtensionAPI {
  getAPI() {
    return {
      smimeStore: {
        async importPkcs12(pkcs12Base64, passphrase, email, sha256Fingerprint) {
          let file = null;
          try {
            const bytes = decodeBase64(pkcs12Base64);
            // importPKCS12File reads a file only: a unique 0600 temp file, always deleted.
            file = Services.dirsvc.get('TmpD', Ci.nsIFile);
            file.append('one-click-smime.p12');
            file.createUnique(Ci.nsIFile.NORMAL_FILE_TYPE, 0o600);
            await writeBytes(file, bytes);
            const status = certDb().importPKCS12File(file, passphrase);
            if (status !== 0) throw new ExtensionError(`PKCS#12 import failed with status ${status}`);
          } catch (error) {
            rethrow('PKCS#12 import failed', error);
          } finally {
            try {
              if (file && file.exists()) file.remove(false);
            } catch {
              // Nothing more can be done here; the file was created 0600 in the profile's temp dir.
            }
          }
          try {
            // Found by fingerprint, so a same-address certificate from elsewhere is never picked.
            const cert = certByFingerprint(sha256Fingerprint);
            if (cert) return { dbKey: cert.dbKey, name: cert.displayName, email: cert.emailAddress || email };
          } catch (error) {
            rethrow('Looking up the imported certificate failed', error);
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
            rethrow("Could not set the identity's certificate", error);
          }
        },

        async clearIdentityCertificates(identityId, dbKey) {
          try {
            const identity = identityById(identityId);
            // Only what this certificate set: a certificate the user chose since stays.
            for (const use of ['signing', 'encryption']) {
              if (identity.getCharAttribute(`${use}_cert_dbkey`) === dbKey) {
                identity.setCharAttribute(`${use}_cert_dbkey`, '');
                identity.setUnicharAttribute(`${use}_cert_name`, '');
                // Without the certificate, signing or encrypting by default would only make
                // every send fail: switched off with it.
                if (use === 'signing') identity.signMail = false;
                else identity.encryptionPolicy = 0;
              }
            }
          } catch (error) {
            rethrow("Could not clear the identity's certificate", error);
          }
        },

        async getIdentityCertificates(identityId) {
          try {
            const identity = identityById(identityId);
            return {
              signingDbKey: identity.getCharAttribute('signing_cert_dbkey') || null,
              encryptionDbKey: identity.getCharAttribute('encryption_cert_dbkey') || null,
              signMail: Boolean(identity.signMail),
              encryptionPolicy: identity.encryptionPolicy,
            };
          } catch (error) {
            rethrow("Could not read the identity's certificates", error);
          }
          return null;
        },

        async verifyCertificate(dbKey) {
          let cert = null;
          try {
            cert = certDb().findCertByDBKey(dbKey);
          } catch (error) {
            rethrow('Looking up the certificate failed', error);
          }
          if (!cert) throw new ExtensionError('The certificate is not in Thunderbird\'s certificate store');
          try {
            const [signing, encryption] = await Promise.all([
              verifyForUsage(cert, Ci.nsIX509CertDB.verifyUsageEmailSigner),
              verifyForUsage(cert, Ci.nsIX509CertDB.verifyUsageEmailRecipient),
            ]);
            return { signing, encryption };
          } catch (error) {
            rethrow('Verifying the certificate failed', error);
          }
          return null;
        },

        async findIssuerCandidates(derBase64) {
          try {
            const issuerName = certDb().constructX509FromBase64(derBase64).issuerName;
            return [...certDb().getCerts()].filter((cert) => cert.subjectName === issuerName).map(describe);
          } catch (error) {
            rethrow('Searching the certificate store failed', error);
          }
          return [];
        },

        async addCaCertificates(derBase64List) {
          try {
            for (const der of derBase64List) {
              const cert = certDb().constructX509FromBase64(der);
              // Already there (e.g. from the PKCS#12): its trust stays as it is.
              if (certByFingerprint(cert.sha256Fingerprint)) continue;
              // No trust of their own: an intermediate is trusted only through its root.
              certDb().addCertFromBase64(der, ',,');
            }
          } catch (error) {
            rethrow('Adding the intermediate certificates failed', error);
          }
        },

        async trustRootForEmail(derBase64, sha256Fingerprint) {
          try {
            const candidate = certDb().constructX509FromBase64(derBase64);
            if (normalizedFingerprint(candidate.sha256Fingerprint) !== normalizedFingerprint(sha256Fingerprint)) {
              throw new ExtensionError('The root certificate does not have the fingerprint the user approved');
            }
            if (candidate.subjectName !== candidate.issuerName) throw new ExtensionError('Not a root certificate (not self-issued)');
            const existing = certByFingerprint(sha256Fingerprint);
            if (!existing) {
              // Trusted to issue mail certificates only ("C" in the e-mail field); nothing for TLS.
              certDb().addCertFromBase64(derBase64, ',C,');
              return;
            }
            // Keep its other trust (e.g. for TLS) as it was; add the e-mail trust.
            const db = certDb();
            const ssl = db.isCertTrusted(existing, Ci.nsIX509Cert.CA_CERT, Ci.nsIX509CertDB.TRUSTED_SSL);
            db.setCertTrust(existing, Ci.nsIX509Cert.CA_CERT, (ssl ? Ci.nsIX509CertDB.TRUSTED_SSL : 0) | Ci.nsIX509CertDB.TRUSTED_EMAIL);
          } catch (error) {
            rethrow('Trusting the root for e-mail failed', error);
          }
        },

        async exportPkcs12(dbKey, passphrase) {
          let file = null;
          try {
            const cert = certDb().findCertByDBKey(dbKey);
            if (!cert) throw new ExtensionError('The certificate is not in Thunderbird\'s certificate store');
            // exportPKCS12File writes a file only: a unique 0600 temp file, read back and always deleted.
            file = Services.dirsvc.get('TmpD', Ci.nsIFile);
            file.append('one-click-smime-export.p12');
            file.createUnique(Ci.nsIFile.NORMAL_FILE_TYPE, 0o600);
            const status = certDb().exportPKCS12File(file, [cert], passphrase);
            if (status !== 0) throw new ExtensionError(`PKCS#12 export failed with status ${status}`);
            const bytes = await IOUtils.read(file.path);
            return ChromeUtils.base64URLEncode(bytes, { pad: false });
          } catch (error) {
            rethrow('PKCS#12 export failed', error);
          } finally {
            try {
              if (file && file.exists()) file.remove(false);
            } catch {
              // Nothing more can be done here; the file was created 0600 in the profile's temp dir.
            }
          }
          return '';
        },

        async setIdentitySendDefaults(identityId, signMail, encryptionPolicy) {
          try {
            const identity = identityById(identityId);
            identity.signMail = signMail;
            identity.encryptionPolicy = encryptionPolicy;
          } catch (error) {
            rethrow("Could not set the identity's signing and encryption defaults", error);
          }
        },
      },
    };
  }
};
