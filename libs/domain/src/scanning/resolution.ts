// Host names become addresses through an injected Resolver (the app wires DNS; tests use a map),
// then collapse onto IPs: one scan per address however many names lead to it.

import { formatIp, isIPv4Mapped, parseIp, type ParsedIp } from './ip.js';
import { containsPoint, mergeIntervals, V4_OPS, V6_OPS, type Interval } from './intervals.js';
import {
  countRefusals,
  countTargets,
  iterateTargets,
  type HostnameTargetInput,
  type ParsedTargets,
  type TargetInputOutcome,
  type TargetSet,
  type TargetSummary,
} from './targets.js';

/**
 * Answers with every address of a name. Resolve to [] when the name has no addresses (NXDOMAIN,
 * NODATA): that is final and not retried. Reject for transient failures, which are retried.
 * The signal aborts when the caller stops waiting, so a real resolver can cancel its query.
 */
export interface Resolver {
  resolve(name: string, signal?: AbortSignal): Promise<readonly string[]>;
}

export interface ResolveOptions {
  /** Per attempt. */
  readonly timeoutMs: number;
  /** Extra attempts after a timeout or a rejected lookup. */
  readonly retries: number;
  /** Keep only the first address: a CDN name may answer with many addresses that are all the same edge. */
  readonly singleResolve: boolean;
  /** Lookups in flight at once. */
  readonly concurrency?: number;
  readonly retryDelayMs?: number;
}

export type ResolutionFailure = 'unresolvable' | 'timeout';

export type HostnameResolution =
  | { readonly ok: true; readonly ips: readonly string[] }
  | { readonly ok: false; readonly reason: ResolutionFailure; readonly message: string };

type Attempt = { kind: 'answer'; ips: readonly unknown[] } | { kind: 'timeout' } | { kind: 'error'; message: string };

function attempt(resolver: Resolver, name: string, timeoutMs: number): Promise<Attempt> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<Attempt>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ kind: 'timeout' });
    }, timeoutMs);
  });
  const lookup = Promise.resolve()
    .then(() => resolver.resolve(name, controller.signal))
    .then(
      (ips): Attempt => (Array.isArray(ips) ? { kind: 'answer', ips } : { kind: 'error', message: 'resolver returned a non-list' }),
      (e: unknown): Attempt => ({ kind: 'error', message: e instanceof Error ? e.message : String(e) }),
    );
  return Promise.race([lookup, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolver answers are untrusted text too: only IP literals survive, canonicalised and de-duplicated. */
function cleanAnswer(ips: readonly unknown[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const raw of ips) {
    if (typeof raw !== 'string') continue;
    const ip = parseIp(raw.trim());
    if (ip === null || (ip.family === 6 && isIPv4Mapped(ip.value))) continue;
    const text = formatIp(ip);
    if (!seen.has(text)) {
      seen.add(text);
      out.push(text);
    }
  }
  return out;
}

async function resolveOne(name: string, resolver: Resolver, opts: ResolveOptions): Promise<HostnameResolution> {
  let last: HostnameResolution = { ok: false, reason: 'unresolvable', message: `${name} did not resolve` };
  for (let i = 0; i <= opts.retries; i++) {
    if (i > 0 && opts.retryDelayMs) await sleep(opts.retryDelayMs);
    const a = await attempt(resolver, name, opts.timeoutMs);
    if (a.kind === 'answer') {
      const ips = cleanAnswer(a.ips);
      if (ips.length === 0) return { ok: false, reason: 'unresolvable', message: `${name} has no usable addresses` };
      return { ok: true, ips: opts.singleResolve ? ips.slice(0, 1) : ips };
    }
    last =
      a.kind === 'timeout'
        ? { ok: false, reason: 'timeout', message: `${name}: no answer within ${opts.timeoutMs} ms (${i + 1} attempt${i ? 's' : ''})` }
        : { ok: false, reason: 'unresolvable', message: `${name}: ${a.message}` };
  }
  return last;
}

/** Resolves each name (keys of the result are the names exactly as passed, e.g. ParsedTargets.hostnames). */
export async function resolveHostnames(
  names: readonly string[],
  resolver: Resolver,
  opts: ResolveOptions,
): Promise<ReadonlyMap<string, HostnameResolution>> {
  if (!Number.isInteger(opts.timeoutMs) || opts.timeoutMs < 1) throw new RangeError('timeoutMs must be a positive integer');
  if (!Number.isInteger(opts.retries) || opts.retries < 0 || opts.retries > 10) throw new RangeError('retries must be 0..10');
  const concurrency = opts.concurrency ?? 32;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a positive integer');

  const unique = [...new Set(names)];
  const results = new Map<string, HostnameResolution>();
  let next = 0;
  const worker = async () => {
    while (next < unique.length) {
      const name = unique[next++];
      results.set(name, await resolveOne(name, resolver, opts));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, unique.length) }, worker));
  return new Map(names.map((n) => [n, results.get(n)!] as const));
}

export interface CollapsedTargets {
  /** Every distinct address to scan: given directly, inside a CIDR/range, or reached through a name. */
  readonly targets: TargetSet;
  /** Names that led to each address, in request order; addresses given only as IPs are absent. */
  readonly hostnamesByIp: ReadonlyMap<string, readonly string[]>;
  /** One outcome per input, in request order: input → IPs (span or list) → names via hostnamesByIp. */
  readonly inputs: readonly TargetInputOutcome[];
  readonly summary: TargetSummary;
}

/**
 * Folds resolved names into the parsed targets. A name whose answer is missing from `resolutions`
 * counts as unresolvable. Resolved addresses go through the same scope as typed ones.
 */
export function collapseTargets(parsed: ParsedTargets, resolutions: ReadonlyMap<string, HostnameResolution>): CollapsedTargets {
  const { scope, targets: given } = parsed;
  const hostnamesByIp = new Map<string, string[]>();
  const added = new Set<string>();
  const newV4: Interval<number>[] = [];
  const newV6: Interval<bigint>[] = [];
  let collapsed = 0;
  const byName = new Map<string, TargetInputOutcome>();

  const alreadyGiven = (ip: ParsedIp) => (ip.family === 4 ? containsPoint(given.v4, ip.value) : containsPoint(given.v6, ip.value));

  for (const name of parsed.hostnames) {
    const r = resolutions.get(name) ?? { ok: false, reason: 'unresolvable', message: `${name} was not resolved` };
    if (!r.ok) {
      byName.set(name, { input: name, status: 'refused', reason: r.reason, message: r.message, kind: 'hostname', normalized: name });
      continue;
    }
    const ips: string[] = [];
    const excludedIps: string[] = [];
    for (const text of r.ips) {
      const ip = parseIp(text);
      if (ip === null || (ip.family === 6 && isIPv4Mapped(ip.value))) continue;
      const canonical = formatIp(ip);
      if (!scope.pairAllowed(name, ip.family, ip.value)) {
        excludedIps.push(canonical);
        continue;
      }
      ips.push(canonical);
      const names = hostnamesByIp.get(canonical);
      if (names) names.push(name);
      else hostnamesByIp.set(canonical, [name]);
      if (alreadyGiven(ip) || added.has(canonical)) {
        collapsed++;
      } else {
        added.add(canonical);
        if (ip.family === 4) newV4.push([ip.value, ip.value]);
        else newV6.push([ip.value, ip.value]);
      }
    }
    byName.set(
      name,
      ips.length === 0
        ? {
            input: name,
            status: 'refused',
            reason: 'out_of_scope',
            message: `every address of ${name} (${excludedIps.join(', ') || 'none usable'}) is outside the project scope`,
            kind: 'hostname',
            normalized: name,
          }
        : { input: name, status: 'accepted', kind: 'hostname', normalized: name, duplicate: false, ips, excludedIps },
    );
  }

  let addressDuplicates = parsed.summary.duplicatesRemoved;
  let acceptedNameDuplicates = 0;
  const inputs = parsed.inputs.map((o): TargetInputOutcome => {
    if (o.kind !== 'hostname' || o.status !== 'pending') return o;
    const pending = o as HostnameTargetInput;
    if (pending.duplicate) addressDuplicates--;
    const r = byName.get(pending.normalized)!;
    if (r.status === 'refused') return { ...r, input: o.input };
    if (pending.duplicate) acceptedNameDuplicates++;
    return { ...r, input: o.input, duplicate: pending.duplicate } as HostnameTargetInput;
  });

  const targets: TargetSet = {
    v4: newV4.length ? mergeIntervals([...given.v4, ...newV4], V4_OPS) : given.v4,
    v6: newV6.length ? mergeIntervals([...given.v6, ...newV6], V6_OPS) : given.v6,
  };
  return {
    targets,
    hostnamesByIp,
    inputs,
    summary: {
      provided: parsed.summary.provided,
      duplicatesRemoved: addressDuplicates + acceptedNameDuplicates,
      hostnamesCollapsed: collapsed,
      refused: countRefusals(inputs),
      accepted: countTargets(targets),
      excludedByScope: parsed.summary.excludedByScope,
      hostnamesPending: 0,
    },
  };
}

/** Addresses with the names that led to them, lazily, in iterateTargets order. */
export function* iterateTargetsWithHostnames(
  collapsed: Pick<CollapsedTargets, 'targets' | 'hostnamesByIp'>,
): Generator<{ readonly ip: string; readonly hostnames: readonly string[] }, void, undefined> {
  for (const ip of iterateTargets(collapsed.targets)) yield { ip, hostnames: collapsed.hostnamesByIp.get(ip) ?? [] };
}
