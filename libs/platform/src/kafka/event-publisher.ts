import kafkajs, { type Admin, type Kafka, type Message, type PartitionMetadata, type Producer, type Transaction } from 'kafkajs';
import { encodeEnvelope, eventCatalogue, type Envelope } from '#events';
import { TransientError } from './transient.js';
import { whileTopicsSettle } from './offsets.js';

// The producer's own key → partition rule (murmur2, as the Java client), applied here so that each
// send names one partition.
const partitionOf = kafkajs.Partitioners.DefaultPartitioner();
const PARTITION_COUNT_TTL_MS = 60_000;

/** Events published in one Kafka transaction (EventPublisher.transaction). */
export interface EventTransaction {
  publish(events: readonly Envelope[]): Promise<void>;
  commit(): Promise<void>;
  /** Best effort: a broker that is gone cannot be told; the next transaction under the same id fences it. */
  abort(): Promise<void>;
}

/**
 * The only way apps write events. Idempotent producer with acks=all: a retried send never
 * duplicates a record, and a send resolves only once every in-sync replica has it.
 */
export class EventPublisher {
  private readonly producer: Producer;
  private connected = false;
  private admin?: Admin;
  private readonly partitionCounts = new Map<string, { count: number; until: number }>();

  constructor(
    private readonly kafka: Kafka,
    private readonly topicPrefix = '',
  ) {
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

  /**
   * Publishes in order; events for one key keep their relative order.
   *
   * One send per partition, never one send spanning several leaders: kafkajs 2.2.4 keeps, across the
   * retries of one send, the answers of the brokers that already acknowledged; when a partition's
   * leadership moves (NOT_LEADER) to one of those brokers, the retry sends it nowhere and the send
   * resolves without having written that partition (tulios/kafkajs#1798, #1303). Found by the
   * fault suite (`npm run chaos -- --cluster --scenario broker-scan`: task offers planned and
   * acknowledged, absent from the log); test/int/publisher-leader-move.int.spec.ts.
   */
  async publish(events: readonly Envelope[]): Promise<void> {
    if (events.length === 0) return;
    await this.connect();
    const sends = await this.route(events);
    // Every send settles before a failure is reported, so a caller's retry never races a send still in flight.
    const results = await Promise.allSettled(sends.map((s) => this.producer.send({ topic: s.topic, acks: -1, messages: s.messages })));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /**
   * Opens a Kafka transaction: what it publishes reaches the (read-committed) consumers all at once
   * on commit, or never. Opening one under a transactional id that was left open (the broker went
   * away, the process died) fences it: the broker aborts what it holds. A transaction open longer
   * than `timeoutMs` is aborted by the broker; until it ends, consumers of its partitions wait at it.
   */
  async transaction(transactionalId: string, timeoutMs: number): Promise<EventTransaction> {
    const producer = this.kafka.producer({
      transactionalId,
      transactionTimeout: timeoutMs,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 200, maxRetryTime: 5000, retries: 18 },
    });
    let txn: Transaction;
    try {
      await producer.connect();
      txn = await producer.transaction();
    } catch (e) {
      await producer.disconnect().catch(() => undefined);
      throw e;
    }
    const end = async (how: 'commit' | 'abort') => {
      try {
        await (how === 'commit' ? txn.commit() : txn.abort());
      } finally {
        await producer.disconnect().catch(() => undefined);
      }
    };
    return {
      publish: async (events) => {
        // One send at a time, one partition each (see publish).
        for (const s of await this.route(events)) await txn.send({ topic: s.topic, acks: -1, messages: s.messages });
      },
      commit: () => end('commit'),
      abort: () => (txn.isActive() ? end('abort') : producer.disconnect()).catch(() => undefined),
    };
  }

  /** The sends an event list needs: one per partition, each keeping the events' order. */
  private async route(events: readonly Envelope[]): Promise<{ topic: string; messages: Message[] }[]> {
    const sends = new Map<string, { topic: string; messages: Message[] }>();
    for (const e of events) {
      const topic = this.topicOf(e);
      const message: Message = { key: e.key, value: encodeEnvelope(e), headers: { 'event-type': e.type, 'schema-version': String(e.schemaVersion) } };
      const partition = partitionOf({ topic, partitionMetadata: await this.partitionsOf(topic), message });
      const k = `${topic}|${partition}`;
      let send = sends.get(k);
      if (!send) sends.set(k, (send = { topic, messages: [] }));
      send.messages.push({ ...message, partition });
    }
    return [...sends.values()];
  }

  /** The topic's partitions as the partitioner needs them (only their number matters for keyed messages); cached a minute. */
  private async partitionsOf(topic: string): Promise<PartitionMetadata[]> {
    const cached = this.partitionCounts.get(topic);
    const now = Date.now();
    let count = cached && cached.until > now ? cached.count : 0;
    if (!count) {
      if (!this.admin) {
        const admin = this.kafka.admin();
        await admin.connect();
        this.admin = admin;
      }
      let meta;
      try {
        meta = await whileTopicsSettle(() => this.admin!.fetchTopicMetadata({ topics: [topic] }));
      } catch (e) {
        // kafkajs can fail here with a bare TypeError when no broker answers (seen by the fault suite);
        // either way the brokers are what failed, not the events: say so, and let callers retry.
        throw new TransientError(`could not read the partitions of ${topic} from the brokers: ${(e as Error).message}`, { cause: e });
      }
      count = meta.topics[0]?.partitions.length ?? 0;
      if (!count) throw new Error(`topic ${topic} has no partitions`);
      this.partitionCounts.set(topic, { count, until: now + PARTITION_COUNT_TTL_MS });
    }
    return Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [], isr: [] }));
  }

  /** Raw send, for the dead-letter path: the original bytes go unchanged. */
  async sendRaw(topic: string, messages: { key: Buffer | string | null; value: Buffer | null; headers: Record<string, string> }[]): Promise<void> {
    await this.connect();
    await this.producer.send({ topic, acks: -1, messages });
  }

  async disconnect(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    await admin?.disconnect().catch(() => undefined);
    if (!this.connected) return;
    this.connected = false;
    await this.producer.disconnect();
  }
}
