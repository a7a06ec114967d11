import { hostname } from 'node:os';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import { Topics, type RunningTaskJson, type WorkerEvent, type WorkerIdentityJson } from '#events';
import { CONFIG, KAFKA, LOGGER, startViewConsumer, type JsonLogger, type ViewConsumer } from '#platform';
import type { TaskerEnv } from '../tasker.config.js';

export interface FleetMember {
  readonly identity: WorkerIdentityJson;
  /** Kafka timestamp (the worker's clock) of its latest announcement or heartbeat, epoch ms. */
  readonly lastSeen: number;
  readonly running: readonly RunningTaskJson[];
  readonly heartbeatSeconds: number;
  /** The worker says the emergency stop holds it. */
  readonly stopped: boolean;
}

/**
 * The worker fleet as every tasker instance sees it, folded in memory from the workers topic. Each
 * instance reads under its own group and never commits; on start it seeks to a little more than the
 * dead-worker window back in time, since heartbeats older than that say nothing about today's fleet
 * (and the topic, kept forever, grows by a heartbeat per worker every few seconds).
 */
@Injectable()
export class FleetView implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly members = new Map<string, FleetMember>();
  private readonly taskSeen = new Map<string, number>();
  private view?: ViewConsumer;
  private readyAt: number | null = null;
  readonly groupId: string;

  constructor(
    @Inject(CONFIG) private readonly config: TaskerEnv,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {
    this.groupId = `${config.KAFKA_TOPIC_PREFIX}falcoria.tasker.fleet.${hostname()}-${process.pid}`;
  }

  private get topic(): string {
    return this.config.KAFKA_TOPIC_PREFIX + Topics.workers.name;
  }

  /** True once the view has read what the topic held when it started. */
  get ready(): boolean {
    return this.readyAt !== null;
  }

  private get lookbackMs(): number {
    return 2 * Math.max(this.config.TASKER_WORKER_DEAD_SECONDS, this.config.TASKER_LEASE_SECONDS) * 1000;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.view = await startViewConsumer({
      kafka: this.kafka,
      groupId: this.groupId,
      topic: this.topic,
      from: { lookbackMs: this.lookbackMs },
      apply: (e, message) => this.apply(e as WorkerEvent, Number(message.timestamp)),
      logger: this.logger,
      skipped: 'fleet view skipped an unreadable event',
    });
    // Ready after 30 s even if behind: the view fills in as heartbeats arrive.
    await this.view.caughtUp(30000);
    this.readyAt = Date.now();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.view?.stop();
  }

  apply(e: WorkerEvent, at: number): void {
    switch (e.type) {
      case 'WorkerAnnounced': {
        const prev = this.members.get(e.payload.workerId);
        this.members.set(e.payload.workerId, { identity: e.payload, lastSeen: Math.max(at, prev?.lastSeen ?? 0), running: prev?.running ?? [], heartbeatSeconds: prev?.heartbeatSeconds ?? 0, stopped: prev?.stopped ?? false });
        return;
      }
      case 'WorkerHeartbeat': {
        const { running, heartbeatSeconds, stopped, ...identity } = e.payload;
        this.members.set(identity.workerId, { identity, lastSeen: at, running, heartbeatSeconds, stopped: stopped === true });
        for (const t of running) this.taskSeen.set(taskKey(t.taskId, t.attempt, identity.workerId), at);
        if (this.taskSeen.size > 100_000) this.prune(at);
        return;
      }
      case 'WorkerStopped':
        this.members.delete(e.payload.workerId);
        return;
    }
  }

  private prune(now: number): void {
    for (const [k, t] of this.taskSeen) if (now - t > this.lookbackMs) this.taskSeen.delete(k);
  }

  /** Workers heard from within the dead-worker window, newest first. */
  alive(now = Date.now()): FleetMember[] {
    const dead = this.config.TASKER_WORKER_DEAD_SECONDS * 1000;
    return [...this.members.values()].filter((m) => now - m.lastSeen <= dead).sort((a, b) => b.lastSeen - a.lastSeen);
  }

  member(workerId: string): FleetMember | undefined {
    return this.members.get(workerId);
  }

  /** When a heartbeat of this worker last named this attempt of the task (epoch ms), if ever. */
  lastSeenRunning(taskId: string, attempt: number, workerId: string): number | null {
    return this.taskSeen.get(taskKey(taskId, attempt, workerId)) ?? null;
  }
}

const taskKey = (taskId: string, attempt: number, workerId: string) => `${taskId}|${attempt}|${workerId}`;
