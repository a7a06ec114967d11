import { Module, type DynamicModule } from '@nestjs/common';
import { InfraModule } from '#platform';
import { TaskerEnv } from './tasker.config.js';

@Module({})
export class TaskerModule {
  static register(): DynamicModule {
    return {
      module: TaskerModule,
      imports: [InfraModule.forRoot({ service: 'tasker', env: TaskerEnv, database: true, accessView: true })],
    };
  }
}
