import 'reflect-metadata';
import { runHttpApp } from '#platform';
import { TaskerModule } from './tasker.module.js';

await runHttpApp(() => TaskerModule.register(), { service: 'tasker', port: Number(process.env.TASKER_PORT ?? 8080), title: 'Falcoria tasker API' });
