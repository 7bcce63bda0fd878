/**
 * The enrollment ports over Thunderbird's MailExtension APIs (docs/ADDON.md, "Thunderbird facts").
 * Thin on purpose: every decision is in src/enroll and the core folders.
 */
import {
  PortError,
  type CertStorePort,
  type DownloadPort,
  type InstalledCertificate,
  type MailboxPort,
  type MailRef,
  type Notifier,
  type ReplyPort,
  type StoragePort,
  type StoreCertificate,
  type Usage,
  type UsageVerification,
} from '../enroll/ports';
import { parseAddressList } from '../messages/index';
import { base64Decode as base64ToBytes, base64Encode as bytesToBase64, base64UrlDecode } from '../common/encoding';
import { composeMismatches, type ComposeView } from '../enroll/mail/read-back';
import { noticeText } from './notice-text';
import { smimeStore, type RawCertificate, type RawVerification } from './smime-store';

export function storageArea(area: messenger.storage.StorageArea): StoragePort {
  return {
    get: (keys) => area.get([...keys]),
    getAll: () => area.get(),
    set: (items) => area.set(items),
    remove: (keys) => area.remove([...keys]),
  };
}

/** The administrator's policy (enterprise policies → storage.managed); {} when there is none. */
export async function managedSettings(): Promise<Record<string, unknown>> {
  try {
    return await messenger.storage.managed.get();
  } catch {
    // No policy installed: Thunderbird rejects the read rather than returning nothing.
    return {};
  }
}

function mailRef(header: messenger.messages.MessageHeader): MailRef {
  return {
    id: header.id,
    headerMessageId: header.headerMessageId,
    subject: header.subject,
    author: header.author,
    date: new Date(header.date).getTime(),
    ...(header.folder?.path === undefined ? {} : { folder: header.folder.path }),
  };
}

export function mailRefs(list: messenger.messages.MessageList): MailRef[] {
  return list.messages.map(mailRef);
}

/** Bounds the start-up scan: a challenge is never among thousands of recent mails. */
const MAX_SCANNED = 500;

export const mailbox: MailboxPort = {
  async recent(since) {
    // Only subjects containing "ACME:" (Thunderbird matches decoded subjects); every folder.
    const first = await messenger.messages.query({ fromDate: new Date(since), subject: 'ACME:' });
    if (typeof first === 'string') return [];
    const out = mailRefs(first);
    let listId = first.id;
    // Thunderbird ends the list with id null, which the generated types do not admit.
    while (typeof listId === 'string' && out.length < MAX_SCANNED) {
      const page = await messenger.messages.continueList(listId);
      out.push(...mailRefs(page));
      listId = page.id;
    }
    return out;
  },

  async raw(mail) {
    const raw = await messenger.messages.getRaw(mail.id, { data_format: 'File' });
    if (typeof raw === 'string') {
      const bytes = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i) & 0xff;
      return bytes;
    }
    return new Uint8Array(await raw.arrayBuffer());
  },
};

function recipientAddresses(list: messenger.compose.ComposeRecipientList | undefined): string[] {
  if (list === undefined) return [];
  const items = Array.isArray(list) ? list : [list];
  return items.flatMap((item) => {
    // A contact reference is never what a reply to the CA holds: keep it so it is a mismatch.
    if (typeof item !== 'string') return [`contact:${item.id}`];
    try {
      return parseAddressList(item).map((m) => m.address.toLowerCase());
    } catch {
      return [item];
    }
  });
}

/** Translates Thunderbird's compose details for the read-back rule (src/enroll/mail/read-back.ts). */
export function composeView(details: messenger.compose.ComposeDetails): ComposeView {
  return {
    identityId: details.identityId,
    ...(typeof details.from === 'string' ? { from: recipientAddresses(details.from) } : {}),
    to: recipientAddresses(details.to),
    cc: recipientAddresses(details.cc),
    bcc: recipientAddresses(details.bcc),
    subject: details.subject ?? '',
    isPlainText: details.isPlainText === true,
    plainTextBody: details.plainTextBody,
  };
}

/** Reply in place (In-Reply-To, References, Re: set by Thunderbird), read back, then send. */
export const reply: ReplyPort = {
  async send(request) {
    let tabId: number | undefined;
    try {
      const tab = await messenger.compose.beginReply(request.mail.id, 'replyToSender', {
        identityId: request.identityId,
        isPlainText: true,
        plainTextBody: request.body,
      });
      tabId = tab.id;
      if (tabId === undefined) throw new Error('the compose window has no tab id');
      const mismatch = composeMismatches(composeView(await messenger.compose.getComposeDetails(tabId)), request);
      if (mismatch.length > 0) {
        await messenger.tabs.remove(tabId);
        return { sent: false, mismatch };
      }
      await messenger.compose.sendMessage(tabId, { mode: 'sendNow' });
      return { sent: true };
    } catch (error) {
      if (tabId !== undefined) await messenger.tabs.remove(tabId).catch(() => undefined);
      throw new PortError('transient', `replying failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  },
};

export const certStore: CertStorePort = {
  async importPkcs12(pkcs12, passphrase, email, sha256Fingerprint): Promise<InstalledCertificate> {
    try {
      return await smimeStore().importPkcs12(bytesToBase64(pkcs12), passphrase, email, sha256Fingerprint);
    } catch (error) {
      throw new PortError('fatal', error instanceof Error ? error.message : String(error), { cause: error });
    }
  },
  async setIdentityCertificates(identityId, cert, usage: Usage) {
    await smimeStore().setIdentityCertificates(identityId, cert.dbKey, cert.name, usage !== 'encrypt', usage !== 'sign');
  },
  async clearIdentityCertificates(identityId, dbKey) {
    await smimeStore().clearIdentityCertificates(identityId, dbKey);
  },
  async verifyCertificate(dbKey) {
    const raw = await smimeStore().verifyCertificate(dbKey);
    return { signing: verification(raw.signing), encryption: verification(raw.encryption) };
  },
  async findIssuerCandidates(der) {
    return (await smimeStore().findIssuerCandidates(bytesToBase64(der))).map(storeCertificate);
  },
  async addIntermediates(ders) {
    await smimeStore().addCaCertificates(ders.map(bytesToBase64));
  },
  async trustRootForEmail(der, sha256Fingerprint) {
    await smimeStore().trustRootForEmail(bytesToBase64(der), sha256Fingerprint);
  },
  async exportPkcs12(dbKey, passphrase) {
    return base64UrlDecode(await smimeStore().exportPkcs12(dbKey, passphrase));
  },
  async setSendDefaults(identityId, signMail, encrypt) {
    // Thunderbird's encryption policy: 0 = off by default, 2 = required by default.
    await smimeStore().setIdentitySendDefaults(identityId, signMail, encrypt ? 2 : 0);
  },
};

function storeCertificate(raw: RawCertificate): StoreCertificate {
  return { subject: raw.subject, issuer: raw.issuer, sha256Fingerprint: raw.sha256Fingerprint, der: base64ToBytes(raw.der), builtInRoot: raw.builtInRoot };
}

function verification(raw: RawVerification): UsageVerification {
  return { ok: raw.ok, errorCode: raw.errorCode, errorName: raw.errorName, errorMessage: raw.errorMessage, chain: raw.chain.map(storeCertificate) };
}

export const notifier: Notifier = {
  async notify(notice) {
    const { title, message } = noticeText(notice, (name, substitutions = []) => messenger.i18n.getMessage(name, [...substitutions]), messenger.i18n.getUILanguage());
    await messenger.notifications.create(`one-click-smime-${notice.kind}-${notice.email}`, {
      type: 'basic',
      iconUrl: messenger.runtime.getURL('icons/icon.svg'),
      title,
      message,
    });
  },
};

export const downloads: DownloadPort = {
  async offer(filename, bytes, mimeType) {
    const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mimeType }));
    try {
      await messenger.downloads.download({ url, filename, saveAs: false, conflictAction: 'uniquify' });
    } finally {
      // The download has its own copy once it started; the object URL is not needed after.
      setTimeout(() => {
        URL.revokeObjectURL(url);
      }, 60_000);
    }
  },
};
