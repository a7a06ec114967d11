import type { Kafka } from 'kafkajs';
import { isTransient } from './transient.js';
import { EventPublisher } from './event-publisher.js';

const event = {
  eventId: '11111111-1111-4111-8111-111111111111', type: 'ProjectCreated', schemaVersion: 1, key: 'p1', occurredAt: '2026-12-08T00:00:00.000Z',
  correlationId: 'c', causationId: null, actor: { kind: 'user', id: 'u1' }, payload: { projectId: 'p1', name: 'x', comment: null, ownerId: 'u1' },
} as const;

describe('EventPublisher when the brokers cannot say how a topic is partitioned', () => {
  it('reports a failed metadata request as a retriable broker failure naming the topic, whatever kafkajs threw', async () => {
    const sent: unknown[] = [];
    // Only the admin's metadata call is exercised: the publish must fail before anything is sent.
    const kafka = {
      producer: () => ({ connect: async () => undefined, send: async (s: unknown) => sent.push(s) }),
      admin: () => ({
        connect: async () => undefined,
        fetchTopicMetadata: async () => {
          throw new TypeError("Cannot read properties of undefined (reading 'map')");
        },
      }),
    } as unknown as Kafka;
    const err = await new EventPublisher(kafka, 't.').publish([event]).then(() => null, (e: unknown) => e as Error);
    expect(err?.message).toBe("could not read the partitions of t.falcoria.projects from the brokers: Cannot read properties of undefined (reading 'map')");
    expect(isTransient(err)).toBe(true);
    expect(sent).toEqual([]);
  });
});
