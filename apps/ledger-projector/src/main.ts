import 'reflect-metadata';
import { runHttpApp } from '#platform';
import { LedgerModule } from './ledger.module.js';

const port = Number(process.env.LEDGER_PORT ?? 8081);
await runHttpApp(() => LedgerModule.register(), { service: 'ledger', port, title: 'Falcoria ledger API' });
