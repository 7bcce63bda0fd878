/**
 * Thunderbird's own compose path, driven over Marionette as a user would use it: a compose
 * window for an identity, S/MIME signing and encryption switched on with the compose window's own
 * toolbar commands, To/Subject/body filled in, Send — and what came of it: sent, or the text of
 * the alert Thunderbird showed ("This message cannot be digitally signed …").
 *
 * And the reading side: a message opened in Thunderbird's message pane, with the S/MIME status
 * its header shows (the signed and encrypted icons) and the body it displays.
 * Facts this rests on (Thunderbird 153's MsgComposeCommands.js, msgHdrViewSMIMEOverlay.js) are
 * in docs/E2E.md.
 */
import type { Thunderbird } from './thunderbird';

export interface ComposeRequest {
  /** The sending identity's key (`id1`, as in `mail.identity.id1.*`). */
  readonly identityKey: string;
  readonly to: string;
  readonly subject: string;
  readonly body: string;
  readonly sign: boolean;
  readonly encrypt: boolean;
  readonly timeoutMs?: number;
}

export interface ComposeOutcome {
  /** Thunderbird's send finished with success (`ComposeProcessDone(NS_OK)`). */
  readonly sent: boolean;
  /** The nsresult the send ended with, as hex (`0x0` when sent). */
  readonly result: string;
  /** The text of every alert or prompt Thunderbird showed meanwhile (its error report is one). */
  readonly alerts: readonly string[];
  /** What the compose window had switched on when Send was pressed. */
  readonly signed: boolean;
  readonly encrypted: boolean;
  /** What it had switched on by itself when it opened (the identity's defaults), before any toggle. */
  readonly initiallySigned: boolean;
  readonly initiallyEncrypted: boolean;
}

/** A send that did not go through: carries Thunderbird's own words. */
export class ComposeError extends Error {
  override readonly name = 'ComposeError';
  constructor(message: string, readonly outcome: ComposeOutcome) {
    super(message);
  }
}

/**
 * Opens a compose window for the identity (`MailServices.compose.OpenComposeWindowWithParams`,
 * plain text, To, Subject and body filled in through its compose fields), switches S/MIME
 * signing and encryption to the wanted state the way the compose window's toolbar does
 * (`toggleGlobalSignMessage`, the Encrypt button `#button-encryption`), and sends
 * (`cmd_sendNow`, what the Send button runs when online). Resolves when Thunderbird's send
 * has ended either way; alerts shown meanwhile are read and dismissed (none is left open).
 */
export async function composeAndSend(tb: Thunderbird, request: ComposeRequest): Promise<ComposeOutcome> {
  // Marionette's script timeout is 120 s (Thunderbird.start), above this deadline.
  const timeoutMs = request.timeoutMs ?? 50_000;
  return tb.chrome<ComposeOutcome>(`
    const [request, timeoutMs] = arguments;
    const { MailServices } = ChromeUtils.importESModule('resource:///modules/MailServices.sys.mjs');
    const identity = MailServices.accounts.getIdentity(request.identityKey);
    if (!identity || !identity.email) throw new Error('no identity ' + request.identityKey);
    const deadline = Date.now() + timeoutMs;
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const until = async (what, test) => {
      for (;;) {
        const value = test();
        if (value) return value;
        if (Date.now() > deadline) throw new Error('compose: timed out waiting for ' + what);
        await sleep(50);
      }
    };

    // Every alert or prompt (common dialog) shown from now on is read and dismissed.
    const alerts = [];
    const dialogs = { observe(subject) {
      const dialogWindow = subject;
      const read = () => {
        const doc = dialogWindow.document;
        const text = ['infoTitle', 'infoBody'].map((id) => doc.getElementById(id)?.textContent?.trim() ?? '').filter((t) => t !== '').join(': ');
        alerts.push(text || doc.title || '(an empty dialog)');
        const dialog = doc.querySelector('dialog');
        if (dialog && typeof dialog.cancelDialog === 'function') dialog.cancelDialog(); else dialogWindow.close();
      };
      dialogWindow.setTimeout(read, 0);
    } };
    Services.obs.addObserver(dialogs, 'common-dialog-loaded');
    let compose;
    try {
      const existing = new Set(Services.wm.getEnumerator('msgcompose'));
      const fields = Cc['@mozilla.org/messengercompose/composefields;1'].createInstance(Ci.nsIMsgCompFields);
      fields.to = request.to;
      fields.subject = request.subject;
      fields.body = request.body;
      const params = Cc['@mozilla.org/messengercompose/composeparams;1'].createInstance(Ci.nsIMsgComposeParams);
      params.type = Ci.nsIMsgCompType.New;
      params.format = Ci.nsIMsgCompFormat.PlainText;
      params.identity = identity;
      params.composeFields = fields;
      MailServices.compose.OpenComposeWindowWithParams(null, params);
      compose = await until('the compose window', () => [...Services.wm.getEnumerator('msgcompose')].find((w) => !existing.has(w)));
      const win = compose;
      await until('the compose window to load', () => win.document.readyState === 'complete' && win.gMsgCompose && win.gLoadingComplete);
      // The initial encryption checks run asynchronously after load; let them settle.
      await sleep(300);
      if (win.gCurrentIdentity?.key !== identity.key) throw new Error('the compose window is for ' + win.gCurrentIdentity?.key + ', not ' + identity.key);
      if (win.gSelectedTechnologyIsPGP) win.onEncryptionChoice('SMIME');
      const initiallySigned = win.gSendSigned;
      const initiallyEncrypted = win.gSendEncrypted;
      if (request.encrypt !== win.gSendEncrypted) {
        const button = win.document.getElementById('button-encryption');
        if (!button) throw new Error('the compose toolbar has no Encrypt button');
        if (button.disabled) throw new Error('the Encrypt button is disabled: the identity has no S/MIME certificate configured');
        button.doCommand();
        await until('encryption to be ' + (request.encrypt ? 'on' : 'off'), () => win.gSendEncrypted === request.encrypt);
      }
      if (request.sign !== win.gSendSigned) {
        // The toolbar's Sign button (and the Security menu's "Digitally Sign") run this.
        win.toggleGlobalSignMessage();
        await until('signing to be ' + (request.sign ? 'on' : 'off'), () => win.gSendSigned === request.sign);
      }
      const signed = win.gSendSigned;
      const encrypted = win.gSendEncrypted;

      // The recipients and subject the window shows are what gets sent (GetComposeDetails).
      if (win.document.getElementById('msgSubject').value !== request.subject) throw new Error('the subject field did not take the subject');

      const done = new Promise((resolve) => {
        win.gMsgCompose.RegisterStateListener({
          NotifyComposeFieldsReady() {},
          NotifyComposeBodyReady() {},
          SaveInFolderDone() {},
          ComposeProcessDone(result) { resolve(result); },
        });
      });
      win.goDoCommand('cmd_sendNow');
      const result = await Promise.race([done, sleep(Math.max(1000, deadline - Date.now())).then(() => 'timeout')]);
      if (result === 'timeout') throw new Error('compose: the send did not finish in ' + timeoutMs + ' ms; alerts: ' + JSON.stringify(alerts));
      // Let a report alert shown just before the end be read.
      await sleep(200);
      const sent = result === 0;
      return { sent, result: '0x' + (result >>> 0).toString(16), alerts, signed, encrypted, initiallySigned, initiallyEncrypted };
    } finally {
      Services.obs.removeObserver(dialogs, 'common-dialog-loaded');
      // A window whose send failed stays open: close it without the save-changes question.
      if (compose && !compose.closed) {
        try { compose.SetContentAndBodyAsUnmodified(); } catch {}
        compose.close();
      }
    }
  `, [request, timeoutMs]);
}

/** Like `composeAndSend`, but throws a `ComposeError` with Thunderbird's alert text unless it was sent. */
export async function sendOrThrow(tb: Thunderbird, request: ComposeRequest): Promise<ComposeOutcome> {
  const outcome = await composeAndSend(tb, request);
  if (!outcome.sent) {
    throw new ComposeError(`Thunderbird did not send "${request.subject}" (${outcome.result}): ${outcome.alerts.join(' | ') || 'no alert shown'}`, outcome);
  }
  return outcome;
}

/** What Thunderbird's message pane shows for a message: its S/MIME header status and body. */
export interface DisplayedMessage {
  readonly subject: string;
  /** The header's signature state: `ok`, `notok`, `mismatch`, `unknown`, or null (not signed). */
  readonly signed: string | null;
  /** The header's encryption state: `ok`, `notok`, or null (not encrypted). */
  readonly encrypted: string | null;
  /** The icons' images (`message-signed-ok.svg` …), null when hidden. */
  readonly signedIcon: string | null;
  readonly encryptedIcon: string | null;
  /** The signer certificate's e-mail address, as Thunderbird read it. */
  readonly signerEmail: string | null;
  /** The displayed body text. */
  readonly body: string;
}

/**
 * Waits until a message with `subject` is in the account's Inbox (IMAP IDLE brings it in),
 * shows it in the 3-pane tab's message pane, waits for the S/MIME processing to report, and
 * returns what the header and body show.
 */
export async function displayMessage(tb: Thunderbird, serverKey: string, subject: string, timeoutMs = 50_000): Promise<DisplayedMessage> {
  return tb.chrome<DisplayedMessage>(`
    const [serverKey, subject, timeoutMs] = arguments;
    const { MailServices } = ChromeUtils.importESModule('resource:///modules/MailServices.sys.mjs');
    const deadline = Date.now() + timeoutMs;
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const until = async (what, test) => {
      for (;;) {
        const value = test();
        if (value) return value;
        if (Date.now() > deadline) throw new Error('display: timed out waiting for ' + what);
        await sleep(100);
      }
    };
    const server = MailServices.accounts.getIncomingServer(serverKey);
    const inbox = server.rootFolder.getFolderWithFlags(Ci.nsMsgFolderFlags.Inbox);
    const find = () => [...inbox.messages].find((m) => (m.mime2DecodedSubject || m.subject) === subject);
    let header = find();
    while (!header) {
      // New mail arrives by IDLE; an explicit update makes sure a missed notification is not waited on forever.
      await new Promise((resolve) => inbox.QueryInterface(Ci.nsIMsgImapMailFolder).updateFolderWithListener(null, {
        OnStartRunningUrl() {}, OnStopRunningUrl() { resolve(); },
      }));
      header = find();
      if (header) break;
      if (Date.now() > deadline) throw new Error('display: no message "' + subject + '" in ' + inbox.URI);
      await sleep(500);
    }
    const win = Services.wm.getMostRecentWindow('mail:3pane');
    const about3Pane = win.gTabmail.currentAbout3Pane;
    about3Pane.displayFolder(inbox.URI);
    await until('the folder to show', () => about3Pane.gFolder?.URI === inbox.URI && about3Pane.gDBView);
    // The message pane says when its S/MIME processing is done (every signature check reported):
    // the 'smimeprocessed' event, once per S/MIME message shown; listen before showing it.
    let aboutMessage = about3Pane.messageBrowser.contentWindow;
    const alreadyShown = aboutMessage?.gMessage?.messageId === header.messageId;
    let processed = alreadyShown && aboutMessage.gSmimeProcessedDispatched === true;
    const onProcessed = () => { processed = true; };
    const listened = aboutMessage;
    listened?.addEventListener('smimeprocessed', onProcessed);
    try {
      about3Pane.selectMessage(header);
      aboutMessage = about3Pane.messageBrowser.contentWindow;
      await until('the message to be displayed', () => aboutMessage.gMessage?.messageId === header.messageId
        && aboutMessage.document.getElementById('messagepane')?.contentDocument?.readyState === 'complete');
      // A message that is neither signed nor encrypted never gets the event: loaded, no status, for a while.
      let plainSince = 0;
      await until('the S/MIME processing', () => {
        // (If the pane got a new window, the event went there: read its flag.)
        if (processed || (aboutMessage !== listened && aboutMessage.gSmimeProcessedDispatched === true)) return true;
        const plain = aboutMessage.gSmimeMsgLoadedFired && aboutMessage.gSignatureStatusForURI === null && aboutMessage.gEncryptionStatusForURI === null;
        if (!plain) plainSince = 0;
        else if (plainSince === 0) plainSince = Date.now();
        return plain && Date.now() - plainSince > 1500;
      });
    } finally {
      listened?.removeEventListener('smimeprocessed', onProcessed);
    }
    const state = (code, signed) => {
      if (code === -1) return null;
      if (code === Ci.nsICMSMessageErrors.SUCCESS) return 'ok';
      if (!signed) return 'notok';
      if (code === Ci.nsICMSMessageErrors.VERIFY_NOT_YET_ATTEMPTED) return 'unknown';
      if (code === Ci.nsICMSMessageErrors.VERIFY_CERT_WITHOUT_ADDRESS || code === Ci.nsICMSMessageErrors.VERIFY_HEADER_MISMATCH) return 'mismatch';
      return 'notok';
    };
    const icon = (id) => {
      const el = aboutMessage.document.getElementById(id);
      return el && !el.hidden ? (el.getAttribute('src') ?? '').split('/').at(-1) : null;
    };
    const body = aboutMessage.document.getElementById('messagepane').contentDocument.body?.textContent ?? '';
    return {
      subject,
      signed: state(aboutMessage.gSignatureStatus, true),
      encrypted: state(aboutMessage.gEncryptionStatus, false),
      signedIcon: icon('signedHdrIcon'),
      encryptedIcon: icon('encryptedHdrIcon'),
      signerEmail: aboutMessage.gSignerCert?.emailAddress ?? null,
      body,
    };
  `, [serverKey, subject, timeoutMs]);
}

export interface KnownCertificate {
  readonly sha256: string;
  readonly subject: string;
  readonly emails: string[];
}

/** The certificates in Thunderbird's certificate store (nsIX509CertDB) that name `email`. */
export async function certificatesFor(tb: Thunderbird, email: string): Promise<KnownCertificate[]> {
  return tb.chrome<KnownCertificate[]>(`
    const certdb = Cc['@mozilla.org/security/x509certdb;1'].getService(Ci.nsIX509CertDB);
    const emailsOf = (c) => [...new Set([c.emailAddress, ...(c.getEmailAddresses?.() ?? [])].filter((e) => !!e).map((e) => e.toLowerCase()))];
    return certdb.getCerts()
      .filter((c) => emailsOf(c).includes(arguments[0].toLowerCase()))
      .map((c) => ({ sha256: c.sha256Fingerprint, subject: c.subjectName, emails: emailsOf(c) }));
  `, [email]);
}

/** The identity's S/MIME send defaults, as Account Settings show them (`sign_mail`, `encryptionpolicy`: 2 = require). */
export async function identitySendDefaults(tb: Thunderbird, identityKey: string): Promise<{ signMail: boolean; encryptionPolicy: number }> {
  return tb.chrome<{ signMail: boolean; encryptionPolicy: number }>(`
    const { MailServices } = ChromeUtils.importESModule('resource:///modules/MailServices.sys.mjs');
    const identity = MailServices.accounts.getIdentity(arguments[0]);
    return { signMail: identity.signMail, encryptionPolicy: identity.getIntAttribute('encryptionpolicy') };
  `, [identityKey]);
}
