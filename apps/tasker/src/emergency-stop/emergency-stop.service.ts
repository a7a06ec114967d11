import { randomUUID } from 'node:crypto';
import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { eventCatalogue, FLEET_CONTROL_KEY, type Envelope, type EmergencyStopActivatedV1, type EmergencyStopReleasedV1 } from '#events';
import type { EmergencyStopState, Principal } from '#domain';
import { PUBLISHER, type EventPublisher } from '#platform';
import { EmergencyStopView } from './emergency-stop.view.js';

const WAIT_MS = 10_000;

export function stopJson(s: EmergencyStopState) {
  const who = (a: EmergencyStopState['by']) => (a ? { kind: a.kind, id: a.id, name: a.name ?? null } : null);
  return {
    active: s.active,
    stopId: s.stopId,
    since: s.since,
    by: who(s.by),
    reason: s.reason,
    history: s.history.map((h) => ({ type: h.type, stopId: h.stopId, at: h.at, by: who(h.by), reason: h.reason })),
  };
}

/**
 * One event on the fleet-control topic; every worker kills its nmap processes and stops taking
 * tasks when it reads an activation, and the planner holds every task back. The answer comes once
 * this tasker's own view shows the change (the same topic the workers read).
 */
@Injectable()
export class EmergencyStopService {
  constructor(
    @Inject(PUBLISHER) private readonly publisher: EventPublisher,
    private readonly view: EmergencyStopView,
  ) {}

  state() {
    return stopJson(this.view.state);
  }

  activate(reason: string | undefined, principal: Principal) {
    return this.append<EmergencyStopActivatedV1>('EmergencyStopActivated', { stopId: randomUUID(), reason: reason ?? null }, principal);
  }

  release(reason: string | undefined, principal: Principal) {
    return this.append<EmergencyStopReleasedV1>('EmergencyStopReleased', { stopId: this.view.state.stopId, reason: reason ?? null }, principal);
  }

  private async append<P>(type: 'EmergencyStopActivated' | 'EmergencyStopReleased', payload: P, principal: Principal) {
    const env: Envelope<string, P> = {
      eventId: randomUUID(),
      type,
      schemaVersion: eventCatalogue.get(type)!.schemaVersion,
      key: FLEET_CONTROL_KEY,
      occurredAt: new Date().toISOString(),
      correlationId: randomUUID(),
      causationId: null,
      actor: { kind: principal.kind, id: principal.id, name: principal.username },
      payload,
    };
    await this.publisher.publish([env]);
    const until = Date.now() + WAIT_MS;
    while (!this.view.has(env.eventId)) {
      if (Date.now() > until) throw new ServiceUnavailableException(`${type} was written but this tasker has not read it back within ${WAIT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return stopJson(this.view.state);
  }
}
