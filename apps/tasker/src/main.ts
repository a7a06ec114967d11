import 'reflect-metadata';
import { runHttpApp } from '#platform';
import { TaskerModule } from './tasker.module.js';

// Target lists of up to TASKER_MAX_INPUTS entries arrive in one body.
await runHttpApp(() => TaskerModule.register(), { service: 'tasker', port: Number(process.env.TASKER_PORT ?? 8080), title: 'Falcoria tasker API', bodyLimit: '16mb' });
