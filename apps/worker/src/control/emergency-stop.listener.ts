import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { FleetControlEvent } from '#events';
import { foldEmergencyStop, NO_EMERGENCY_STOP, type EmergencyStopState } from '#domain';
import { CONFIG, FleetControlReader, KAFKA, LOGGER, type JsonLogger } from '#platform';
import { RunningTasks } from '../run/running-tasks.js';
import type { WorkerEnv } from '../worker.config.js';
import { WORKER_ID } from '../worker.tokens.js';

/**
 * Obeys the fleet-wide emergency stop (the fleet-control topic, read in full before the first task).
 * On activation every running task is stopped: its nmap gets SIGTERM, then SIGKILL after
 * WORKER_KILL_GRACE_MS, and the task is reported as interrupted (the planner queues it again, not
 * counted as an attempt). While the stop holds, no offer is taken: intake waits without committing,
 * so every offer is still there after the release.
 */
@Injectable()
export class EmergencyStopListener implements OnApplicationShutdown {
  private current: EmergencyStopState = NO_EMERGENCY_STOP;
  private reader?: FleetControlReader;
  private readonly listeners = new Set<(active: boolean) => void>();
  private readonly waiters = new Set<() => void>();

  constructor(
    @Inject(CONFIG) private readonly env: WorkerEnv,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(LOGGER) private readonly logger: JsonLogger,
    @Inject(WORKER_ID) private readonly workerId: string,
    private readonly running: RunningTasks,
  ) {}

  get active(): boolean {
    return this.current.active;
  }

  /** Told on every change (the heartbeat reports it at once). */
  onChange(f: (active: boolean) => void): void {
    this.listeners.add(f);
  }

  async start(): Promise<void> {
    const group = `${this.env.KAFKA_TOPIC_PREFIX}falcoria.fleet-control.${this.workerId}.${process.pid}`;
    this.reader = new FleetControlReader(this.kafka, this.env.KAFKA_TOPIC_PREFIX, group, (e) => this.apply(e), this.logger);
    await this.reader.start();
    if (this.current.active) this.logger.warn({ msg: 'emergency stop active: no task will run until it is released', since: this.current.since, by: this.current.by });
  }

  apply(e: FleetControlEvent): void {
    const was = this.current.active;
    this.current = foldEmergencyStop(this.current, e);
    if (this.current.active) {
      const stopped = this.running.stopWhere(() => true, this.workerId, 'interrupted');
      if (!was) this.logger.warn({ msg: 'emergency stop: killing every running nmap, taking no tasks', tasks: stopped, by: e.actor, reason: e.payload.reason });
    } else if (was) {
      this.logger.warn({ msg: 'emergency stop released: taking tasks again', by: e.actor });
      for (const w of [...this.waiters]) w();
    }
    if (was !== this.current.active) for (const f of this.listeners) f(this.current.active);
  }

  /**
   * Resolves true once no stop holds (at once when none does), or false when the caller no longer
   * wants to wait (a rebalance, a shutdown); `stillWanted` is polled, which also keeps the group session alive.
   */
  async whileStopped(stillWanted: () => Promise<boolean>, pollMs = 1000): Promise<boolean> {
    while (this.current.active) {
      if (!(await stillWanted())) return false;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, pollMs);
        this.waiters.add(wake);
      });
    }
    return true;
  }

  async onApplicationShutdown(): Promise<void> {
    for (const w of [...this.waiters]) w();
    await this.reader?.stop();
  }
}
