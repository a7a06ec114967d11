import type { Envelope } from './envelope.js';
import { SchemaError, type Check } from './schema.js';

export interface EventDefinition<T extends string = string, P = unknown> {
  readonly type: T;
  readonly topic: string;
  /** The version producers write today; older versions are upcast on read. */
  readonly schemaVersion: number;
  readonly payload: Check<P>;
}

type Upcaster = (payload: unknown) => unknown;

export class UnknownEventError extends Error {
  readonly code = 'EVENT.UNKNOWN_TYPE';
}

export class PayloadError extends Error {
  readonly code = 'EVENT.PAYLOAD_INVALID';
}

/**
 * The one place where wire names map to schemas, and old shapes become current ones.
 * Aliases keep renamed wire names readable forever.
 */
export class EventRegistry {
  private readonly defs = new Map<string, EventDefinition>();
  private readonly aliases = new Map<string, string>();
  private readonly upcasters = new Map<string, Upcaster>();

  define<T extends string, P>(def: EventDefinition<T, P>, opts: { aliases?: readonly string[] } = {}): EventDefinition<T, P> {
    if (this.defs.has(def.type)) throw new Error(`event type ${def.type} defined twice`);
    this.defs.set(def.type, def as EventDefinition);
    for (const a of opts.aliases ?? []) this.aliases.set(a, def.type);
    return def;
  }

  /** Registers the step from `fromVersion` to `fromVersion + 1` of one event type. */
  upcast(type: string, fromVersion: number, fn: Upcaster): void {
    this.upcasters.set(`${type}@${fromVersion}`, fn);
  }

  get(type: string): EventDefinition | undefined {
    return this.defs.get(this.aliases.get(type) ?? type);
  }

  all(): readonly EventDefinition[] {
    return [...this.defs.values()];
  }

  /** Resolves aliases, upcasts step by step to the current version, then validates the payload. */
  read(env: Envelope<string, unknown>): Envelope<string, unknown> {
    const def = this.get(env.type);
    if (!def) throw new UnknownEventError(`unknown event type "${env.type}"`);
    if (env.schemaVersion > def.schemaVersion)
      throw new PayloadError(`${def.type} v${env.schemaVersion} is newer than this build understands (v${def.schemaVersion})`);
    let payload = env.payload;
    for (let v = env.schemaVersion; v < def.schemaVersion; v++) {
      const up = this.upcasters.get(`${def.type}@${v}`);
      if (!up) throw new PayloadError(`no upcaster for ${def.type} from v${v}`);
      payload = up(payload);
    }
    try {
      def.payload(payload, 'payload');
    } catch (e) {
      if (e instanceof SchemaError) throw new PayloadError(`${def.type} v${def.schemaVersion}: ${e.message}`);
      throw e;
    }
    return { ...env, type: def.type, schemaVersion: def.schemaVersion, payload };
  }
}
