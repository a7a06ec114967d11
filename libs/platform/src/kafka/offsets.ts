import type { Admin } from 'kafkajs';

const RETRIABLE = /not the leader|leader not available|unknown topic or partition|coordinator is loading|not coordinator/i;

/**
 * End offsets of a topic's partitions. Right after topic creation, or during a leader move,
 * brokers briefly answer "not the leader"; those answers are retried, others are not.
 */
export async function fetchEndOffsets(admin: Admin, topic: string, attempts = 30): Promise<{ partition: number; low: bigint; high: bigint }[]> {
  for (let i = 1; ; i++) {
    try {
      return (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, low: BigInt(p.low), high: BigInt(p.high) }));
    } catch (e) {
      if (i >= attempts || !RETRIABLE.test((e as Error).message)) throw e;
      await new Promise((r) => setTimeout(r, Math.min(1000, 50 * i)));
    }
  }
}

/** Retries an admin or subscribe call while brokers are still settling freshly created topics. */
export async function whileTopicsSettle<T>(fn: () => Promise<T>, attempts = 30): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= attempts || !(RETRIABLE.test((e as Error).message) || /does not host this topic-partition/i.test((e as Error).message))) throw e;
      await new Promise((r) => setTimeout(r, Math.min(1000, 50 * i)));
    }
  }
}
