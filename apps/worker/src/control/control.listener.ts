import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Consumer, Kafka } from 'kafkajs';
import { decodeEnvelope, eventCatalogue, Topics, type WorkerControlEvent } from '#events';
import { RevocationList } from '#domain';
import { CONFIG, fetchEndOffsets, KAFKA, LOGGER, superviseConsumer, type ConsumerSupervisor, type JsonLogger } from '#platform';
import { RunningTasks, type StopReason } from '../run/running-tasks.js';
import type { WorkerEnv } from '../worker.config.js';
import { WORKER_ID } from '../worker.tokens.js';

/**
 * Reads the worker-control topic in full under a group of its own (never committed), from a
 * look-back window, and keeps the revocations: queued offers they name are skipped, running ones
 * are killed on arrival. It catches up before the worker takes its first task.
 */
@Injectable()
export class ControlListener implements OnApplicationShutdown {
  readonly revocations = new RevocationList();
  private consumer?: Consumer;
  private supervisor?: ConsumerSupervisor;
  private readonly groupId: string;

  constructor(
    @Inject(CONFIG) private readonly env: WorkerEnv,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(LOGGER) private readonly logger: JsonLogger,
    @Inject(WORKER_ID) private readonly workerId: string,
    private readonly running: RunningTasks,
  ) {
    this.groupId = `${env.KAFKA_TOPIC_PREFIX}falcoria.worker-control.${workerId}.${process.pid}`;
  }

  private get topic(): string {
    return this.env.KAFKA_TOPIC_PREFIX + Topics.workerControl.name;
  }

  async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    let starts: { partition: number; offset: string }[];
    let ends: { partition: number; high: bigint }[];
    try {
      starts = await admin.fetchTopicOffsetsByTimestamp(this.topic, Date.now() - this.env.WORKER_CONTROL_LOOKBACK_HOURS * 3600_000);
      ends = await fetchEndOffsets(admin, this.topic);
    } finally {
      await admin.disconnect();
    }
    const applied = new Map<number, bigint>();
    const consumer = this.kafka.consumer({ groupId: this.groupId, allowAutoTopicCreation: false, sessionTimeout: 30000, maxWaitTimeInMs: 500 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [this.topic], fromBeginning: false });
    const run = () =>
      consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const last = applied.get(partition);
          if (last !== undefined && BigInt(message.offset) <= last) return; // a restart's refetch
          try {
            this.apply(eventCatalogue.read(decodeEnvelope(message.value)) as WorkerControlEvent);
          } catch (e) {
            this.logger.warn({ msg: 'control message skipped', offset: message.offset, error: (e as Error).message });
          }
          applied.set(partition, BigInt(message.offset));
        },
      });
    // Nothing is committed: after a restart, go on after what was applied (or from the look-back start).
    const seekFrom = () => {
      for (const s of starts) consumer.seek({ topic: this.topic, partition: s.partition, offset: applied.has(s.partition) ? String(applied.get(s.partition)! + 1n) : s.offset });
    };
    this.supervisor = superviseConsumer(consumer, () => consumer.connect().then(run).then(seekFrom), this.logger, this.groupId);
    await run();
    seekFrom();
    const pending = ends
      .map((e) => ({ partition: e.partition, last: e.high - 1n, from: BigInt(starts.find((s) => s.partition === e.partition)?.offset ?? e.high.toString()) }))
      .filter((p) => p.last >= p.from);
    const until = Date.now() + 60000;
    while (pending.some((p) => (applied.get(p.partition) ?? -1n) < p.last)) {
      if (Date.now() > until) throw new Error('worker-control topic did not catch up within 60 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  apply(e: WorkerControlEvent): void {
    if (e.type !== 'TasksRevoked') return;
    this.revocations.apply(e.payload);
    const reason: StopReason = e.payload.reason === 'cancelled' ? 'cancelled' : 'revoked';
    const stopped = this.running.stopWhere((id) => this.revocations.covers(id), this.workerId, reason);
    if (stopped) this.logger.info({ msg: 'stopping revoked tasks', reason: e.payload.reason, stopped });
  }

  async onApplicationShutdown(): Promise<void> {
    this.supervisor?.stop();
    await this.consumer?.disconnect().catch(() => undefined);
    const admin = this.kafka.admin();
    await admin.connect().then(() => admin.deleteGroups([this.groupId])).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
