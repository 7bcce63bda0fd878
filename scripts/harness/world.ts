/**
 * One end-to-end world: the sandbox (CA, Dovecot, DKIM-signing MTA, DoH) and a real Thunderbird
 * with the built add-on, the sandbox user's IMAP account, the sandbox's TLS root trusted, and the
 * add-on's options pointing at the sandbox. Restartable and killable in the middle of a flow.
 * More sandbox users can get a Thunderbird of their own in the same world (`addThunderbird`), for
 * mail between two people.
 */
import { defaultUsers, startSandbox, type Sandbox, type SandboxOptions, type SandboxUser } from '../../sandbox/index';
import { makeTempDir, type TempDir } from './process';
import { Thunderbird, buildXpi, createProfile, thunderbirdPidsFor, type Profile, type StartOptions } from './thunderbird';

export interface WorldOptions {
  readonly sandbox?: SandboxOptions;
  /** Merged over the defaults below into storage.local `settings`. */
  readonly settings?: Readonly<Record<string, unknown>>;
  readonly start?: StartOptions;
  /** An `.xpi` already built (saves a build per world). */
  readonly xpiPath?: string;
  /**
   * Whether the profile already trusts the sandbox's mailbox root for e-mail (`,C,` in its NSS
   * database), as for a root Mozilla's store trusts for e-mail. Default false: the profile trusts
   * only the TLS root, and the mailbox root is unknown to it.
   */
  readonly mailRootTrusted?: boolean;
  /**
   * Aliases of the world's user (the sandbox's first user, alice by default): the CA accepts them
   * as identifiers, their mail lands in the user's mailbox, and the user may send as them
   * (docs/SANDBOX.md, "Aliases"). Default none. Thunderbird gets an identity for one with
   * `addAliasIdentity(world.tb, world.user, alias)` (accounts.ts).
   */
  readonly userAliases?: readonly string[];
}

/** `options.sandbox` with `aliases` given to its first user (the default users if none are given). */
function sandboxOptionsWithAliases(options: SandboxOptions | undefined, aliases: readonly string[] | undefined): SandboxOptions | undefined {
  if (aliases === undefined || aliases.length === 0) return options;
  const [first, ...rest] = options?.users ?? defaultUsers();
  if (!first) throw new Error('the sandbox has no users to give aliases to');
  return { ...options, users: [{ ...first, aliases: [...(first.aliases ?? []), ...aliases] }, ...rest] };
}

/** Another sandbox user with a Thunderbird and profile of their own, in the same world. */
export interface OtherThunderbird {
  readonly user: SandboxUser;
  readonly profile: Profile;
  readonly tb: Thunderbird;
}

export interface AddThunderbirdOptions {
  readonly settings?: Readonly<Record<string, unknown>>;
  readonly start?: StartOptions;
  readonly mailRootTrusted?: boolean;
}

export interface World {
  readonly sandbox: Sandbox;
  readonly user: SandboxUser;
  readonly profile: Profile;
  /** The running Thunderbird; replaced by `restart`. */
  readonly tb: Thunderbird;
  /** Quits Thunderbird gracefully (prefs and certificate database flushed), keeps the profile. */
  quit(): Promise<void>;
  /** Kills Thunderbird at once, as a crash would. */
  kill(): Promise<void>;
  /** Starts Thunderbird again on the same profile, logs in to IMAP. */
  restart(): Promise<void>;
  /**
   * Starts a Thunderbird for another sandbox user (own profile, own account, the same `.xpi`,
   * settings and TLS trust); stopped by `dispose`.
   */
  addThunderbird(user: SandboxUser, options?: AddThunderbirdOptions): Promise<OtherThunderbird>;
  /** Stops everything and removes every temp folder; throws if a Thunderbird process is left. */
  dispose(): Promise<void>;
}

/** The add-on's settings for the sandbox: its CA and resolver; no long waits in tests. */
export function sandboxSettings(sandbox: Sandbox): Record<string, unknown> {
  return {
    directoryUrl: sandbox.directoryUrl,
    dohUrl: sandbox.dohUrl,
    postChallengeAfterSeconds: 5,
    validationTimeoutMinutes: 2,
  };
}

/** A profile for `user` of `sandbox`: the add-on, the user's account, the TLS root (and the mailbox root for e-mail, if asked). */
export function profileFor(sandbox: Sandbox, user: SandboxUser, xpiPath: string, mailRootTrusted = false): Profile {
  return createProfile({
    xpiPath,
    trustedRootPem: sandbox.tlsRootPem,
    ...(mailRootTrusted ? { emailRootPem: sandbox.mailboxRootPem } : {}),
    account: {
      email: user.email,
      username: user.email,
      password: user.password,
      imapPort: sandbox.imap.port,
      smtpPort: sandbox.smtp.port,
      host: sandbox.imap.host,
    },
  });
}

/** Starts Thunderbird on `profile`, waits for the add-on and logs in to IMAP; stops it again on failure. */
async function bootThunderbird(profile: Profile, firstRun: boolean, start?: StartOptions): Promise<Thunderbird> {
  const started = await Thunderbird.start(profile, start);
  try {
    await started.waitForAddon(30_000, firstRun);
    await started.loginAccount();
  } catch (error) {
    await started.stop();
    throw error;
  }
  return started;
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  let build: TempDir | undefined;
  let sandbox: Sandbox | undefined;
  let profile: Profile | undefined;
  let tb: Thunderbird | undefined;
  const others: OtherThunderbird[] = [];
  // Every step runs even if an earlier one fails, so nothing is left behind.
  const cleanup = async (): Promise<void> => {
    const errors: unknown[] = [];
    const step = async (f: () => unknown): Promise<void> => {
      try {
        await f();
      } catch (error) {
        errors.push(error);
      }
    };
    await step(() => tb?.stop());
    tb = undefined;
    const paths = [profile?.path, ...others.map((o) => o.profile.path)].filter((p) => p !== undefined);
    for (const other of others.splice(0)) {
      await step(() => other.tb.stop());
      await step(() => {
        other.profile.remove();
      });
    }
    const left = paths.flatMap((path) => thunderbirdPidsFor(path));
    await step(() => profile?.remove());
    const stateDir = sandbox?.stateDir;
    await step(() => sandbox?.stop());
    await step(() => build?.remove());
    if (left.length > 0) errors.push(new Error(`Thunderbird processes left behind: ${left.join(', ')}`));
    // The sandbox's own processes (Dovecot) run with its state folder on their command line.
    const sandboxLeft = stateDir === undefined ? [] : thunderbirdPidsFor(stateDir);
    if (sandboxLeft.length > 0) errors.push(new Error(`sandbox processes left behind: ${sandboxLeft.join(', ')}`));
    if (errors.length > 0) throw errors[0] instanceof Error ? errors[0] : new Error(String(errors[0]));
  };
  try {
    let xpiPath = options.xpiPath;
    if (xpiPath === undefined) {
      build = makeTempDir('ocs-e2e-build');
      xpiPath = buildXpi(build.path);
    }
    sandbox = await startSandbox(sandboxOptionsWithAliases(options.sandbox, options.userAliases));
    const user = sandbox.users[0];
    if (!user) throw new Error('the sandbox has no users');
    profile = profileFor(sandbox, user, xpiPath, options.mailRootTrusted);
    const boot = async (firstRun: boolean): Promise<Thunderbird> => {
      if (!profile) throw new Error('no profile');
      return bootThunderbird(profile, firstRun, options.start);
    };
    tb = await boot(true);
    await tb.setAddonStorage({ settings: { ...sandboxSettings(sandbox), ...options.settings } });
    // No reload needed: the background reads its settings from storage each time it uses them.

    const s = sandbox;
    const p = profile;
    const xpi = xpiPath;
    return {
      sandbox: s,
      user,
      profile: p,
      get tb(): Thunderbird {
        if (!tb) throw new Error('Thunderbird is not running');
        return tb;
      },
      async quit() {
        await tb?.stop();
        tb = undefined;
      },
      async kill() {
        await tb?.kill();
        tb = undefined;
      },
      async restart() {
        if (tb) throw new Error('Thunderbird is still running');
        tb = await boot(false);
      },
      async addThunderbird(other, more = {}) {
        const otherProfile = profileFor(s, other, xpi, more.mailRootTrusted);
        let otherTb: Thunderbird;
        try {
          otherTb = await bootThunderbird(otherProfile, true, more.start);
        } catch (error) {
          otherProfile.remove();
          throw error;
        }
        const added = { user: other, profile: otherProfile, tb: otherTb };
        others.push(added);
        await otherTb.setAddonStorage({ settings: { ...sandboxSettings(s), ...more.settings } });
        return added;
      },
      dispose: cleanup,
    };
  } catch (error) {
    await cleanup().catch(() => undefined);
    throw error;
  }
}
