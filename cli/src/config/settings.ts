import { configError } from '../errors.js';
import { ProfileStore, type Profile, type ProjectRef } from './profiles.js';

/** What a command runs with, after flags, environment and the profile are layered. */
export interface Settings {
  readonly profileName: string;
  readonly profile: Profile | null;
  readonly ledgerUrl: string;
  readonly taskerUrl: string;
  readonly token: string;
  readonly currentProject: ProjectRef | null;
  readonly timeoutMs: number;
}

export interface SettingsInput {
  readonly store: ProfileStore;
  readonly env: NodeJS.ProcessEnv;
  /** The global --profile flag. */
  readonly profile?: string;
}

export function profileNameOf(input: SettingsInput): string {
  return input.profile ?? input.env.FALCLI_PROFILE ?? input.store.activeName();
}

/**
 * Flags beat environment beats profile, so CI can run with FALCLI_LEDGER_URL/FALCLI_TOKEN and no
 * files at all. A profile named explicitly must exist; the implicit default may be absent.
 */
export function resolveSettings(input: SettingsInput): Settings {
  const { store, env } = input;
  const name = profileNameOf(input);
  const explicit = input.profile !== undefined || env.FALCLI_PROFILE !== undefined;
  const profile = store.exists(name) ? store.read(name) : null;
  if (!profile && explicit) throw configError(`profile '${name}' does not exist`, 'see the profiles with: falcli profile list');
  const ledgerUrl = env.FALCLI_LEDGER_URL || profile?.ledgerUrl;
  const taskerUrl = env.FALCLI_TASKER_URL || profile?.taskerUrl || 'http://127.0.0.1:8080';
  if (!ledgerUrl) {
    throw configError(
      'no server configured: there is no profile yet',
      `create one: falcli profile create ${name} --ledger-url http://127.0.0.1:8081 --tasker-url http://127.0.0.1:8080 --token-stdin < token.txt (or set FALCLI_LEDGER_URL and FALCLI_TOKEN)`,
    );
  }
  const token = env.FALCLI_TOKEN || (profile ? store.readToken(name) : null);
  if (!token) throw configError(`profile '${name}' has no token`, `store one: falcli profile set ${name} token --stdin < token.txt (or set FALCLI_TOKEN)`);
  const seconds = Number(env.FALCLI_TIMEOUT);
  return {
    profileName: name,
    profile,
    ledgerUrl,
    taskerUrl,
    token,
    currentProject: profile?.currentProject ?? null,
    timeoutMs: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 60_000,
  };
}
