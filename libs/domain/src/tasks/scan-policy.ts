// A project's safe-scanning policy and the dispatch rule that enforces it. Pure: the planner (the
// single writer of its project's tasks) counts what is in flight and asks these functions which
// waiting task may be offered now. A task is "in flight" from its offer until it finishes or is
// taken back, whichever worker holds it: that is what makes the budget fleet-wide.
//
// Hosts at once: a task runs its addresses one nmap process (one host) at a time, so a task that
// touches a budget's network holds exactly one host of it while in flight, however many addresses
// its block has. Packets per second: each task in flight on a budget gets maxPps / maxHosts as its
// nmap --max-rate (both phases), so the budget's tasks together never exceed maxPps.

import type { AddressRanges } from '#events';
import { formatCidr, parseCidr, parseIp, type IpFamily } from '../scanning/ip.js';
import { isInsideWindow, nextWindowChange, validateScanWindow, type ScanWindow } from './scan-window.js';

export interface RateBudget {
  /** Canonical network ("10.0.0.0/16"). */
  readonly cidr: string;
  readonly maxHosts: number;
  /** Packets per second into the network, split evenly over maxHosts; absent: hosts only. */
  readonly maxPps?: number;
}

export interface ScanPolicy {
  readonly budgets: readonly RateBudget[];
  readonly window: ScanWindow | null;
}

export const EMPTY_SCAN_POLICY: ScanPolicy = Object.freeze({ budgets: Object.freeze([]), window: null });

export const SCAN_POLICY_LIMITS = { budgets: 100, maxHosts: [1, 10_000], maxPps: [1, 1_000_000] } as const;

export type ScanPolicyError = { readonly path: string; readonly message: string };

const isInt = (v: unknown, [lo, hi]: readonly [number, number]): v is number => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;

export function validateScanPolicy(input: unknown): { ok: true; policy: ScanPolicy } | { ok: false; errors: ScanPolicyError[] } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { ok: false, errors: [{ path: '', message: 'must be {budgets: [...], window: {...} | null}' }] };
  const o = input as Record<string, unknown>;
  const errors: ScanPolicyError[] = [];
  for (const k of Object.keys(o)) if (!['budgets', 'window'].includes(k)) errors.push({ path: k, message: 'unknown field' });
  const budgets: RateBudget[] = [];
  const raw = o.budgets ?? [];
  if (!Array.isArray(raw)) errors.push({ path: 'budgets', message: 'must be a list' });
  else if (raw.length > SCAN_POLICY_LIMITS.budgets) errors.push({ path: 'budgets', message: `at most ${SCAN_POLICY_LIMITS.budgets} budgets` });
  else
    raw.forEach((b, i) => {
      const path = `budgets[${i}]`;
      if (typeof b !== 'object' || b === null || Array.isArray(b)) return void errors.push({ path, message: 'must be {cidr, maxHosts, maxPps?}' });
      const x = b as Record<string, unknown>;
      for (const k of Object.keys(x)) if (!['cidr', 'maxHosts', 'maxPps'].includes(k)) errors.push({ path: `${path}.${k}`, message: 'unknown field' });
      const c = typeof x.cidr === 'string' ? parseCidr(x.cidr.trim()) : ({ ok: false, message: 'must be a CIDR such as 10.0.0.0/16' } as const);
      if (!c.ok) errors.push({ path: `${path}.cidr`, message: c.message });
      if (!isInt(x.maxHosts, SCAN_POLICY_LIMITS.maxHosts)) errors.push({ path: `${path}.maxHosts`, message: `must be an integer ${SCAN_POLICY_LIMITS.maxHosts.join('..')}` });
      if (x.maxPps !== undefined && x.maxPps !== null && !isInt(x.maxPps, SCAN_POLICY_LIMITS.maxPps)) errors.push({ path: `${path}.maxPps`, message: `must be an integer ${SCAN_POLICY_LIMITS.maxPps.join('..')}` });
      if (c.ok && isInt(x.maxHosts, SCAN_POLICY_LIMITS.maxHosts)) {
        const maxPps = typeof x.maxPps === 'number' ? x.maxPps : undefined;
        if (maxPps !== undefined && maxPps < x.maxHosts) errors.push({ path: `${path}.maxPps`, message: `must be at least maxHosts (${x.maxHosts}): each host gets maxPps / maxHosts packets per second` });
        budgets.push({ cidr: formatCidr(c.cidr), maxHosts: x.maxHosts, ...(maxPps !== undefined ? { maxPps } : {}) });
      }
    });
  let window: ScanWindow | null = null;
  if (o.window !== undefined && o.window !== null) {
    const w = validateScanWindow(o.window);
    if (w.ok) window = w.window;
    else errors.push(...w.errors);
  }
  if (errors.length) return { ok: false, errors };
  return { ok: true, policy: { budgets, window } };
}

/** Whether the policy restricts anything (no budgets and no window: tasks are offered as planned). */
export const policyRestricts = (p: ScanPolicy | null): boolean => p !== null && (p.budgets.length > 0 || p.window !== null);

/** nmap --max-rate for one host of the budget. */
export const perHostRate = (b: RateBudget): number | undefined => (b.maxPps === undefined ? undefined : Math.max(1, Math.floor(b.maxPps / b.maxHosts)));

interface Net {
  readonly family: IpFamily;
  readonly first: bigint;
  readonly last: bigint;
}

function netOf(cidr: string): Net {
  const c = parseCidr(cidr);
  if (!c.ok) throw new Error(`invalid budget network ${cidr}`);
  return { family: c.cidr.family, first: BigInt(c.cidr.first), last: BigInt(c.cidr.last) };
}

/** Whether any address of the ranges lies in the network. */
export function rangesTouch(ranges: AddressRanges, cidr: string): boolean {
  return touches(ranges, netOf(cidr));
}

function touches(ranges: AddressRanges, n: Net): boolean {
  for (const [a, b] of ranges) {
    const lo = parseIp(a);
    const hi = parseIp(b);
    if (!lo || !hi || lo.family !== n.family) continue;
    if (BigInt(lo.value) <= n.last && BigInt(hi.value) >= n.first) return true;
  }
  return false;
}

export interface BudgetUsage {
  readonly cidr: string;
  readonly maxHosts: number;
  readonly maxPps: number | null;
  /** Hosts in flight now (tasks offered or running that touch the network). */
  readonly inFlight: number;
  /** Tasks that wait because this budget is full. */
  readonly waiting: number;
}

export type Admission = { readonly ok: true; readonly maxRate?: number } | { readonly ok: false; readonly blockedBy: string };

/**
 * Hosts in flight per budget network. Feed it every task in flight (`hold`), then ask for each
 * waiting task in queue order (`admit`): a task touching several budgets needs room in all of
 * them and runs at the lowest of their per-host rates.
 */
export class BudgetLedger {
  private readonly nets: { readonly budget: RateBudget; readonly net: Net; inFlight: number; waiting: number }[];

  constructor(budgets: readonly RateBudget[]) {
    this.nets = budgets.map((budget) => ({ budget, net: netOf(budget.cidr), inFlight: 0, waiting: 0 }));
  }

  private touched(ranges: AddressRanges) {
    return this.nets.filter((n) => touches(ranges, n.net));
  }

  hold(ranges: AddressRanges): void {
    for (const n of this.touched(ranges)) n.inFlight++;
  }

  /** Admits the task (counting it in flight) or says which full budget it waits for. */
  admit(ranges: AddressRanges): Admission {
    const nets = this.touched(ranges);
    const full = nets.find((n) => n.inFlight >= n.budget.maxHosts);
    if (full) {
      full.waiting++;
      return { ok: false, blockedBy: full.budget.cidr };
    }
    let maxRate: number | undefined;
    for (const n of nets) {
      n.inFlight++;
      const r = perHostRate(n.budget);
      if (r !== undefined) maxRate = maxRate === undefined ? r : Math.min(maxRate, r);
    }
    return maxRate === undefined ? { ok: true } : { ok: true, maxRate };
  }

  /** Whether every budget is full: then only tasks outside every budget network can still go. */
  get allFull(): boolean {
    return this.nets.length > 0 && this.nets.every((n) => n.inFlight >= n.budget.maxHosts);
  }

  usage(): BudgetUsage[] {
    return this.nets.map((n) => ({ cidr: n.budget.cidr, maxHosts: n.budget.maxHosts, maxPps: n.budget.maxPps ?? null, inFlight: n.inFlight, waiting: n.waiting }));
  }
}

/** Why nothing (or not everything) of a project is offered now. */
export type DispatchGate =
  | { readonly kind: 'open' }
  | { readonly kind: 'emergency_stop'; readonly since: string | null }
  | { readonly kind: 'window'; readonly opensAt: number | null };

/**
 * Whether tasks may be offered at all now: the emergency stop first, then the window. `nextCheckAt`
 * is when the answer changes by the clock alone (the window's next edge), so the planner can be
 * woken then; budgets are freed by task events instead.
 */
export function dispatchGate(policy: ScanPolicy | null, stop: { readonly active: boolean; readonly since?: string | null }, now: number): { gate: DispatchGate; nextCheckAt: number | null } {
  const w = policy?.window ?? null;
  const nextCheckAt = w ? nextWindowChange(w, now) : null;
  if (stop.active) return { gate: { kind: 'emergency_stop', since: stop.since ?? null }, nextCheckAt };
  if (w && !isInsideWindow(w, now)) return { gate: { kind: 'window', opensAt: nextCheckAt }, nextCheckAt };
  return { gate: { kind: 'open' }, nextCheckAt };
}

/** One line for status displays: "waiting: budget 10.0.0.0/16 2/2 hosts". */
export function describeWaiting(gate: DispatchGate, budgets: readonly BudgetUsage[]): string | null {
  if (gate.kind === 'emergency_stop') return `waiting: emergency stop${gate.since ? ` since ${gate.since}` : ''}`;
  if (gate.kind === 'window') return `waiting: window opens at ${gate.opensAt === null ? '?' : new Date(gate.opensAt).toISOString()}`;
  const full = budgets.filter((b) => b.waiting > 0);
  if (!full.length) return null;
  return `waiting: ${full.map((b) => `budget ${b.cidr} ${b.inFlight}/${b.maxHosts} hosts`).join(', ')}`;
}
