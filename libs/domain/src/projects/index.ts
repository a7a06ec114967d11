export * from './project.decider.js';
