export * from './token.js';
export * from './identity.state.js';
export * from './identity.decider.js';
export * from './authenticate.js';
export * from './access-policy.js';
