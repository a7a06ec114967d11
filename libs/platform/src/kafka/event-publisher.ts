import type { Kafka, Producer } from 'kafkajs';
import { encodeEnvelope, eventCatalogue, type Envelope } from '#events';

/**
 * The only way apps write events. Idempotent producer with acks=all: a retried send never
 * duplicates a record, and a send resolves only once every in-sync replica has it.
 */
export class EventPublisher {
  private readonly producer: Producer;
  private connected = false;

  constructor(kafka: Kafka, private readonly topicPrefix = '') {
    // When a broker dies, its partitions have no reachable leader until the controller fences it
    // (broker.session.timeout.ms, 9 s by default) and elects new ones: retries span about a minute
    // so a send rides out a broker failover instead of failing (test/int/kafka-cluster.int.spec.ts).
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 200, maxRetryTime: 5000, retries: 18 },
    });
  }

  async connect(): Promise<void> {
    if (this.connected) return;
    await this.producer.connect();
    this.connected = true;
  }

  topicOf(env: Envelope): string {
    const def = eventCatalogue.get(env.type);
    if (!def) throw new Error(`cannot publish unknown event type ${env.type}`);
    return this.topicPrefix + def.topic;
  }

  /** Publishes in order; events for one key keep their relative order. */
  async publish(events: readonly Envelope[]): Promise<void> {
    if (events.length === 0) return;
    await this.connect();
    const byTopic = new Map<string, { key: string; value: Buffer; headers: Record<string, string> }[]>();
    for (const e of events) {
      const t = this.topicOf(e);
      let list = byTopic.get(t);
      if (!list) byTopic.set(t, (list = []));
      list.push({ key: e.key, value: encodeEnvelope(e), headers: { 'event-type': e.type, 'schema-version': String(e.schemaVersion) } });
    }
    await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
  }

  /** Raw send, for the dead-letter path: the original bytes go unchanged. */
  async sendRaw(topic: string, messages: { key: Buffer | string | null; value: Buffer | null; headers: Record<string, string> }[]): Promise<void> {
    await this.connect();
    await this.producer.send({ topic, acks: -1, messages });
  }

  async disconnect(): Promise<void> {
    if (!this.connected) return;
    this.connected = false;
    await this.producer.disconnect();
  }
}
