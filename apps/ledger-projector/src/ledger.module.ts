import { Module, type DynamicModule } from '@nestjs/common';
import { InfraModule } from '#platform';
import { LedgerEnv } from './ledger.config.js';
import { LedgerConsumerService } from './projection/ledger-consumer.service.js';
import { CreateProjectHttpController } from './projects/create-project/create-project.http.controller.js';
import { QueryProjectsHttpController } from './projects/query-projects/query-projects.http.controller.js';

const httpControllers = [CreateProjectHttpController, QueryProjectsHttpController];

@Module({})
export class LedgerModule {
  static register(): DynamicModule {
    return {
      module: LedgerModule,
      imports: [InfraModule.forRoot({ service: 'ledger', env: LedgerEnv, database: true })],
      controllers: httpControllers,
      providers: [LedgerConsumerService],
    };
  }
}
