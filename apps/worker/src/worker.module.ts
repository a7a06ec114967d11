import { Module, type DynamicModule } from '@nestjs/common';
import { InfraModule } from '#platform';
import { ControlListener } from './control/control.listener.js';
import { EmergencyStopListener } from './control/emergency-stop.listener.js';
import { HeartbeatService } from './fleet/heartbeat.service.js';
import { TaskIntakeConsumer } from './intake/task-intake.consumer.js';
import type { NmapInfo } from './nmap/nmap-probe.js';
import { RunningTasks } from './run/running-tasks.js';
import { TaskRunner } from './run/task-runner.js';
import { WorkerEnv } from './worker.config.js';
import { WorkerLifecycle } from './worker.lifecycle.js';
import { NMAP, WORKER_ID } from './worker.tokens.js';

export { NMAP, WORKER_ID };

@Module({})
export class WorkerModule {
  static register(nmap: NmapInfo & { pdeathsig: boolean }, workerId: string): DynamicModule {
    return {
      module: WorkerModule,
      imports: [InfraModule.forRoot({ service: 'worker', env: WorkerEnv, database: false, accessView: false })],
      providers: [{ provide: NMAP, useValue: nmap }, { provide: WORKER_ID, useValue: workerId }, RunningTasks, TaskRunner, ControlListener, EmergencyStopListener, HeartbeatService, TaskIntakeConsumer, WorkerLifecycle],
    };
  }
}
