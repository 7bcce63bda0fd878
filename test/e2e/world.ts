/**
 * One end-to-end world: the sandbox (CA, Dovecot, DKIM-signing MTA, DoH) and a real Thunderbird
 * with the built add-on, the sandbox user's IMAP account, the sandbox root trusted, and the
 * add-on's options pointing at the sandbox. Restartable and killable in the middle of a flow.
 */
import { startSandbox, type Sandbox, type SandboxOptions, type SandboxUser } from '../../sandbox/index';
import { makeTempDir, type TempDir } from '../helpers/process';
import { Thunderbird, buildXpi, createProfile, thunderbirdPidsFor, type Profile, type StartOptions } from './thunderbird';

export interface WorldOptions {
  readonly sandbox?: SandboxOptions;
  /** Merged over the defaults below into storage.local `settings`. */
  readonly settings?: Readonly<Record<string, unknown>>;
  readonly start?: StartOptions;
  /** An `.xpi` already built (saves a build per world). */
  readonly xpiPath?: string;
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

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  let build: TempDir | undefined;
  let sandbox: Sandbox | undefined;
  let profile: Profile | undefined;
  let tb: Thunderbird | undefined;
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
    const path = profile?.path;
    const left = path === undefined ? [] : thunderbirdPidsFor(path);
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
    sandbox = await startSandbox(options.sandbox);
    const user = sandbox.users[0];
    if (!user) throw new Error('the sandbox has no users');
    profile = createProfile({
      xpiPath,
      trustedRootPem: sandbox.rootCertPem,
      account: {
        email: user.email,
        username: user.email,
        password: user.password,
        imapPort: sandbox.imap.port,
        smtpPort: sandbox.smtp.port,
        host: sandbox.imap.host,
      },
    });
    const boot = async (firstRun: boolean): Promise<Thunderbird> => {
      if (!profile) throw new Error('no profile');
      const started = await Thunderbird.start(profile, options.start);
      try {
        await started.waitForAddon(30_000, firstRun);
        await started.loginAccount();
      } catch (error) {
        await started.stop();
        throw error;
      }
      return started;
    };
    tb = await boot(true);
    await tb.setAddonStorage({ settings: { ...sandboxSettings(sandbox), ...options.settings } });
    // No reload needed: the background reads its settings from storage each time it uses them.

    const s = sandbox;
    const p = profile;
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
      dispose: cleanup,
    };
  } catch (error) {
    await cleanup().catch(() => undefined);
    throw error;
  }
}
