import type { Kafka, KafkaMessage } from 'kafkajs';
import { decodeEnvelope, eventCatalogue, type Envelope } from '#events';
import type { JsonLogger } from '../logging/json-logger.js';
import { superviseConsumer } from './consumer-supervisor.js';
import { fetchEndOffsets, whileTopicsSettle } from './offsets.js';

export interface ViewConsumerOptions {
  readonly kafka: Kafka;
  /** A group of this process's own: nothing is committed, and it is deleted at stop. */
  readonly groupId: string;
  readonly topic: string;
  /** Where reading starts: the whole topic, or what was written in the last `lookbackMs`. */
  readonly from: 'beginning' | { readonly lookbackMs: number };
  readonly apply: (event: Envelope, message: KafkaMessage) => void;
  readonly logger: JsonLogger;
  /** What the log says when a record cannot be read (it is skipped). */
  readonly skipped: string;
  readonly maxWaitTimeInMs?: number;
}

export interface ViewConsumer {
  /** Resolves true once everything the topic held at the start has been applied, false after `timeoutMs`. */
  caughtUp(timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * Feeds an in-memory view one topic from chosen offsets, in log order, each record once. Nothing is
 * committed: after a restart (kafkajs's own, or the supervisor's after a crash kafkajs gives up on)
 * reading goes on after what was applied, and a refetch before that seek lands is skipped.
 */
export async function startViewConsumer(o: ViewConsumerOptions): Promise<ViewConsumer> {
  const admin = o.kafka.admin();
  await admin.connect();
  let starts: { partition: number; offset: string }[];
  let ends: { partition: number; high: bigint }[];
  try {
    ends = await fetchEndOffsets(admin, o.topic);
    starts = o.from === 'beginning' ? ends.map((e) => ({ partition: e.partition, offset: '0' })) : await admin.fetchTopicOffsetsByTimestamp(o.topic, Date.now() - o.from.lookbackMs);
  } finally {
    await admin.disconnect();
  }
  // The last record of each partition that was there at the start and is to be read.
  const target = new Map<number, bigint>();
  for (const e of ends) {
    const start = BigInt(starts.find((x) => x.partition === e.partition)?.offset ?? e.high.toString());
    if (e.high > start) target.set(e.partition, e.high - 1n);
  }
  const applied = new Map<number, bigint>();
  const consumer = o.kafka.consumer({ groupId: o.groupId, allowAutoTopicCreation: false, sessionTimeout: 30000, ...(o.maxWaitTimeInMs ? { maxWaitTimeInMs: o.maxWaitTimeInMs } : {}) });
  await consumer.connect();
  // Where a new group reads before the seek to `starts` lands.
  await whileTopicsSettle(() => consumer.subscribe({ topics: [o.topic], fromBeginning: o.from === 'beginning' }));
  const run = () =>
    consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const last = applied.get(partition);
        if (last !== undefined && BigInt(message.offset) <= last) return;
        try {
          o.apply(eventCatalogue.read(decodeEnvelope(message.value)), message);
        } catch (e) {
          o.logger.warn({ msg: o.skipped, partition, offset: message.offset, error: (e as Error).message });
        }
        applied.set(partition, BigInt(message.offset));
      },
    });
  const seek = () => {
    for (const s of starts) consumer.seek({ topic: o.topic, partition: s.partition, offset: applied.has(s.partition) ? String(applied.get(s.partition)! + 1n) : s.offset });
  };
  const supervisor = superviseConsumer(consumer, () => consumer.connect().then(run).then(seek), o.logger, o.groupId);
  await run();
  seek();
  return {
    async caughtUp(timeoutMs) {
      const until = Date.now() + timeoutMs;
      while ([...target].some(([p, last]) => (applied.get(p) ?? -1n) < last)) {
        if (Date.now() > until) return false;
        await new Promise((r) => setTimeout(r, 20));
      }
      return true;
    },
    async stop() {
      supervisor.stop();
      await consumer.disconnect().catch(() => undefined);
      const admin = o.kafka.admin();
      await admin.connect().then(() => admin.deleteGroups([o.groupId])).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    },
  };
}
