import type { Kafka, KafkaMessage } from 'kafkajs';
import { fetchEndOffsets } from '#platform';

export interface ReadRecord {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
}

/**
 * Every record a (read-committed) consumer sees on these topics, from the start to their end at the
 * call. The end counts a transaction's markers and aborted records, which no consumer is handed: a
 * partition is read once a fetch reached its end, visible or not.
 */
export async function readTopics(kafka: Kafka, topics: readonly string[], groupId: string, timeoutMs = 90000): Promise<ReadRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const left = new Map<string, bigint>();
  try {
    for (const t of topics) for (const p of await fetchEndOffsets(admin, t)) if (p.high > 0n) left.set(`${t}|${p.partition}`, p.high - 1n);
  } finally {
    await admin.disconnect();
  }
  const out: ReadRecord[] = [];
  if (left.size === 0) return out;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  await consumer.connect();
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await Promise.race([
      new Promise<void>((resolve) => {
        consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
          const k = `${payload.topic}|${payload.partition}`;
          const last = left.get(k);
          if (last !== undefined && BigInt(payload.lastOffset) >= last) left.delete(k);
          if (left.size === 0) resolve();
        });
        void consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const last = left.get(`${batch.topic}|${batch.partition}`);
            for (const message of batch.messages) if (last !== undefined && BigInt(message.offset) <= last) out.push({ topic: batch.topic, partition: batch.partition, message });
          },
        });
      }),
      new Promise<void>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${topics.join(', ')}: not read to the end within ${timeoutMs / 1000} s`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
    const cleanup = kafka.admin();
    await cleanup.connect().then(() => cleanup.deleteGroups([groupId])).catch(() => undefined);
    await cleanup.disconnect().catch(() => undefined);
  }
  return out;
}
