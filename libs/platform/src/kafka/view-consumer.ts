import type { Kafka, KafkaMessage } from 'kafkajs';
import { decodeEnvelope, eventCatalogue, type Envelope } from '#events';
import type { JsonLogger } from '../logging/json-logger.js';
import { superviseConsumer } from './consumer-supervisor.js';
import { whileTopicsSettle } from './offsets.js';

export interface ViewConsumerOptions {
  readonly kafka: Kafka;
  /** A group of this process's own: nothing is committed, and it is deleted at stop. */
  readonly groupId: string;
  readonly topic: string;
  /** Where each partition's reading starts (e.g. a look-back in time, or '0'). */
  readonly starts: readonly { readonly partition: number; readonly offset: string }[];
  /** Where a new group reads before the seek to `starts` lands: from the start only when `starts` are the start. */
  readonly fromBeginning: boolean;
  readonly apply: (event: Envelope, message: KafkaMessage) => void;
  readonly logger: JsonLogger;
  /** What the log says when a record cannot be read (it is skipped). */
  readonly skipped: string;
  readonly maxWaitTimeInMs?: number;
}

export interface ViewConsumer {
  /** The last offset applied, per partition. */
  readonly applied: ReadonlyMap<number, bigint>;
  stop(): Promise<void>;
}

/**
 * Feeds an in-memory view one topic from chosen offsets, in log order, each record once. Nothing is
 * committed: after a restart (kafkajs's own, or the supervisor's after a crash kafkajs gives up on)
 * reading goes on after what was applied, and a refetch before that seek lands is skipped.
 */
export async function startViewConsumer(o: ViewConsumerOptions): Promise<ViewConsumer> {
  const applied = new Map<number, bigint>();
  const consumer = o.kafka.consumer({ groupId: o.groupId, allowAutoTopicCreation: false, sessionTimeout: 30000, ...(o.maxWaitTimeInMs ? { maxWaitTimeInMs: o.maxWaitTimeInMs } : {}) });
  await consumer.connect();
  await whileTopicsSettle(() => consumer.subscribe({ topics: [o.topic], fromBeginning: o.fromBeginning }));
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
    for (const s of o.starts) consumer.seek({ topic: o.topic, partition: s.partition, offset: applied.has(s.partition) ? String(applied.get(s.partition)! + 1n) : s.offset });
  };
  const supervisor = superviseConsumer(consumer, () => consumer.connect().then(run).then(seek), o.logger, o.groupId);
  await run();
  seek();
  return {
    applied,
    async stop() {
      supervisor.stop();
      await consumer.disconnect().catch(() => undefined);
      const admin = o.kafka.admin();
      await admin.connect().then(() => admin.deleteGroups([o.groupId])).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    },
  };
}
