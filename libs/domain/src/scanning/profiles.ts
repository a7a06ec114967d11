// Named scan profiles are YAML overrides of DEFAULT_SCAN_CONFIG, shipped in ./profiles. Reading the
// files is the app's job; this only parses text, through the same validator as API requests.

import { parseDocument } from 'yaml';
import {
  DEFAULT_SCAN_CONFIG,
  mergeConfig,
  validateScanConfig,
  validateScanConfigOverride,
  type ScanConfig,
  type ScanConfigError,
  type ScanConfigOverride,
} from './scan-config.js';

/** Files `<name>.yaml` next to this module, in libs/domain/src/scanning/profiles/. */
export const PROFILE_NAMES = [
  'default',
  'fast',
  'only-open-ports',
  'udp',
  'web',
  'full-range',
  'update-enrichment',
  'port-sharding',
] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export const isProfileName = (s: string): s is ProfileName => (PROFILE_NAMES as readonly string[]).includes(s);

export type ProfileParse =
  | { readonly ok: true; readonly config: ScanConfig; readonly override: ScanConfigOverride; readonly description?: string }
  | { readonly ok: false; readonly errors: readonly ScanConfigError[] };

const MAX_PROFILE_BYTES = 64 * 1024;

/**
 * Parses a profile (a possibly partial config plus an optional `description`) and merges it onto
 * `base`. The merged result must pass validateScanConfig.
 */
export function parseProfile(yamlText: string, base: ScanConfig = DEFAULT_SCAN_CONFIG): ProfileParse {
  if (yamlText.length > MAX_PROFILE_BYTES) return { ok: false, errors: [{ path: '', message: `profile is larger than ${MAX_PROFILE_BYTES} bytes` }] };
  // The core schema keeps "yes"/"no"/"on" as strings, and without merge keys an alias cannot smuggle
  // in fields; aliases are capped so a small file cannot expand into a huge value.
  const doc = parseDocument(yamlText, { schema: 'core', merge: false, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) return { ok: false, errors: doc.errors.map((e) => ({ path: '', message: `YAML: ${e.message}` })) };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 20 }) ?? {};
  } catch (e) {
    return { ok: false, errors: [{ path: '', message: `YAML: ${(e as Error).message}` }] };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, errors: [{ path: '', message: 'a profile is a mapping of config fields' }] };
  }
  const { description, ...fields } = value as Record<string, unknown>;
  if (description !== undefined && typeof description !== 'string') {
    return { ok: false, errors: [{ path: 'description', message: 'expected text' }] };
  }
  const o = validateScanConfigOverride(fields);
  if (!o.ok) return o;
  const merged = validateScanConfig(mergeConfig(base, o.override));
  if (!merged.ok) return merged;
  return { ok: true, config: merged.config, override: o.override, ...(description !== undefined ? { description } : {}) };
}
