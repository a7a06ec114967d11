import type { Envelope, HostDeletedV1, HostObservedV1 } from '#events';
import { parseCidr, parseIp } from '../scanning/ip.js';
import { foldHostDeleted, foldObservation } from './fold.js';
import type { HostState, PortRecord } from './host-state.js';

export type HostEvent = Envelope<'HostObserved', HostObservedV1> | Envelope<'HostDeleted', HostDeletedV1>;

/**
 * One host's state after a prefix of its event trail: the same folds, in the same order, as the
 * projector applies them, so "as of" answers are derived from the events themselves.
 */
export function replayHost(events: Iterable<HostEvent>, from: HostState | null = null): HostState | null {
  let s = from;
  // States made here are ours to reuse: folding into them in place saves a copy per event.
  let owned = false;
  for (const e of events) {
    const meta = { eventId: e.eventId, occurredAt: e.occurredAt, actor: e.actor };
    if (e.type === 'HostObserved') s = foldObservation(s, e.payload, meta, owned).state;
    else if (s) s = foldHostDeleted(s, meta).state;
    owned = s !== null;
  }
  return s;
}

/**
 * The clock "as of" moments are cut on: the running maximum of the events' times in log order.
 * Clocks of many workers disagree a little; a running maximum keeps "the longest prefix of the log
 * whose events all happened at or before T" a single cut, the same one a replay stops at.
 */
export const advanceClock = (clock: string | null, occurredAt: string): string => (clock === null || occurredAt > clock ? occurredAt : clock);

export interface PortClause {
  readonly port?: number;
  readonly proto?: string;
  readonly service?: string;
  readonly product?: string;
  readonly version?: string;
  readonly state?: string;
}

export interface HostQuery {
  readonly hasOpenPorts?: boolean;
  readonly port?: number;
  readonly proto?: string;
  readonly service?: string;
  readonly product?: string;
  readonly cidr?: string;
  readonly hostname?: string;
  readonly allOf?: readonly PortClause[];
  readonly anyOf?: readonly PortClause[];
  readonly noneOf?: readonly PortClause[];
}

const contains = (hay: string | undefined | null, needle: string) => (hay ?? '').toLowerCase().includes(needle.toLowerCase());

export function portMatches(c: PortClause, p: PortRecord): boolean {
  return (
    (c.state ? p.state === c.state : p.state === 'open') &&
    (c.port === undefined || p.port === c.port) &&
    (!c.proto || p.proto === c.proto) &&
    (!c.service || p.service.name?.value === c.service) &&
    (!c.product || contains(p.service.product?.value, c.product)) &&
    (!c.version || contains(p.service.version?.value, c.version))
  );
}

/** The host filters and port clauses of the hosts API, evaluated on a state (the SQL of the live view says the same). */
export function hostMatches(s: HostState, q: HostQuery): boolean {
  if (s.deleted) return false;
  const ports = Object.values(s.ports);
  const some = (c: PortClause) => ports.some((p) => portMatches(c, p));
  if (q.hasOpenPorts && !ports.some((p) => p.state === 'open')) return false;
  if ((q.port !== undefined || q.proto || q.service || q.product) && !some({ port: q.port, proto: q.proto, service: q.service, product: q.product })) return false;
  if (q.cidr) {
    const net = parseCidr(q.cidr);
    const ip = parseIp(s.ip);
    if (!net.ok || !ip || ip.family !== net.cidr.family || ip.value < net.cidr.first || ip.value > net.cidr.last) return false;
  }
  if (q.hostname && !Object.keys(s.hostnames).some((n) => contains(n, q.hostname!))) return false;
  if (!(q.allOf ?? []).every(some)) return false;
  if (q.anyOf?.length && !q.anyOf.some(some)) return false;
  if ((q.noneOf ?? []).some(some)) return false;
  return true;
}
