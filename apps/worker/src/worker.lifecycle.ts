import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { LOGGER, type JsonLogger } from '#platform';
import { ControlListener } from './control/control.listener.js';
import { EmergencyStopListener } from './control/emergency-stop.listener.js';
import { HeartbeatService } from './fleet/heartbeat.service.js';
import { TaskIntakeConsumer } from './intake/task-intake.consumer.js';
import { RunningTasks } from './run/running-tasks.js';

/**
 * Start: revocations first (so a cancelled offer is never started), the emergency stop (so a stopped
 * fleet never starts one), then the announcement, then
 * intake. Stop (SIGTERM): no new offers, running nmap processes stopped, each task reported as
 * failed with reason worker_shutdown (the planner re-queues it at once instead of waiting for the
 * lease), then the fleet is told. This runs before the shared infrastructure closes Kafka.
 */
@Injectable()
export class WorkerLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    private readonly control: ControlListener,
    private readonly emergencyStop: EmergencyStopListener,
    private readonly heartbeat: HeartbeatService,
    private readonly intake: TaskIntakeConsumer,
    private readonly running: RunningTasks,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.control.start();
    await this.emergencyStop.start();
    await this.heartbeat.start();
    await this.intake.start();
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    await this.intake.stop();
    const runs = this.running.all();
    for (const r of runs) this.running.stop(r, 'worker_shutdown');
    await Promise.all(runs.map((r) => r.done));
    await this.heartbeat.stop(signal ?? 'shutdown');
    this.logger.info({ msg: 'worker stopped', tasksHandedBack: runs.length });
  }
}
