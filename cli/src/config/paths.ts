import { homedir } from 'node:os';
import { join } from 'node:path';

/** $FALCLI_CONFIG_DIR, else the XDG config dir, else ~/.config: per user, never inside a checkout. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FALCLI_CONFIG_DIR) return env.FALCLI_CONFIG_DIR;
  const xdg = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), '.config');
  return join(xdg, 'falcli');
}
