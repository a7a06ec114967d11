import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { configError, usageError } from '../errors.js';
import { tokenFileProblem } from './permissions.js';

export interface ProjectRef {
  readonly id: string;
  readonly name: string;
}

/** What a profile file holds. The token lives next to it in its own 0600 file, never in here. */
export interface Profile {
  readonly ledgerUrl: string;
  readonly taskerUrl: string;
  readonly currentProject: ProjectRef | null;
}

export const PROFILE_FIELDS = ['ledgerUrl', 'taskerUrl', 'token'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
export const DEFAULT_PROFILE = 'default';

export function checkProfileName(name: string): string {
  if (!NAME.test(name)) throw usageError(`invalid profile name '${name}': use 1-64 letters, digits, '_', '.', '-' (not starting with '.' or '-')`);
  return name;
}

export function checkUrl(value: string, what: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw usageError(`${what} '${value}' is not a URL (expected e.g. http://127.0.0.1:8081)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw usageError(`${what} '${value}' must start with http:// or https://`);
  return value.replace(/\/+$/, '');
}

/** Profiles under <dir>/profiles, the active one named in <dir>/active-profile. */
export class ProfileStore {
  constructor(readonly dir: string) {}

  private get profilesDir(): string {
    return join(this.dir, 'profiles');
  }

  profilePath(name: string): string {
    return join(this.profilesDir, `${checkProfileName(name)}.yaml`);
  }

  tokenPath(name: string): string {
    return join(this.profilesDir, `${checkProfileName(name)}.token`);
  }

  private ensureDir(): void {
    // 0700: the directory lists which servers this user talks to.
    mkdirSync(this.profilesDir, { recursive: true, mode: 0o700 });
  }

  names(): string[] {
    if (!existsSync(this.profilesDir)) return [];
    return readdirSync(this.profilesDir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.slice(0, -5))
      .sort();
  }

  exists(name: string): boolean {
    return existsSync(this.profilePath(name));
  }

  read(name: string): Profile {
    const path = this.profilePath(name);
    if (!existsSync(path)) throw configError(`profile '${name}' does not exist`, `create it: falcli profile create ${name} --ledger-url <url> --tasker-url <url> --token-stdin`);
    let raw: unknown;
    try {
      raw = parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw configError(`profile file ${path} is not valid YAML: ${(e as Error).message}`);
    }
    const r = (raw ?? {}) as Record<string, unknown>;
    const missing = ['ledgerUrl', 'taskerUrl'].filter((k) => typeof r[k] !== 'string' || !r[k]);
    if (missing.length) throw configError(`profile file ${path} is missing ${missing.join(', ')}`, `set them: falcli profile set ${name} <field> <value>`);
    const cp = r.currentProject as Record<string, unknown> | null | undefined;
    return {
      ledgerUrl: r.ledgerUrl as string,
      taskerUrl: r.taskerUrl as string,
      currentProject: cp && typeof cp.id === 'string' ? { id: cp.id, name: typeof cp.name === 'string' ? cp.name : cp.id } : null,
    };
  }

  write(name: string, profile: Profile): void {
    this.ensureDir();
    atomicWrite(this.profilePath(name), stringify(profile), 0o600);
  }

  remove(name: string): void {
    rmSync(this.profilePath(name), { force: true });
    rmSync(this.tokenPath(name), { force: true });
    if (this.activeName() === name) rmSync(join(this.dir, 'active-profile'), { force: true });
  }

  activeName(): string {
    const f = join(this.dir, 'active-profile');
    const name = existsSync(f) ? readFileSync(f, 'utf8').trim() : '';
    return name || DEFAULT_PROFILE;
  }

  setActive(name: string): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    atomicWrite(join(this.dir, 'active-profile'), `${checkProfileName(name)}\n`, 0o600);
  }

  /** null when the profile has no token file; throws when the file is unsafe. */
  readToken(name: string): string | null {
    const path = this.tokenPath(name);
    if (!existsSync(path)) return null;
    const problem = tokenFileProblem(path, statSync(path).mode);
    if (problem) throw configError(problem, `make it private: chmod 600 ${path}`);
    return readFileSync(path, 'utf8').trim() || null;
  }

  writeToken(name: string, token: string): void {
    this.ensureDir();
    atomicWrite(this.tokenPath(name), `${token}\n`, 0o600);
  }
}

/** Written under a temporary name with its final mode, then renamed: never briefly readable, never half-written. */
function atomicWrite(path: string, content: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode); // the umask may have narrowed or the file existed
  renameSync(tmp, path);
}
