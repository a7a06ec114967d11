import { Inject, Injectable } from '@nestjs/common';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { decodeEnvelope, eventCatalogue, Topics, type Envelope, type TaskOfferedV1, type TaskStartedV1 } from '#events';
import { CONFIG, KAFKA, LOGGER, PUBLISHER, superviseConsumer, type ConsumerSupervisor, type EventPublisher, type JsonLogger } from '#platform';
import { ControlListener } from '../control/control.listener.js';
import { EmergencyStopListener } from '../control/emergency-stop.listener.js';
import { RunningTasks } from '../run/running-tasks.js';
import { TaskRunner } from '../run/task-runner.js';
import { workerEvent } from '../run/worker-events.js';
import type { WorkerEnv } from '../worker.config.js';
import { WORKER_ID } from '../worker.tokens.js';
import { SlotPool } from './slot-pool.js';

/**
 * Takes offers from the tasks topic in the group `<prefix>falcoria.workers`, one per free slot:
 * announce TaskStarted, commit the offer, then run it in the background. The offer is committed
 * before nmap starts, so a slow or hung task never holds its partition: the next offer goes to the
 * next free slot here or on another worker. A worker that dies mid-task stops heartbeating it, and
 * the tasker's lease watchdog offers it again.
 *
 * kafkajs is used directly, not through the platform's EventConsumer: that one commits after the
 * handler returns, and a task must start only once its offer is committed.
 */
@Injectable()
export class TaskIntakeConsumer {
  private consumer?: Consumer;
  private supervisor?: ConsumerSupervisor;
  private pool: SlotPool;
  private stopping = false;

  constructor(
    @Inject(CONFIG) private readonly env: WorkerEnv,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(PUBLISHER) private readonly publisher: EventPublisher,
    @Inject(LOGGER) private readonly logger: JsonLogger,
    @Inject(WORKER_ID) private readonly workerId: string,
    private readonly control: ControlListener,
    private readonly running: RunningTasks,
    private readonly runner: TaskRunner,
    private readonly emergencyStop: EmergencyStopListener,
  ) {
    this.pool = new SlotPool(env.WORKER_CONCURRENCY);
  }

  get groupId(): string {
    return `${this.env.KAFKA_TOPIC_PREFIX}falcoria.workers`;
  }

  async start(): Promise<void> {
    const session = this.env.WORKER_SESSION_TIMEOUT_MS;
    this.consumer = this.kafka.consumer({
      groupId: this.groupId,
      sessionTimeout: session,
      heartbeatInterval: Math.max(1000, Math.floor(session / 10)),
      rebalanceTimeout: Math.max(session, 60000),
      allowAutoTopicCreation: false,
      maxBytesPerPartition: 256 * 1024,
      maxWaitTimeInMs: 1000,
    });
    await this.consumer.connect();
    // A new group starts at the oldest offer: tasks queued before any worker existed still run.
    await this.consumer.subscribe({ topics: [this.env.KAFKA_TOPIC_PREFIX + Topics.tasks.name], fromBeginning: true });
    const consumer = this.consumer;
    const run = () =>
      consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.env.WORKER_CONCURRENCY,
        eachBatch: (p) => this.eachBatch(p),
      });
    // Offers resume from the group's commits.
    this.supervisor = superviseConsumer(consumer, () => consumer.connect().then(run), this.logger, this.groupId);
    await run();
    this.logger.info({ msg: 'taking tasks', group: this.groupId, concurrency: this.env.WORKER_CONCURRENCY });
  }

  /** Stops taking offers; runs in progress continue (see WorkerLifecycle for shutdown). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.supervisor?.stop();
    await this.consumer?.disconnect().catch(() => undefined);
  }

  private async eachBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    const live = () => !this.stopping && p.isRunning() && !p.isStale();
    const commit = async (offset: string) => {
      p.resolveOffset(offset);
      await p.commitOffsetsIfNecessary(p.uncommittedOffsets());
    };
    for (const message of batch.messages) {
      if (!live()) return;
      const receivedAt = Date.now();
      let offer: Envelope<'TaskOffered', TaskOfferedV1>;
      try {
        const env = eventCatalogue.read(decodeEnvelope(message.value));
        if (env.type !== 'TaskOffered') {
          await commit(message.offset);
          continue;
        }
        offer = env as Envelope<'TaskOffered', TaskOfferedV1>;
      } catch (e) {
        await this.publisher.sendRaw(this.env.KAFKA_TOPIC_PREFIX + Topics.deadLetters.name, [
          {
            key: message.key,
            value: message.value,
            headers: { 'x-original-topic': batch.topic, 'x-original-partition': String(batch.partition), 'x-original-offset': message.offset, 'x-consumer-group': this.groupId, 'x-error': (e as Error).message.slice(0, 2000), 'x-attempts': '0' },
          },
        ]);
        await commit(message.offset);
        continue;
      }
      const o = offer.payload;
      const id = { scanId: o.scanId, taskId: o.taskId, attempt: o.attempt, workerId: this.workerId };
      if (this.control.revocations.covers(id) || this.running.holds(o.taskId, o.attempt)) {
        await commit(message.offset);
        continue;
      }
      const stillWanted = async () => {
        if (!live()) return false;
        try {
          await p.heartbeat();
          return true;
        } catch {
          return false; // rebalancing: let the offer go to whoever owns the partition next
        }
      };
      // Under an emergency stop the offer waits here, uncommitted: nothing is lost, nothing starts.
      let got = false;
      while (!got) {
        if (!(await this.emergencyStop.whileStopped(stillWanted))) return;
        if (!(await this.pool.acquire(stillWanted))) return;
        got = !this.emergencyStop.active;
        if (!got) this.pool.release();
      }
      if (this.control.revocations.covers(id)) {
        this.pool.release();
        await commit(message.offset);
        continue;
      }
      try {
        const started: TaskStartedV1 = { projectId: o.projectId, scanId: o.scanId, taskId: o.taskId, attempt: o.attempt, workerId: this.workerId };
        await this.publisher.publish([workerEvent('TaskStarted', o.projectId, started, this.workerId, o.scanId, offer.eventId)]);
        await commit(message.offset);
      } catch (e) {
        // Not committed: the offer comes back (here or elsewhere); a later start supersedes ours.
        this.pool.release();
        this.logger.warn({ msg: 'offer not taken', taskId: o.taskId, error: (e as Error).message });
        throw e;
      }
      const run = this.runner.start(o, receivedAt);
      // A stop that arrived while the start was being published: the run ends at once as interrupted.
      if (this.emergencyStop.active) this.running.stop(run, 'interrupted');
      void run.done.finally(() => this.pool.release());
      this.logger.info({ msg: 'task started', taskId: o.taskId, attempt: o.attempt, scanId: o.scanId, ranges: o.ranges.length });
    }
  }
}
