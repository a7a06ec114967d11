import { randomUUID } from 'node:crypto';
import type { Envelope, ProjectCreatedV1 } from '#events';

export function projectCreated(name: string, projectId = randomUUID()): Envelope<'ProjectCreated', ProjectCreatedV1> {
  return {
    eventId: randomUUID(),
    type: 'ProjectCreated',
    schemaVersion: 1,
    key: projectId,
    occurredAt: new Date().toISOString(),
    correlationId: randomUUID(),
    causationId: null,
    actor: { kind: 'user', id: 'tester' },
    payload: { projectId, name, comment: null, ownerId: 'tester' },
  };
}
