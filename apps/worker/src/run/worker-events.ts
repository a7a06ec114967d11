import { randomUUID } from 'node:crypto';
import { eventCatalogue, type Actor, type Envelope } from '#events';

/** Envelopes written by this worker: its own clock and ids, correlated to the scan they serve. */
export function workerEvent<P>(type: string, key: string, payload: P, workerId: string, correlationId: string, causationId: string | null = null): Envelope<string, P> {
  const actor: Actor = { kind: 'worker', id: workerId };
  return {
    eventId: randomUUID(),
    type,
    schemaVersion: eventCatalogue.get(type)!.schemaVersion,
    key,
    occurredAt: new Date().toISOString(),
    correlationId,
    causationId,
    actor,
    payload,
  };
}
