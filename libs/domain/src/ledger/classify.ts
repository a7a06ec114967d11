import type { Protocol } from '#events';
import { portKey, type Change, type ChangeValue, type HostState } from './host-state.js';
import { rangeContaining } from './port-ranges.js';
import { compareTime, laterOf } from './time.js';

export type NmapPortStateName = 'open' | 'closed' | 'filtered' | 'open|filtered' | 'closed|filtered' | 'unfiltered' | 'unknown';

export type PortClass =
  /** A report named this state (the last accepted one). */
  | NmapPortStateName
  /** Inside the range of a scan that did not list it: not listening, but closed vs filtered unknown. */
  | 'closed-by-absence'
  /** No evidence about the port at all. */
  | 'never-scanned'
  /** Whatever we know was observed before the caller's cutoff. */
  | 'stale';

const NMAP_STATES: ReadonlySet<string> = new Set(['open', 'closed', 'filtered', 'open|filtered', 'closed|filtered', 'unfiltered', 'unknown']);

/** The latest time any evidence covered this port (a report listing it, or a scan range including it). */
export function lastScannedAt(state: HostState | null, proto: Protocol, port: number): string | null {
  if (state === null || state.deleted) return null;
  let at: string | null = state.ports[portKey(proto, port)]?.lastSeen ?? null;
  for (const c of state.coverage) {
    if (c.proto === proto && rangeContaining(c.ranges, port) !== null) at = at === null ? c.observedAt : laterOf(at, c.observedAt);
  }
  return at;
}

/**
 * Staleness wins over every other answer: an old "open" is exactly what a caller asking with a
 * cutoff wants flagged. A deleted host has had its knowledge withdrawn, so it reads as never scanned.
 */
export function classifyPort(state: HostState | null, proto: Protocol, port: number, staleBefore?: string): PortClass {
  const scanned = lastScannedAt(state, proto, port);
  if (state === null || scanned === null) return 'never-scanned';
  if (staleBefore !== undefined && compareTime(scanned, staleBefore) < 0) return 'stale';
  const rec = state.ports[portKey(proto, port)];
  if (rec === undefined || rec.cause === 'absence') return 'closed-by-absence';
  return NMAP_STATES.has(rec.state) ? (rec.state as NmapPortStateName) : 'unknown';
}

/**
 * One sentence per history row, in the order given (the fold order the projector stored them in),
 * so the last sentence explains the current value.
 */
export function explainPort(changes: readonly Change[]): string[] {
  return changes.map((c) => {
    const what = c.field === 'script' ? `script ${c.key ?? ''}`.trim() : c.field;
    const run = c.run?.args ? ` [${c.run.scanner} ${c.run.args}]` : c.run ? ` [${c.run.scanner}]` : '';
    const unrecorded = c.recorded ? '' : ' (history off for this import)';
    return `${c.observedAt} ${what}: ${showValue(c.old)} → ${showValue(c.new)} — ${c.rule}${run}; event ${c.eventId}${unrecorded}`;
  });
}

function showValue(v: ChangeValue): string {
  if (v === null) return '—';
  if (typeof v === 'string') return v;
  return v.length === 0 ? '[]' : v.join(', ');
}
