import { eventCatalogue, type Actor, type Envelope } from '#events';
import { derivedUuid } from '#domain';

export const PLANNER_ACTOR: Actor = { kind: 'service', id: 'falcoria-tasker', name: 'planner' };

/**
 * Events the planner decides while handling one consumed event. Ids derive from the cause, so a
 * handler that runs again after a crash (its transaction rolled back, its events already out)
 * writes the same ids, and readers that key on event ids see each decision once.
 */
export class Outbox {
  readonly events: Envelope[] = [];
  private n = 0;

  constructor(
    private readonly cause: Pick<Envelope, 'eventId' | 'correlationId'>,
    private readonly sink?: (events: readonly Envelope[]) => Promise<void>,
  ) {}

  /**
   * Sends what has accumulated now (before the transaction commits, like everything the planner
   * decides), so that planning a million addresses never holds every offer in memory at once.
   */
  async flush(): Promise<void> {
    if (!this.sink || this.events.length === 0) return;
    await this.sink(this.events.splice(0));
  }

  add<P>(type: string, key: string, payload: P, opts: { id?: string; actor?: Actor } = {}): Envelope<string, P> {
    const def = eventCatalogue.get(type);
    if (!def) throw new Error(`unknown event type ${type}`);
    const e: Envelope<string, P> = {
      eventId: opts.id ?? derivedUuid('planner', this.cause.eventId, String(this.n++)),
      type,
      schemaVersion: def.schemaVersion,
      key,
      occurredAt: new Date().toISOString(),
      correlationId: this.cause.correlationId,
      causationId: this.cause.eventId,
      actor: opts.actor ?? PLANNER_ACTOR,
      payload,
    };
    this.events.push(e);
    return e;
  }
}
