import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Inject, Injectable } from '@nestjs/common';
import { parseProfile, PROFILE_NAMES, type ProfileName, type ScanConfig } from '#domain';
import { CONFIG } from '#platform';
import type { TaskerEnv } from '../tasker.config.js';

export interface Profile {
  readonly name: ProfileName;
  readonly description: string;
  readonly config: ScanConfig;
}

const RELATIVE = join('libs', 'domain', 'src', 'scanning', 'profiles');

/** The shipped profiles sit in libs/domain (copied next to the build in dist/): look upwards for them. */
function findProfilesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, RELATIVE);
    if (existsSync(join(candidate, 'default.yaml'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`scan profiles not found above ${fileURLToPath(import.meta.url)}: set TASKER_PROFILES_DIR`);
}

/** Every shipped profile, parsed and validated at start-up: a broken profile stops the tasker, not a scan. */
@Injectable()
export class ProfileCatalogue {
  private readonly profiles = new Map<string, Profile>();

  constructor(@Inject(CONFIG) config: TaskerEnv) {
    const dir = config.TASKER_PROFILES_DIR ?? findProfilesDir();
    for (const name of PROFILE_NAMES) {
      const r = parseProfile(readFileSync(join(dir, `${name}.yaml`), 'utf8'));
      if (!r.ok) throw new Error(`profile ${name} is invalid: ${r.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
      this.profiles.set(name, { name, description: r.description ?? '', config: r.config });
    }
  }

  get(name: string): Profile | undefined {
    return this.profiles.get(name);
  }

  all(): readonly Profile[] {
    return [...this.profiles.values()];
  }
}
