export * from './address-sets.js';
export * from './ids.js';
export * from './portset.js';
export * from './plan-scan.js';
export * from './task-lifecycle.js';
export * from './revocations.js';
export * from './scan-result.js';
