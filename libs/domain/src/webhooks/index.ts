export * from './webhook-signature.js';
export * from './webhook-retry.js';
export * from './webhook-target.js';
