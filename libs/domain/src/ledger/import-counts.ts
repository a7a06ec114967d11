import type { FoldOutcome, FoldResult } from './host-state.js';

export interface ImportCounts {
  readonly hostsCreated: number;
  readonly hostsUpdated: number;
  readonly hostsUnchanged: number;
  readonly portsOpened: number;
  readonly portsClosed: number;
  /** History rows the import produced (recorded or not). */
  readonly changes: number;
}

const strength: Record<FoldOutcome, number> = { skipped: 0, unchanged: 1, updated: 2, created: 3 };

/**
 * Totals of one import. A host counts once, under its strongest outcome: masscan sends one
 * observation per port, and a host it created must not also show up as updated by its second port.
 */
export function tallyImport(results: Iterable<{ readonly ip: string; readonly result: FoldResult }>): ImportCounts {
  const hosts = new Map<string, FoldOutcome>();
  let portsOpened = 0;
  let portsClosed = 0;
  let changes = 0;
  for (const { ip, result } of results) {
    const cur = hosts.get(ip);
    if (cur === undefined || strength[result.outcome] > strength[cur]) hosts.set(ip, result.outcome);
    portsOpened += result.portsOpened;
    portsClosed += result.portsClosed;
    changes += result.changes.length;
  }
  const outcomes = [...hosts.values()];
  return {
    hostsCreated: outcomes.filter((o) => o === 'created').length,
    hostsUpdated: outcomes.filter((o) => o === 'updated').length,
    // Insert's "skipped" is unchanged from the user's point of view.
    hostsUnchanged: outcomes.filter((o) => o === 'unchanged' || o === 'skipped').length,
    portsOpened,
    portsClosed,
    changes,
  };
}
