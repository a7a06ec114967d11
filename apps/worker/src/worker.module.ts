import { Module, type DynamicModule } from '@nestjs/common';
import { InfraModule } from '#platform';
import { WorkerEnv } from './worker.config.js';
import type { NmapInfo } from './nmap/nmap-probe.js';

export const NMAP = Symbol('NMAP');

@Module({})
export class WorkerModule {
  static register(nmap: NmapInfo): DynamicModule {
    return {
      module: WorkerModule,
      imports: [InfraModule.forRoot({ service: 'worker', env: WorkerEnv, database: false, accessView: false })],
      providers: [{ provide: NMAP, useValue: nmap }],
    };
  }
}
