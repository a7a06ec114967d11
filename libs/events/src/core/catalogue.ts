import { EventRegistry } from './registry.js';

/** Every event type of the system, registered by the *.events.ts files that the barrel imports. */
export const eventCatalogue = new EventRegistry();
