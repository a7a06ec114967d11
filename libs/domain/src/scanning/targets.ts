// From what a user typed to the set of addresses a scan may touch. Every input is either accepted
// in a canonical form or refused with a stable code; nothing is passed on as the user wrote it.

import { normalizeHostname } from './hostname.js';
import {
  formatCidr,
  formatIPv4,
  formatIPv6,
  isIPv4Mapped,
  IPV4_MAPPED_FIRST,
  IPV4_MAPPED_LAST,
  looksLikeIpRange,
  parseCidr,
  parseIp,
  parseIpRange,
  type IpFamily,
} from './ip.js';
import { containsPoint, countIntervals, mergeIntervals, V4_OPS, V6_OPS, type Interval } from './intervals.js';
import { CompiledScope, TargetScopeError, type TargetScope } from './scope.js';

export const TARGET_REFUSAL_CODES = [
  'empty',
  'option_like',
  'shell_metacharacter',
  'invalid_ip',
  'invalid_cidr',
  'invalid_range',
  'invalid_hostname',
  'cidr_too_large',
  'range_too_large',
  'reversed_range',
  'out_of_scope',
  'unresolvable',
  'timeout',
] as const;
export type TargetRefusalCode = (typeof TARGET_REFUSAL_CODES)[number];

export type TargetKind = 'ip' | 'cidr' | 'range' | 'hostname';

/**
 * The smallest prefix length accepted per family; ranges are held to the same number of addresses.
 * IPv6 stops at /96 so that no single input exceeds 2^32 addresses and counts stay exact numbers.
 */
export interface CidrCap {
  readonly ipv4: number;
  readonly ipv6: number;
}
export const DEFAULT_CIDR_CAP: CidrCap = { ipv4: 16, ipv6: 112 };

export interface ParseTargetsOptions {
  readonly scope?: TargetScope;
  readonly cidrCap?: Partial<CidrCap>;
}

/** Distinct addresses as merged intervals; enumerate lazily with iterateTargets. */
export interface TargetSet {
  readonly v4: readonly Interval<number>[];
  readonly v6: readonly Interval<bigint>[];
}

export interface AddressSpan {
  readonly family: IpFamily;
  readonly first: string;
  readonly last: string;
  readonly count: number;
}

export interface RefusedTargetInput {
  readonly input: string;
  readonly status: 'refused';
  readonly reason: TargetRefusalCode;
  readonly message: string;
  readonly kind?: TargetKind;
  readonly normalized?: string;
}

export interface AddressTargetInput {
  readonly input: string;
  readonly status: 'accepted';
  readonly kind: 'ip' | 'cidr' | 'range';
  readonly normalized: string;
  readonly span: AddressSpan;
  /** Addresses of the span left after the scope: the span minus denied or not-allowed parts. */
  readonly inScope: number;
  readonly excludedByScope: number;
  /** The same normalised text was given earlier in the request. */
  readonly duplicate: boolean;
}

export interface HostnameTargetInput {
  readonly input: string;
  /** 'pending' until collapseTargets has the resolver's answer. */
  readonly status: 'pending' | 'accepted';
  readonly kind: 'hostname';
  readonly normalized: string;
  readonly duplicate: boolean;
  /** Resolved addresses that will be scanned (canonical text). */
  readonly ips: readonly string[];
  /** Resolved addresses dropped by the scope. */
  readonly excludedIps: readonly string[];
}

export type TargetInputOutcome = RefusedTargetInput | AddressTargetInput | HostnameTargetInput;

export interface TargetSummary {
  /** Inputs given. */
  readonly provided: number;
  /** Addresses (and host names) of accepted inputs already covered by another accepted input. */
  readonly duplicatesRemoved: number;
  /** name → IP attachments that landed on an IP already targeted: scans saved by collapsing. */
  readonly hostnamesCollapsed: number;
  /** Refused inputs per reason; reasons with no inputs are absent. */
  readonly refused: Readonly<Partial<Record<TargetRefusalCode, number>>>;
  /** Distinct addresses to scan. */
  readonly accepted: number;
  /** Addresses inside accepted CIDRs/ranges that the scope cut out. */
  readonly excludedByScope: number;
  /** Distinct host names not resolved yet (0 after collapseTargets). */
  readonly hostnamesPending: number;
}

export interface ParsedTargets {
  readonly targets: TargetSet;
  /** Distinct, normalised, in-scope names still to resolve, in request order. */
  readonly hostnames: readonly string[];
  readonly inputs: readonly TargetInputOutcome[];
  readonly summary: TargetSummary;
  /** Kept so that collapseTargets checks resolved addresses against the same scope. */
  readonly scope: CompiledScope;
}

type Classified =
  | { readonly ok: false; readonly reason: TargetRefusalCode; readonly message: string; readonly kind?: TargetKind }
  | {
      readonly ok: true;
      readonly kind: 'ip' | 'cidr' | 'range';
      readonly family: IpFamily;
      readonly first: number | bigint;
      readonly last: number | bigint;
      readonly normalized: string;
    }
  | { readonly ok: true; readonly kind: 'hostname'; readonly name: string };

// Characters a shell, nmap's own target syntax (",", "*", "[") or a file path would give meaning to.
// "/" is judged separately: it is fine in a CIDR and nowhere else.
const FORBIDDEN = /[\s;&|`$()<>\\"'*?[\]{}~!#%^=,@+\u0000-\u001f\u007f]/;

// "::/0" has no hex digit but is a CIDR all the same (and must be refused as too large, not as a path).
const CIDR_SHAPE = /^(?:[0-9a-fA-F:.]*[0-9a-fA-F][0-9a-fA-F:.]*|::)\/[0-9]{1,3}$/;

function describeChar(c: string): string {
  return /[\u0000-\u0020\u007f]|\s/.test(c) ? JSON.stringify(c) : `"${c}"`;
}

const fmt = (family: IpFamily, v: number | bigint) => (family === 4 ? formatIPv4(v as number) : formatIPv6(v as bigint));

const spanSize = (family: IpFamily, first: number | bigint, last: number | bigint) =>
  family === 4 ? (last as number) - (first as number) + 1 : Number((last as bigint) - (first as bigint) + 1n);

function overlapsMapped(first: bigint, last: bigint): boolean {
  return first <= IPV4_MAPPED_LAST && last >= IPV4_MAPPED_FIRST;
}

const MAPPED_HINT = 'IPv4-mapped IPv6 addresses (::ffff:0:0/96) are refused: give the IPv4 address instead';

function classify(raw: unknown, cap: CidrCap): Classified {
  if (typeof raw !== 'string') return { ok: false, reason: 'empty', message: 'target must be a string' };
  const text = raw.trim();
  if (text === '') return { ok: false, reason: 'empty', message: 'empty target' };
  if (text.startsWith('-')) {
    return { ok: false, reason: 'option_like', message: `"${text.slice(0, 40)}" looks like a command-line option, not a target` };
  }
  const bad = FORBIDDEN.exec(text);
  if (bad) return { ok: false, reason: 'shell_metacharacter', message: `character ${describeChar(bad[0])} is not allowed in a target` };

  if (text.includes('/')) {
    if (!CIDR_SHAPE.test(text)) {
      return { ok: false, reason: 'shell_metacharacter', message: '"/" is only allowed in a CIDR such as 10.0.0.0/24' };
    }
    const c = parseCidr(text);
    if (!c.ok) return { ok: false, reason: 'invalid_cidr', message: c.message, kind: 'cidr' };
    const { family, prefix, first, last } = c.cidr;
    const min = family === 4 ? cap.ipv4 : cap.ipv6;
    // Size before the mapped-block check: "::/0" is first of all far too large.
    if (prefix < min) {
      const bits = family === 4 ? 32 : 128;
      return {
        ok: false,
        reason: 'cidr_too_large',
        kind: 'cidr',
        message:
          `${formatCidr(c.cidr)} has ${(2n ** BigInt(bits - prefix)).toString()} addresses; ` +
          `the cap is /${min} (${2 ** (bits - min)} addresses) for IPv${family}: split it into /${min} blocks`,
      };
    }
    if (family === 6 && overlapsMapped(first as bigint, last as bigint)) {
      return { ok: false, reason: 'invalid_cidr', message: MAPPED_HINT, kind: 'cidr' };
    }
    return { ok: true, kind: 'cidr', family, first, last, normalized: formatCidr(c.cidr) };
  }

  if (looksLikeIpRange(text)) {
    const r = parseIpRange(text);
    if (!r.ok) return { ok: false, reason: r.code, message: r.message, kind: 'range' };
    const bits = r.family === 4 ? 32 : 128;
    const min = r.family === 4 ? cap.ipv4 : cap.ipv6;
    const limit = 2 ** (bits - min);
    const size =
      r.family === 4 ? (r.last as number) - (r.first as number) + 1 : (r.last as bigint) - (r.first as bigint) + 1n;
    if (size > limit) {
      return {
        ok: false,
        reason: 'range_too_large',
        kind: 'range',
        message: `range has ${size.toString()} addresses; the cap is ${limit} (a /${min}) for IPv${r.family}`,
      };
    }
    if (r.family === 6 && overlapsMapped(r.first as bigint, r.last as bigint)) {
      return { ok: false, reason: 'invalid_range', message: MAPPED_HINT, kind: 'range' };
    }
    return {
      ok: true,
      kind: 'range',
      family: r.family,
      first: r.first,
      last: r.last,
      normalized: `${fmt(r.family, r.first)}-${fmt(r.family, r.last)}`,
    };
  }

  if (text.includes(':') || /^[0-9.]+$/.test(text)) {
    const ip = parseIp(text);
    if (ip === null) {
      const hint = text.includes(':') && !/^[0-9a-fA-F:.]+$/.test(text) ? ' (ports belong in the scan configuration)' : '';
      return { ok: false, reason: 'invalid_ip', message: `${text} is not a valid IPv${text.includes(':') ? 6 : 4} address${hint}`, kind: 'ip' };
    }
    if (ip.family === 6 && isIPv4Mapped(ip.value)) return { ok: false, reason: 'invalid_ip', message: MAPPED_HINT, kind: 'ip' };
    return { ok: true, kind: 'ip', family: ip.family, first: ip.value, last: ip.value, normalized: fmt(ip.family, ip.value) };
  }

  const h = normalizeHostname(text);
  if (!h.ok) return { ok: false, reason: 'invalid_hostname', message: h.message, kind: 'hostname' };
  return { ok: true, kind: 'hostname', name: h.name };
}

function resolveCap(partial: Partial<CidrCap> | undefined): CidrCap {
  const cap = { ...DEFAULT_CIDR_CAP, ...partial };
  if (!Number.isInteger(cap.ipv4) || cap.ipv4 < 0 || cap.ipv4 > 32) throw new RangeError(`cidrCap.ipv4 must be 0..32, got ${cap.ipv4}`);
  if (!Number.isInteger(cap.ipv6) || cap.ipv6 < 96 || cap.ipv6 > 128) throw new RangeError(`cidrCap.ipv6 must be 96..128, got ${cap.ipv6}`);
  return cap;
}

function compileScope(scope: TargetScope | undefined): CompiledScope {
  if (scope === undefined) return CompiledScope.unrestricted;
  const r = CompiledScope.compile(scope);
  if (!r.ok) throw new TargetScopeError(r.errors);
  return r.scope;
}

export function countRefusals(outcomes: readonly TargetInputOutcome[]): Partial<Record<TargetRefusalCode, number>> {
  const refused: Partial<Record<TargetRefusalCode, number>> = {};
  for (const o of outcomes) if (o.status === 'refused') refused[o.reason] = (refused[o.reason] ?? 0) + 1;
  return refused;
}

/**
 * Classifies, normalises, scope-clips and de-duplicates targets. IP inputs end up in `targets`;
 * host names are listed for resolution (see resolveHostnames and collapseTargets).
 * Throws TargetScopeError when the scope itself is invalid (check it with validateTargetScope first).
 */
export function parseTargets(inputs: readonly string[], opts: ParseTargetsOptions = {}): ParsedTargets {
  const cap = resolveCap(opts.cidrCap);
  const scope = compileScope(opts.scope);
  const outcomes: TargetInputOutcome[] = [];
  const v4: Interval<number>[] = [];
  const v6: Interval<bigint>[] = [];
  const seen = new Set<string>();
  const names: string[] = [];
  let addressesGiven = 0;
  let nameDuplicates = 0;
  let excludedByScope = 0;

  for (const input of inputs) {
    const c = classify(input, cap);
    if (!c.ok) {
      outcomes.push({ input, status: 'refused', reason: c.reason, message: c.message, ...(c.kind ? { kind: c.kind } : {}) });
      continue;
    }
    if (c.kind === 'hostname') {
      const name = c.name;
      if (scope.nameDenied(name) || (!scope.nameAllowed(name) && !scope.hasAddressAllowEntries)) {
        const why = scope.nameDenied(name) ? 'is on the project deny list' : 'is not on the project allow list';
        outcomes.push({ input, status: 'refused', reason: 'out_of_scope', message: `${name} ${why}`, kind: 'hostname', normalized: name });
        continue;
      }
      const key = `name:${name}`;
      const duplicate = seen.has(key);
      if (duplicate) nameDuplicates++;
      else {
        seen.add(key);
        names.push(name);
      }
      outcomes.push({ input, status: 'pending', kind: 'hostname', normalized: name, duplicate, ips: [], excludedIps: [] });
      continue;
    }

    const size = spanSize(c.family, c.first, c.last);
    const pieces =
      c.family === 4 ? scope.clip4(c.first as number, c.last as number) : scope.clip6(c.first as bigint, c.last as bigint);
    const inScope = c.family === 4 ? countIntervals(pieces as Interval<number>[], V4_OPS) : countIntervals(pieces as Interval<bigint>[], V6_OPS);
    if (inScope === 0) {
      const why = scope.allowsEverything ? 'is on the project deny list' : 'is outside the project allow list or on its deny list';
      outcomes.push({ input, status: 'refused', reason: 'out_of_scope', message: `${c.normalized} ${why}`, kind: c.kind, normalized: c.normalized });
      continue;
    }
    if (c.family === 4) v4.push(...(pieces as Interval<number>[]));
    else v6.push(...(pieces as Interval<bigint>[]));
    addressesGiven += inScope;
    excludedByScope += size - inScope;
    const key = `addr:${c.normalized}`;
    const duplicate = seen.has(key);
    seen.add(key);
    outcomes.push({
      input,
      status: 'accepted',
      kind: c.kind,
      normalized: c.normalized,
      span: { family: c.family, first: fmt(c.family, c.first), last: fmt(c.family, c.last), count: size },
      inScope,
      excludedByScope: size - inScope,
      duplicate,
    });
  }

  const targets: TargetSet = { v4: mergeIntervals(v4, V4_OPS), v6: mergeIntervals(v6, V6_OPS) };
  const accepted = countTargets(targets);
  return {
    targets,
    hostnames: names,
    inputs: outcomes,
    scope,
    summary: {
      provided: inputs.length,
      duplicatesRemoved: addressesGiven - accepted + nameDuplicates,
      hostnamesCollapsed: 0,
      refused: countRefusals(outcomes),
      accepted,
      excludedByScope,
      hostnamesPending: names.length,
    },
  };
}

export function countTargets(set: TargetSet): number {
  return countIntervals(set.v4, V4_OPS) + countIntervals(set.v6, V6_OPS);
}

/** Canonical address strings, IPv4 ascending then IPv6 ascending, made one at a time as consumed. */
export function* iterateTargets(set: TargetSet): Generator<string, void, undefined> {
  for (const [lo, hi] of set.v4) for (let n = lo; n <= hi; n++) yield formatIPv4(n);
  for (const [lo, hi] of set.v6) for (let n = lo; n <= hi; n++) yield formatIPv6(n);
}

export function targetSetHas(set: TargetSet, ip: string): boolean {
  const p = parseIp(ip);
  if (p === null) return false;
  return p.family === 4 ? containsPoint(set.v4, p.value) : containsPoint(set.v6, p.value);
}

/** A TargetSet as JSON-safe data (bigints cannot go into an event payload): inclusive [first, last] address pairs. */
export interface TargetSetJson {
  readonly ranges: readonly (readonly [first: string, last: string])[];
}

export function targetSetToJson(set: TargetSet): TargetSetJson {
  return {
    ranges: [
      ...set.v4.map(([lo, hi]) => [formatIPv4(lo), formatIPv4(hi)] as const),
      ...set.v6.map(([lo, hi]) => [formatIPv6(lo), formatIPv6(hi)] as const),
    ],
  };
}

/** Rebuilds (and re-merges) a TargetSet from JSON read off the wire; throws RangeError on anything malformed. */
export function targetSetFromJson(json: unknown): TargetSet {
  const ranges = (json as TargetSetJson | null)?.ranges;
  if (!Array.isArray(ranges)) throw new RangeError('target set JSON needs a ranges list');
  const v4: Interval<number>[] = [];
  const v6: Interval<bigint>[] = [];
  ranges.forEach((r: unknown, i) => {
    const [a, b] = Array.isArray(r) && r.length === 2 ? r : [];
    const lo = typeof a === 'string' ? parseIp(a) : null;
    const hi = typeof b === 'string' ? parseIp(b) : null;
    if (lo === null || hi === null || lo.family !== hi.family || hi.value < lo.value) {
      throw new RangeError(`ranges[${i}] must be [first, last] IP literals of one family, first ≤ last`);
    }
    if (lo.family === 4) v4.push([lo.value, hi.value as number]);
    else v6.push([lo.value, hi.value as bigint]);
  });
  return { v4: mergeIntervals(v4, V4_OPS), v6: mergeIntervals(v6, V6_OPS) };
}
