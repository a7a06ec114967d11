import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import { Topics, type WorkerControlEvent } from '#events';
import { RevocationList } from '#domain';
import { CONFIG, KAFKA, LOGGER, startViewConsumer, type JsonLogger, type ViewConsumer } from '#platform';
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
  private view?: ViewConsumer;
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
    this.view = await startViewConsumer({
      kafka: this.kafka,
      groupId: this.groupId,
      topic: this.topic,
      from: { lookbackMs: this.env.WORKER_CONTROL_LOOKBACK_HOURS * 3600_000 },
      apply: (e) => this.apply(e as WorkerControlEvent),
      logger: this.logger,
      skipped: 'control message skipped',
      maxWaitTimeInMs: 500,
    });
    if (!(await this.view.caughtUp(60000))) throw new Error('worker-control topic did not catch up within 60 s');
  }

  apply(e: WorkerControlEvent): void {
    if (e.type !== 'TasksRevoked') return;
    this.revocations.apply(e.payload);
    const reason: StopReason = e.payload.reason === 'cancelled' ? 'cancelled' : 'revoked';
    const stopped = this.running.stopWhere((id) => this.revocations.covers(id), this.workerId, reason);
    if (stopped) this.logger.info({ msg: 'stopping revoked tasks', reason: e.payload.reason, stopped });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.view?.stop();
  }
}
