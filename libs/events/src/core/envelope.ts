import { isoTime, literal, nullable, object, optional, str, type Check, int, uuid, SchemaError } from './schema.js';

export interface Actor {
  readonly kind: 'user' | 'worker' | 'service' | 'system';
  readonly id: string;
  readonly name?: string;
}

/**
 * The one envelope of every Kafka message. `key` is the aggregate id and also the Kafka message key,
 * so all events of one aggregate share a partition and keep their order.
 */
export interface Envelope<T extends string = string, P = unknown> {
  readonly eventId: string;
  readonly type: T;
  readonly schemaVersion: number;
  readonly key: string;
  readonly occurredAt: string;
  readonly correlationId: string;
  readonly causationId: string | null;
  readonly actor: Actor;
  readonly payload: P;
}

export const actorCheck: Check<Actor> = object({
  kind: literal('user', 'worker', 'service', 'system'),
  id: str,
  name: optional(str),
}) as Check<Actor>;

const envelopeCheck = object({
  eventId: uuid,
  type: str,
  schemaVersion: int,
  key: str,
  occurredAt: isoTime,
  correlationId: str,
  causationId: nullable(str),
  actor: actorCheck,
});

export class EnvelopeError extends Error {
  readonly code = 'EVENT.ENVELOPE_INVALID';
}

/** Parses raw bytes into an envelope whose payload is still unvalidated. */
export function decodeEnvelope(raw: Buffer | string | null): Envelope<string, unknown> {
  if (raw === null) throw new EnvelopeError('empty message (tombstone): event topics carry no tombstones');
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (e) {
    throw new EnvelopeError(`not JSON: ${(e as Error).message}`);
  }
  try {
    envelopeCheck(parsed, '');
  } catch (e) {
    if (e instanceof SchemaError) throw new EnvelopeError(`bad envelope: ${e.message}`);
    throw e;
  }
  const env = parsed as Envelope<string, unknown>;
  if (!('payload' in (parsed as object))) throw new EnvelopeError('bad envelope: payload missing');
  return env;
}

export function encodeEnvelope(env: Envelope): Buffer {
  return Buffer.from(JSON.stringify(env), 'utf8');
}

export interface NewEventInput<T extends string, P> {
  readonly type: T;
  readonly key: string;
  readonly payload: P;
  readonly actor: Actor;
  readonly correlationId?: string;
  readonly causationId?: string | null;
  /** Ids and time come from the caller so that deciders stay deterministic. */
  readonly eventId: string;
  readonly occurredAt: string;
}
