export * from './nmap-report/index.js';
export * from './ledger/index.js';
export * from './scanning/index.js';
export * from './identity/index.js';
export * from './projects/index.js';
export * from './tasks/index.js';
export * from './webhooks/index.js';
