/**
 * More mail accounts in a running Thunderbird: an IMAP account with its identity and SMTP server
 * for another sandbox user, made through Thunderbird's account manager the way its account
 * wizard does (modules/accountcreation/CreateInBackend.sys.mjs), with the same settings as the
 * profile's first account (thunderbird.ts). One Thunderbird can then enroll several addresses.
 * Or another identity on an account for one of its user's aliases (`addAliasIdentity`): several
 * addresses of one mailbox, as for a certificate naming more than one address.
 */
import type { Sandbox, SandboxUser } from '../../sandbox/index';
import type { Thunderbird } from './thunderbird';

export interface AddedAccount {
  /** The identity's key: also its WebExtension identity id. */
  readonly identityId: string;
  readonly serverKey: string;
}

/**
 * Adds `user`'s IMAP account (the sandbox's IMAP and SMTP, plain on loopback, login = address),
 * stores its passwords, and fetches its Inbox once so that IDLE watches it from then on.
 */
export async function addMailAccount(tb: Thunderbird, sandbox: Sandbox, user: SandboxUser): Promise<AddedAccount> {
  const host = sandbox.imap.host;
  await tb.setPassword(`imap://${host}`, user.email, user.password);
  await tb.setPassword(`smtp://${sandbox.smtp.host}`, user.email, user.password);
  return tb.chrome<AddedAccount>(`
    const [email, host, imapPort, smtpHost, smtpPort] = arguments;
    const { MailServices } = ChromeUtils.importESModule('resource:///modules/MailServices.sys.mjs');
    const server = MailServices.accounts.createIncomingServer(email, host, 'imap');
    server.port = imapPort;
    server.socketType = Ci.nsMsgSocketType.plain;
    server.authMethod = Ci.nsMsgAuthMethod.passwordCleartext;
    server.prettyName = email;
    server.doBiff = true;
    server.biffMinutes = 1;
    server.setBoolValue('login_at_startup', false);
    server.setBoolValue('use_idle', true);
    server.setBoolValue('check_all_folders_for_new', true);
    server.setBoolValue('offline_download', false);
    server.valid = true;

    // Read the outgoing servers first: createServer on a list not yet loaded from the prefs
    // caches only the new server, and the profile's own (smtp1) is then "not found" at send.
    if (MailServices.outgoingServer.servers.length === 0) throw new Error('no outgoing server in the profile');
    const smtp = MailServices.outgoingServer.createServer('smtp');
    const smtpServer = smtp.QueryInterface(Ci.nsISmtpServer);
    smtpServer.hostname = smtpHost;
    smtpServer.port = smtpPort;
    smtp.socketType = Ci.nsMsgSocketType.plain;
    smtp.authMethod = Ci.nsMsgAuthMethod.passwordCleartext;
    smtp.username = email;
    smtp.description = 'sandbox ' + email;

    const identity = MailServices.accounts.createIdentity();
    identity.email = email;
    identity.fullName = email.split('@')[0];
    identity.valid = true;
    identity.smtpServerKey = smtp.key;
    identity.composeHtml = false;
    identity.replyOnTop = 0;
    identity.sigOnReply = false;
    identity.doFcc = false;

    const account = MailServices.accounts.createAccount();
    account.addIdentity(identity);
    account.incomingServer = server;
    MailServices.accounts.saveAccountInfo();

    const inbox = server.rootFolder.getFolderWithFlags(Ci.nsMsgFolderFlags.Inbox)
      ?? await new Promise((resolve, reject) => {
        // A new IMAP account learns its folders at its first connection.
        server.performExpand(null);
        const deadline = Date.now() + 15000;
        const look = () => {
          const found = server.rootFolder.getFolderWithFlags(Ci.nsMsgFolderFlags.Inbox);
          if (found) resolve(found);
          else if (Date.now() > deadline) reject(new Error('no Inbox for ' + email));
          else setTimeout(look, 100);
        };
        look();
      });
    await new Promise((resolve, reject) => {
      inbox.QueryInterface(Ci.nsIMsgImapMailFolder).updateFolderWithListener(null, {
        OnStartRunningUrl() {},
        OnStopRunningUrl(url, status) { status === 0 ? resolve() : reject(new Error('IMAP update of ' + email + ' failed: 0x' + (status >>> 0).toString(16))); },
      });
    });
    return { identityId: identity.key, serverKey: server.key };
  `, [user.email, host, sandbox.imap.port, sandbox.smtp.host, sandbox.smtp.port]);
}

/** The alias a world gives alice with `startWorld({ userAliases: [ALICE_ALIAS] })`. */
export const ALICE_ALIAS = 'alice.alias@example.test';

export class AliasIdentityError extends Error {
  override readonly name = 'AliasIdentityError';
}

/**
 * Adds an identity for `alias`, one of `user`'s sandbox aliases, to `user`'s account in `tb`: what
 * a user does in Account Settings → Manage Identities for an address their provider gave them.
 * It shares the account's incoming server and the SMTP server (and login) of the account's
 * default identity, so mail to the alias arrives in the same Inbox and mail sent as the alias
 * goes out through the same login (the sandbox MTA lets the owner send as the alias).
 * Returns the identity's key: also its WebExtension identity id.
 */
export async function addAliasIdentity(tb: Thunderbird, user: SandboxUser, alias: string): Promise<string> {
  const address = alias.toLowerCase();
  if (!(user.aliases ?? []).includes(address)) {
    throw new AliasIdentityError(`${alias} is not one of ${user.email}'s sandbox aliases (${(user.aliases ?? []).join(', ') || 'none'}); start the world with userAliases`);
  }
  return tb.chrome<string>(`
    const [login, alias] = arguments;
    const { MailServices } = ChromeUtils.importESModule('resource:///modules/MailServices.sys.mjs');
    const account = MailServices.accounts.accounts.find((a) =>
      a.incomingServer?.type === 'imap' && a.incomingServer.username.toLowerCase() === login);
    if (!account) throw new Error('no IMAP account for ' + login);
    const main = account.defaultIdentity;
    if (!main) throw new Error('the account of ' + login + ' has no identity');
    if (account.identities.some((i) => i.email.toLowerCase() === alias)) throw new Error(alias + ' already has an identity');

    const identity = MailServices.accounts.createIdentity();
    identity.email = alias;
    identity.fullName = main.fullName;
    identity.valid = true;
    identity.smtpServerKey = main.smtpServerKey;
    identity.composeHtml = false;
    identity.replyOnTop = 0;
    identity.sigOnReply = false;
    identity.doFcc = false;
    account.addIdentity(identity);
    MailServices.accounts.saveAccountInfo();
    return identity.key;
  `, [user.email.toLowerCase(), address]);
}
