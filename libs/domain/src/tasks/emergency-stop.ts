// The fleet-wide emergency stop as every worker and tasker folds it from the fleet-control topic.
// One partition, read from offset zero, so every reader reaches the same state in the same order.

import type { Actor, FleetControlEvent } from '#events';

export interface EmergencyStopChange {
  readonly type: 'activated' | 'released';
  readonly stopId: string | null;
  readonly at: string;
  readonly by: Actor;
  readonly reason: string | null;
}

export interface EmergencyStopState {
  readonly active: boolean;
  readonly stopId: string | null;
  readonly since: string | null;
  readonly by: Actor | null;
  readonly reason: string | null;
  /** The latest changes, newest last (the audit trail is the topic itself). */
  readonly history: readonly EmergencyStopChange[];
}

export const NO_EMERGENCY_STOP: EmergencyStopState = Object.freeze({ active: false, stopId: null, since: null, by: null, reason: null, history: Object.freeze([]) });

const HISTORY = 20;

/** Activating while active keeps the first stop (its time and actor); releasing while released changes nothing but the trail. */
export function foldEmergencyStop(state: EmergencyStopState, e: FleetControlEvent): EmergencyStopState {
  const change: EmergencyStopChange = {
    type: e.type === 'EmergencyStopActivated' ? 'activated' : 'released',
    stopId: e.payload.stopId,
    at: e.occurredAt,
    by: e.actor,
    reason: e.payload.reason,
  };
  const history = [...state.history, change].slice(-HISTORY);
  if (e.type === 'EmergencyStopActivated') {
    if (state.active) return { ...state, history };
    return { active: true, stopId: e.payload.stopId, since: e.occurredAt, by: e.actor, reason: e.payload.reason, history };
  }
  return { ...NO_EMERGENCY_STOP, history };
}
