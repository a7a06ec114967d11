// What a scan does, as typed options only: there is no field for raw nmap arguments, so nothing a
// user writes reaches nmap except through the argv builders' own vocabulary.

import { IMPORT_MODES, type ImportMode } from '#events';
import { countPorts, formatPortSpec, parsePortSpec } from './ports.js';

export type ScanProtocol = 'tcp' | 'udp';
export type ScanType = 'syn' | 'connect';

/** Phase 1: which ports are open. Exactly one of ports, topPorts, allPorts. */
export interface OpenPortsConfig {
  readonly protocols: readonly ScanProtocol[];
  /** "22,80,8000-8100", for every protocol listed; normalised by the validator to sorted, merged ranges. */
  readonly ports?: string;
  readonly topPorts?: number;
  readonly allPorts?: true;
  readonly scanType: ScanType;
  /** false → -Pn: every target is assumed up (most internet hosts drop pings). */
  readonly hostDiscovery: boolean;
  /** false → -n (no reverse lookups); true → nmap's default. */
  readonly dns: boolean;
  readonly maxRetries?: number;
  readonly minRttMs?: number;
  readonly maxRttMs?: number;
  readonly initialRttMs?: number;
  readonly minRate?: number;
  readonly maxRate?: number;
  /** The worker stops this phase after it. */
  readonly timeoutSeconds: number;
}

/** Phase 2: what runs on the open ports. */
export interface ServicesConfig {
  readonly versionIntensity?: number;
  readonly defaultScripts: boolean;
  readonly aggressive: boolean;
  readonly osDetection: boolean;
  readonly traceroute: boolean;
  readonly timeoutSeconds: number;
}

export interface ScanConfig {
  readonly openPorts: OpenPortsConfig;
  /** false skips phase 2. */
  readonly services: ServicesConfig | false;
  readonly importMode: ImportMode;
  readonly singleResolve: boolean;
  /** Port shards per host: each host becomes this many tasks over disjoint port lists. */
  readonly shards: number;
}

type Overridable<T> = { readonly [K in keyof T]?: undefined extends T[K] ? T[K] | null : T[K] };

/** A partial config (a profile, a request) laid over a base by mergeConfig; null unsets an optional knob. */
export interface ScanConfigOverride {
  readonly openPorts?: Overridable<OpenPortsConfig>;
  readonly services?: false | Overridable<ServicesConfig>;
  readonly importMode?: ImportMode;
  readonly singleResolve?: boolean;
  readonly shards?: number;
}

export interface ScanConfigError {
  /** Dotted path of the offending field ("openPorts.maxRate"); "" for the whole value. */
  readonly path: string;
  readonly message: string;
}

export type ScanConfigValidation = { readonly ok: true; readonly config: ScanConfig } | { readonly ok: false; readonly errors: readonly ScanConfigError[] };
export type ScanConfigOverrideValidation =
  | { readonly ok: true; readonly override: ScanConfigOverride }
  | { readonly ok: false; readonly errors: readonly ScanConfigError[] };

// Frozen: every profile and request is merged onto these, so a stray mutation would change all scans.
export const DEFAULT_SERVICES: ServicesConfig = Object.freeze({
  defaultScripts: false,
  aggressive: false,
  osDetection: false,
  traceroute: false,
  timeoutSeconds: 1800,
});

export const DEFAULT_SCAN_CONFIG: ScanConfig = Object.freeze({
  openPorts: Object.freeze({
    protocols: Object.freeze(['tcp'] as const),
    allPorts: true,
    scanType: 'syn',
    hostDiscovery: false,
    dns: false,
    maxRetries: 1,
    minRate: 2000,
    timeoutSeconds: 1800,
  } as const),
  services: DEFAULT_SERVICES,
  importMode: 'insert',
  singleResolve: false,
  shards: 1,
} as const);

export const SCAN_CONFIG_LIMITS = {
  maxRetries: [0, 10],
  rttMs: [1, 60_000],
  rate: [1, 100_000],
  timeoutSeconds: [1, 86_400],
  versionIntensity: [0, 9],
  topPorts: [1, 65_535],
  shards: [1, 64],
} as const;

type Rule =
  | { readonly t: 'bool' }
  | { readonly t: 'int'; readonly range: readonly [number, number] }
  | { readonly t: 'enum'; readonly values: readonly string[] }
  | { readonly t: 'enumSet'; readonly values: readonly string[] }
  | { readonly t: 'ports' }
  | { readonly t: 'true' }
  | { readonly t: 'object'; readonly fields: Fields; readonly orFalse?: boolean };
type Fields = Readonly<Record<string, { readonly rule: Rule; readonly required: boolean }>>;

const req = (rule: Rule) => ({ rule, required: true });
const opt = (rule: Rule) => ({ rule, required: false });
const bool: Rule = { t: 'bool' };
const int = (range: readonly [number, number]): Rule => ({ t: 'int', range });

const OPEN_PORTS_FIELDS: Fields = {
  protocols: req({ t: 'enumSet', values: ['tcp', 'udp'] }),
  ports: opt({ t: 'ports' }),
  topPorts: opt(int(SCAN_CONFIG_LIMITS.topPorts)),
  allPorts: opt({ t: 'true' }),
  scanType: req({ t: 'enum', values: ['syn', 'connect'] }),
  hostDiscovery: req(bool),
  dns: req(bool),
  maxRetries: opt(int(SCAN_CONFIG_LIMITS.maxRetries)),
  minRttMs: opt(int(SCAN_CONFIG_LIMITS.rttMs)),
  maxRttMs: opt(int(SCAN_CONFIG_LIMITS.rttMs)),
  initialRttMs: opt(int(SCAN_CONFIG_LIMITS.rttMs)),
  minRate: opt(int(SCAN_CONFIG_LIMITS.rate)),
  maxRate: opt(int(SCAN_CONFIG_LIMITS.rate)),
  timeoutSeconds: req(int(SCAN_CONFIG_LIMITS.timeoutSeconds)),
};

const SERVICES_FIELDS: Fields = {
  versionIntensity: opt(int(SCAN_CONFIG_LIMITS.versionIntensity)),
  defaultScripts: req(bool),
  aggressive: req(bool),
  osDetection: req(bool),
  traceroute: req(bool),
  timeoutSeconds: req(int(SCAN_CONFIG_LIMITS.timeoutSeconds)),
};

const CONFIG_FIELDS: Fields = {
  openPorts: req({ t: 'object', fields: OPEN_PORTS_FIELDS }),
  services: req({ t: 'object', fields: SERVICES_FIELDS, orFalse: true }),
  importMode: req({ t: 'enum', values: IMPORT_MODES }),
  singleResolve: req(bool),
  shards: req(int(SCAN_CONFIG_LIMITS.shards)),
};

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `"${v.length > 30 ? `${v.slice(0, 30)}…` : v}"`;
  if (typeof v === 'object') return 'an object';
  return String(v);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && [Object.prototype, null].includes(Object.getPrototypeOf(v));

type Mode = 'full' | 'partial';

function check(v: unknown, rule: Rule, path: string, mode: Mode, errors: ScanConfigError[]): unknown {
  const fail = (message: string) => {
    errors.push({ path, message });
    return undefined;
  };
  switch (rule.t) {
    case 'bool':
      return typeof v === 'boolean' ? v : fail(`expected true or false, got ${describe(v)}`);
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v)) return fail(`expected an integer, got ${describe(v)}`);
      if (v < rule.range[0] || v > rule.range[1]) return fail(`must be between ${rule.range[0]} and ${rule.range[1]}, got ${v}`);
      return v;
    case 'enum':
      return typeof v === 'string' && rule.values.includes(v) ? v : fail(`expected one of ${rule.values.join(', ')}, got ${describe(v)}`);
    case 'enumSet': {
      if (!Array.isArray(v) || v.length === 0) return fail(`expected a non-empty list of ${rule.values.join(', ')}, got ${describe(v)}`);
      const seen = new Set<string>();
      v.forEach((x, i) => {
        if (typeof x !== 'string' || !rule.values.includes(x)) fail(`[${i}]: expected one of ${rule.values.join(', ')}, got ${describe(x)}`);
        else if (seen.has(x)) fail(`[${i}]: ${x} is listed twice`);
        else seen.add(x);
      });
      return rule.values.filter((x) => seen.has(x));
    }
    case 'ports': {
      if (typeof v !== 'string') return fail(`expected a port list such as "22,80,8000-8100", got ${describe(v)}`);
      const p = parsePortSpec(v);
      return p.ok ? formatPortSpec(p.ranges) : fail(p.message);
    }
    case 'true':
      return v === true ? true : fail(`can only be true (to scan another set, use ports or topPorts), got ${describe(v)}`);
    case 'object': {
      if (rule.orFalse && v === false) return false;
      if (!isPlainObject(v)) return fail(`expected ${rule.orFalse ? 'false or ' : ''}an object, got ${describe(v)}`);
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(v)) {
        if (!Object.hasOwn(rule.fields, key)) {
          errors.push({ path: join(path, key), message: `unknown field "${key}" (known: ${Object.keys(rule.fields).join(', ')})` });
        }
      }
      for (const [key, field] of Object.entries(rule.fields)) {
        const x = v[key];
        if (x === undefined || (x === null && mode === 'partial' && !field.required)) {
          if (x === null) out[key] = null;
          else if (field.required && mode === 'full') errors.push({ path: join(path, key), message: 'is required' });
          continue;
        }
        const checked = check(x, field.rule, join(path, key), mode, errors);
        if (checked !== undefined) out[key] = checked;
      }
      return out;
    }
  }
}

function crossChecks(c: ScanConfig, errors: ScanConfigError[]): void {
  const o = c.openPorts;
  const selections = (['ports', 'topPorts', 'allPorts'] as const).filter((k) => o[k] !== undefined);
  if (selections.length !== 1) {
    errors.push({
      path: 'openPorts',
      message: selections.length === 0 ? 'give one of ports, topPorts or allPorts' : `give only one of ${selections.join(', ')}`,
    });
  }
  const order = (lo: keyof OpenPortsConfig, hi: keyof OpenPortsConfig) => {
    const a = o[lo] as number | undefined;
    const b = o[hi] as number | undefined;
    if (a !== undefined && b !== undefined && a > b) errors.push({ path: `openPorts.${lo}`, message: `${lo} (${a}) must not exceed ${hi} (${b})` });
  };
  order('minRate', 'maxRate');
  order('minRttMs', 'maxRttMs');
  order('minRttMs', 'initialRttMs');
  order('initialRttMs', 'maxRttMs');
  if (c.shards > 1) {
    if (o.topPorts !== undefined) {
      errors.push({
        path: 'shards',
        message: 'topPorts cannot be sharded (the top-ports list lives in the nmap binary and differs per protocol); use ports or allPorts',
      });
    }
    if (c.importMode === 'insert') {
      errors.push({
        path: 'shards',
        message: 'sharding needs importMode append (or update/replace): in insert mode the ledger ignores a known host, so every shard after the first would be dropped',
      });
    }
    if (o.ports !== undefined) {
      const p = parsePortSpec(o.ports);
      if (p.ok && countPorts(p.ranges) < c.shards) {
        errors.push({ path: 'shards', message: `${c.shards} shards but only ${countPorts(p.ranges)} ports` });
      }
    }
  }
}

/** Checks a complete config: unknown fields, types, ranges and the rules between fields. */
export function validateScanConfig(input: unknown): ScanConfigValidation {
  const errors: ScanConfigError[] = [];
  const out = check(input, { t: 'object', fields: CONFIG_FIELDS }, '', 'full', errors) as ScanConfig | undefined;
  if (errors.length === 0 && out) crossChecks(out, errors);
  return errors.length > 0 || !out ? { ok: false, errors } : { ok: true, config: out };
}

/** Checks a partial config: same fields and bounds, nothing required; null unsets an optional knob. */
export function validateScanConfigOverride(input: unknown): ScanConfigOverrideValidation {
  const errors: ScanConfigError[] = [];
  const out = check(input, { t: 'object', fields: CONFIG_FIELDS }, '', 'partial', errors) as ScanConfigOverride | undefined;
  return errors.length > 0 || !out ? { ok: false, errors } : { ok: true, override: out };
}

function overlay<T extends object>(base: T, override: object): T {
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(override)) {
    if (v === null) delete out[k];
    else if (v !== undefined) out[k] = v;
  }
  return out as T;
}

const PORT_SELECTION = ['ports', 'topPorts', 'allPorts'] as const;

/**
 * Lays `override` over `base`. Choosing a port selection (ports, topPorts or allPorts) replaces the
 * base's; `services: false` turns phase 2 off and an object turns it on over DEFAULT_SERVICES.
 * The result is not validated: run validateScanConfig on it.
 */
export function mergeConfig(base: ScanConfig, override: ScanConfigOverride): ScanConfig {
  let openPorts = base.openPorts;
  if (override.openPorts) {
    const picks = PORT_SELECTION.some((k) => override.openPorts![k] !== undefined && override.openPorts![k] !== null);
    const start: Record<string, unknown> = { ...base.openPorts };
    if (picks) for (const k of PORT_SELECTION) delete start[k];
    openPorts = overlay(start as unknown as OpenPortsConfig, override.openPorts);
  }
  let services = base.services;
  if (override.services === false) services = false;
  else if (override.services) services = overlay(base.services || DEFAULT_SERVICES, override.services);
  const top = overlay(base, { importMode: override.importMode, singleResolve: override.singleResolve, shards: override.shards });
  return { ...top, openPorts, services };
}
