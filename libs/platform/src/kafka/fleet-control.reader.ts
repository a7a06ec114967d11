import type { Consumer, Kafka } from 'kafkajs';
import { decodeEnvelope, eventCatalogue, Topics, type FleetControlEvent } from '#events';
import type { JsonLogger } from '../logging/json-logger.js';
import { fetchEndOffsets, whileTopicsSettle } from './offsets.js';
import { superviseConsumer, type ConsumerSupervisor } from './consumer-supervisor.js';

/**
 * Reads the fleet-control topic (the emergency stop) in full, from offset zero, under a group of
 * its own that never commits, and hands every event to `apply` in log order. `start` returns once
 * what the topic held at start has been applied, so a worker never takes a task before it knows
 * whether the fleet is stopped. The topic holds only stops and releases: reading it all is cheap,
 * and a stop can never fall out of a look-back window.
 */
export class FleetControlReader {
  private consumer?: Consumer;
  private supervisor?: ConsumerSupervisor;

  constructor(
    private readonly kafka: Kafka,
    private readonly prefix: string,
    private readonly groupId: string,
    private readonly apply: (e: FleetControlEvent) => void,
    private readonly logger: JsonLogger,
  ) {}

  private get topic(): string {
    return this.prefix + Topics.fleetControl.name;
  }

  async start(timeoutMs = 60000): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    let ends: { partition: number; high: bigint }[];
    try {
      ends = await fetchEndOffsets(admin, this.topic);
    } finally {
      await admin.disconnect();
    }
    const applied = new Map<number, bigint>();
    // Small fetch waits: an emergency stop must reach every worker within a second.
    const consumer = this.kafka.consumer({ groupId: this.groupId, allowAutoTopicCreation: false, sessionTimeout: 30000, maxWaitTimeInMs: 100 });
    this.consumer = consumer;
    await consumer.connect();
    await whileTopicsSettle(() => consumer.subscribe({ topics: [this.topic], fromBeginning: true }));
    const run = () =>
      consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const last = applied.get(partition);
          if (last !== undefined && BigInt(message.offset) <= last) return; // a restart's refetch
          try {
            this.apply(eventCatalogue.read(decodeEnvelope(message.value)) as FleetControlEvent);
          } catch (e) {
            this.logger.warn({ msg: 'fleet-control message skipped', offset: message.offset, error: (e as Error).message });
          }
          applied.set(partition, BigInt(message.offset));
        },
      });
    // A restart resumes after what was applied (nothing is committed).
    const seekFrom = () => {
      for (const e of ends) consumer.seek({ topic: this.topic, partition: e.partition, offset: String((applied.get(e.partition) ?? -1n) + 1n) });
    };
    this.supervisor = superviseConsumer(consumer, () => consumer.connect().then(run).then(seekFrom), this.logger, this.groupId);
    await run();
    seekFrom();
    const until = Date.now() + timeoutMs;
    while (ends.some((e) => e.high > 0n && (applied.get(e.partition) ?? -1n) < e.high - 1n)) {
      if (Date.now() > until) throw new Error(`${this.topic} did not catch up within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    this.supervisor?.stop();
    await this.consumer?.disconnect().catch(() => undefined);
    const admin = this.kafka.admin();
    await admin.connect().then(() => admin.deleteGroups([this.groupId])).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
