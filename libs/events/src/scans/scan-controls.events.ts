// Safe-scanning controls (issue 9). Who writes what:
//   falcoria.scans (key projectId)    the tasker's HTTP side (ScanPolicySet, by an owner or admin) and
//                                     the tasker's dispatch clock (TaskDispatchRequested); the planner
//                                     applies both in order with the project's task events.
//   falcoria.fleet-control ("fleet")  the tasker's HTTP side, for an admin (EmergencyStopActivated,
//                                     EmergencyStopReleased); every worker and tasker reads it in full.

import type { Envelope } from '../core/envelope.js';
import { eventCatalogue } from '../core/catalogue.js';
import { array, int, literal, nullable, object, optional, str, type Check } from '../core/schema.js';
import { Topics } from '../core/topics.js';

export interface RateBudgetJson {
  readonly cidr: string;
  readonly maxHosts: number;
  readonly maxPps?: number;
}

export interface ScanWindowJson {
  readonly start: string;
  readonly end: string;
  readonly timeZone: string;
}

/** The project's whole policy (it replaces the previous one); no budgets and no window lift every restriction. */
export interface ScanPolicySetV1 {
  readonly projectId: string;
  /** Lets the HTTP side see when the planner applied it. */
  readonly policyId: string;
  readonly budgets: readonly RateBudgetJson[];
  readonly window: ScanWindowJson | null;
}

/** A wake-up for the planner when only the clock changed something: a window edge, a released emergency stop. */
export interface TaskDispatchRequestedV1 {
  readonly projectId: string;
  readonly reason: 'window_edge' | 'stop_released';
  readonly dueAt: string;
}

export interface EmergencyStopActivatedV1 {
  readonly stopId: string;
  readonly reason: string | null;
}

export interface EmergencyStopReleasedV1 {
  /** The stop it ends (null when none was active: a release is then a no-op, still recorded). */
  readonly stopId: string | null;
  readonly reason: string | null;
}

/** The constant key of the fleet-control topic (one partition, total order). */
export const FLEET_CONTROL_KEY = 'fleet';

const S = Topics.scans.name;
const F = Topics.fleetControl.name;

eventCatalogue.define<'ScanPolicySet', ScanPolicySetV1>({
  type: 'ScanPolicySet',
  topic: S,
  schemaVersion: 1,
  payload: object({
    projectId: str,
    policyId: str,
    budgets: array(object({ cidr: str, maxHosts: int, maxPps: optional(int) })),
    window: nullable(object({ start: str, end: str, timeZone: str })),
  }) as Check<ScanPolicySetV1>,
});
eventCatalogue.define<'TaskDispatchRequested', TaskDispatchRequestedV1>({
  type: 'TaskDispatchRequested',
  topic: S,
  schemaVersion: 1,
  payload: object({ projectId: str, reason: literal('window_edge', 'stop_released'), dueAt: str }) as Check<TaskDispatchRequestedV1>,
});
eventCatalogue.define<'EmergencyStopActivated', EmergencyStopActivatedV1>({
  type: 'EmergencyStopActivated',
  topic: F,
  schemaVersion: 1,
  payload: object({ stopId: str, reason: nullable(str) }) as Check<EmergencyStopActivatedV1>,
});
eventCatalogue.define<'EmergencyStopReleased', EmergencyStopReleasedV1>({
  type: 'EmergencyStopReleased',
  topic: F,
  schemaVersion: 1,
  payload: object({ stopId: nullable(str), reason: nullable(str) }) as Check<EmergencyStopReleasedV1>,
});

export type ScanControlEvent = Envelope<'ScanPolicySet', ScanPolicySetV1> | Envelope<'TaskDispatchRequested', TaskDispatchRequestedV1>;

export type FleetControlEvent = Envelope<'EmergencyStopActivated', EmergencyStopActivatedV1> | Envelope<'EmergencyStopReleased', EmergencyStopReleasedV1>;
