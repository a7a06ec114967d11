import { Module, type DynamicModule } from '@nestjs/common';
import { InfraModule } from '#platform';
import { AccessCommandsService } from './access/access-commands.service.js';
import { LedgerEnv } from './ledger.config.js';
import { LedgerConsumerService } from './projection/ledger-consumer.service.js';
import { ProjectsHttpController } from './projects/projects.http.controller.js';
import { UsersHttpController } from './users/users.http.controller.js';
import { ImportReportHttpController } from './imports/import-report.http.controller.js';
import { ImportReportService } from './imports/import-report.service.js';
import { HostsHttpController } from './hosts/hosts.http.controller.js';
import { HostScopeReader } from './hosts/host-scope.reader.js';
import { ExportHttpController } from './exports/export.http.controller.js';
import { LedgerAdminHttpController } from './admin/ledger-admin.http.controller.js';
import { AuditHttpController } from './audit/audit.http.controller.js';
import { WebhooksHttpController } from './webhooks/webhooks.http.controller.js';
import { WebhookCommandsHandler } from './webhooks/webhook-commands.handler.js';
import { WebhookDeliveryService } from './webhooks/webhook-delivery.service.js';
import { WebhookStore } from './webhooks/webhook.store.js';
import { AuditReplayHttpController } from './audit/audit-replay.http.controller.js';

export const httpControllers = [UsersHttpController, ProjectsHttpController, ImportReportHttpController, HostsHttpController, ExportHttpController, LedgerAdminHttpController, AuditHttpController, AuditReplayHttpController, WebhooksHttpController];

@Module({})
export class LedgerModule {
  static register(): DynamicModule {
    return {
      module: LedgerModule,
      imports: [InfraModule.forRoot({ service: 'ledger', env: LedgerEnv, database: true, accessView: true })],
      controllers: httpControllers,
      providers: [LedgerConsumerService, AccessCommandsService, ImportReportService, HostScopeReader, WebhookStore, WebhookCommandsHandler, WebhookDeliveryService],
    };
  }
}
