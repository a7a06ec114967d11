// A project's scope: what its members may scan. Deny always wins; an empty allow list means
// "anything not denied". Address entries become merged intervals so a check is a binary search.

import { normalizeHostname } from './hostname.js';
import { looksLikeIpRange, parseCidr, parseIp, parseIpRange, type IpFamily } from './ip.js';
import {
  containsPoint,
  intersectInterval,
  mergeIntervals,
  subtractFromInterval,
  V4_OPS,
  V6_OPS,
  type Interval,
} from './intervals.js';

/**
 * Entries are IPs, CIDRs (any size), dash ranges, host names (exact match) or "*.example.com"
 * (every name below example.com, not example.com itself: list both to cover both).
 */
export interface TargetScope {
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
}

export interface ScopeEntryError {
  readonly list: 'allow' | 'deny';
  readonly index: number;
  readonly entry: string;
  readonly message: string;
}

interface NameRules {
  readonly exact: ReadonlySet<string>;
  readonly suffixes: readonly string[];
}

interface ScopeList {
  readonly v4: readonly Interval<number>[];
  readonly v6: readonly Interval<bigint>[];
  readonly names: NameRules;
  readonly size: number;
}

export class TargetScopeError extends Error {
  readonly code = 'SCANNING.SCOPE_INVALID';
  constructor(readonly errors: readonly ScopeEntryError[]) {
    super(`invalid scope: ${errors.map((e) => `${e.list}[${e.index}] "${e.entry}": ${e.message}`).join('; ')}`);
  }
}

function matchesName(rules: NameRules, name: string): boolean {
  if (rules.exact.has(name)) return true;
  for (const s of rules.suffixes) if (name.endsWith(s)) return true;
  return false;
}

function compileList(list: 'allow' | 'deny', entries: readonly string[], errors: ScopeEntryError[]): ScopeList {
  const v4: Interval<number>[] = [];
  const v6: Interval<bigint>[] = [];
  const exact = new Set<string>();
  const suffixes: string[] = [];
  entries.forEach((raw, index) => {
    const entry = typeof raw === 'string' ? raw.trim() : '';
    const fail = (message: string) => errors.push({ list, index, entry: String(raw), message });
    if (entry === '') return fail('empty entry');
    const add = (family: IpFamily, lo: number | bigint, hi: number | bigint) =>
      family === 4 ? v4.push([lo as number, hi as number]) : v6.push([lo as bigint, hi as bigint]);
    if (entry.includes('/')) {
      const c = parseCidr(entry);
      return c.ok ? add(c.cidr.family, c.cidr.first, c.cidr.last) : fail(c.message);
    }
    const ip = parseIp(entry);
    if (ip !== null) return add(ip.family, ip.value, ip.value);
    if (looksLikeIpRange(entry)) {
      const r = parseIpRange(entry);
      return r.ok ? add(r.family, r.first, r.last) : fail(r.message);
    }
    const wildcard = entry.startsWith('*.');
    const h = normalizeHostname(wildcard ? entry.slice(2) : entry);
    if (!h.ok) return fail(h.message);
    if (wildcard) suffixes.push(`.${h.name}`);
    else exact.add(h.name);
  });
  return {
    v4: mergeIntervals(v4, V4_OPS),
    v6: mergeIntervals(v6, V6_OPS),
    names: { exact, suffixes },
    size: entries.length,
  };
}

export type ScopeCompile = { readonly ok: true; readonly scope: CompiledScope } | { readonly ok: false; readonly errors: readonly ScopeEntryError[] };

export class CompiledScope {
  private constructor(
    private readonly allow: ScopeList,
    private readonly deny: ScopeList,
  ) {}

  static compile(scope: TargetScope = {}): ScopeCompile {
    const errors: ScopeEntryError[] = [];
    const allow = compileList('allow', scope.allow ?? [], errors);
    const deny = compileList('deny', scope.deny ?? [], errors);
    return errors.length > 0 ? { ok: false, errors } : { ok: true, scope: new CompiledScope(allow, deny) };
  }

  static readonly unrestricted: CompiledScope = new CompiledScope(
    { v4: [], v6: [], names: { exact: new Set(), suffixes: [] }, size: 0 },
    { v4: [], v6: [], names: { exact: new Set(), suffixes: [] }, size: 0 },
  );

  get allowsEverything(): boolean {
    return this.allow.size === 0;
  }

  /** Whether any address entry is on the allow list: without one, only allowed names can bring IPs in. */
  get hasAddressAllowEntries(): boolean {
    return this.allow.v4.length > 0 || this.allow.v6.length > 0;
  }

  nameDenied(name: string): boolean {
    return matchesName(this.deny.names, name);
  }

  nameAllowed(name: string): boolean {
    return this.allowsEverything || matchesName(this.allow.names, name);
  }

  ipDenied(family: IpFamily, value: number | bigint): boolean {
    return family === 4 ? containsPoint(this.deny.v4, value as number) : containsPoint(this.deny.v6, value as bigint);
  }

  ipAllowed(family: IpFamily, value: number | bigint): boolean {
    if (this.ipDenied(family, value)) return false;
    if (this.allowsEverything) return true;
    return family === 4 ? containsPoint(this.allow.v4, value as number) : containsPoint(this.allow.v6, value as bigint);
  }

  /** The parts of [lo, hi] that may be scanned: inside the allow list (when it has entries) and outside the deny list. */
  clip4(lo: number, hi: number): Interval<number>[] {
    const allowed = this.allowsEverything ? [[lo, hi] as const] : intersectInterval(lo, hi, this.allow.v4);
    return allowed.flatMap(([l, h]) => subtractFromInterval(l, h, this.deny.v4, V4_OPS));
  }

  clip6(lo: bigint, hi: bigint): Interval<bigint>[] {
    const allowed = this.allowsEverything ? [[lo, hi] as const] : intersectInterval(lo, hi, this.allow.v6);
    return allowed.flatMap(([l, h]) => subtractFromInterval(l, h, this.deny.v6, V6_OPS));
  }

  /**
   * A host name brought this IP in: it may be scanned unless the name or the IP is denied, and,
   * when there is an allow list, either the name or the IP is on it.
   */
  pairAllowed(name: string, family: IpFamily, value: number | bigint): boolean {
    if (this.nameDenied(name) || this.ipDenied(family, value)) return false;
    if (this.allowsEverything) return true;
    if (matchesName(this.allow.names, name)) return true;
    return family === 4 ? containsPoint(this.allow.v4, value as number) : containsPoint(this.allow.v6, value as bigint);
  }
}

/** Checks a scope before it is stored, naming each bad entry. */
export function validateTargetScope(scope: TargetScope): readonly ScopeEntryError[] {
  const r = CompiledScope.compile(scope);
  return r.ok ? [] : r.errors;
}
