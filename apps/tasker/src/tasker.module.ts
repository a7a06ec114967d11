import { Module, type DynamicModule } from '@nestjs/common';
import type { Resolver } from '#domain';
import { InfraModule } from '#platform';
import { DispatchClock } from './dispatch/dispatch.clock.js';
import { EmergencyStopHttpController } from './emergency-stop/emergency-stop.http.controller.js';
import { EmergencyStopService } from './emergency-stop/emergency-stop.service.js';
import { EmergencyStopView } from './emergency-stop/emergency-stop.view.js';
import { KnownHostsConsumer } from './known-hosts/known-hosts.consumer.js';
import { PlannerConsumer } from './planner/planner.consumer.js';
import { ListProfilesHttpController } from './profiles/list-profiles.http.controller.js';
import { ProfileCatalogue } from './profiles/profile.catalogue.js';
import { CancelScansHttpController } from './scans/cancel-scan/cancel-scans.http.controller.js';
import { CancelScansService } from './scans/cancel-scan/cancel-scans.service.js';
import { ScanPolicyHttpController } from './scans/scan-policy/scan-policy.http.controller.js';
import { ScanPolicyService } from './scans/scan-policy/scan-policy.service.js';
import { ScanStatusHttpController } from './scans/scan-status/scan-status.http.controller.js';
import { ScansReadModel } from './scans/scan-status/scans.read-model.js';
import { StartScanHttpController } from './scans/start-scan/start-scan.http.controller.js';
import { StartScanService } from './scans/start-scan/start-scan.service.js';
import { RESOLVER, SystemResolver } from './scans/start-scan/system.resolver.js';
import { TaskerEnv } from './tasker.config.js';
import { FleetView } from './workers/fleet.view.js';
import { LeaseWatchdog } from './workers/lease-watchdog.service.js';
import { ListWorkersHttpController } from './workers/list-workers.http.controller.js';

export const httpControllers = [
  StartScanHttpController,
  ScanStatusHttpController,
  CancelScansHttpController,
  ListWorkersHttpController,
  ListProfilesHttpController,
  ScanPolicyHttpController,
  EmergencyStopHttpController,
];

export interface TaskerOptions {
  /** Tests pass a resolver that answers from a table; production uses the system's DNS. */
  readonly resolver?: Resolver;
}

@Module({})
export class TaskerModule {
  static register(opts: TaskerOptions = {}): DynamicModule {
    return {
      module: TaskerModule,
      imports: [InfraModule.forRoot({ service: 'tasker', env: TaskerEnv, database: true, accessView: true })],
      controllers: httpControllers,
      providers: [
        { provide: RESOLVER, useValue: opts.resolver ?? new SystemResolver() },
        ProfileCatalogue,
        FleetView,
        EmergencyStopView,
        LeaseWatchdog,
        DispatchClock,
        KnownHostsConsumer,
        PlannerConsumer,
        ScansReadModel,
        StartScanService,
        CancelScansService,
        ScanPolicyService,
        EmergencyStopService,
      ],
    };
  }
}
