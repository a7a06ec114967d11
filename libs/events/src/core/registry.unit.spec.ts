import { randomUUID } from 'node:crypto';
import { decodeEnvelope, encodeEnvelope, EnvelopeError, type Envelope } from './envelope.js';
import { EventRegistry, PayloadError, UnknownEventError } from './registry.js';
import { int, object, optional, str } from './schema.js';

const envelope = (type: string, schemaVersion: number, payload: unknown): Envelope => ({
  eventId: randomUUID(),
  type,
  schemaVersion,
  key: 'k1',
  occurredAt: '2026-11-21T10:00:00.000Z',
  correlationId: 'c1',
  causationId: null,
  actor: { kind: 'user', id: 'u1' },
  payload,
});

// v1 had a single "name"; v2 split it. v3 added a port default.
const registry = () => {
  const r = new EventRegistry();
  r.define({ type: 'ThingRenamed', topic: 't', schemaVersion: 3, payload: object({ first: str, last: str, port: int }) }, { aliases: ['thing-renamed'] });
  r.upcast('ThingRenamed', 1, (p) => {
    const [first, last = ''] = String((p as { name: string }).name).split(' ');
    return { first, last };
  });
  r.upcast('ThingRenamed', 2, (p) => ({ port: 0, ...(p as object) }));
  return r;
};

describe('envelope', () => {
  it('round-trips through bytes', () => {
    const e = envelope('ThingRenamed', 3, { first: 'a', last: 'b', port: 1 });
    expect(decodeEnvelope(encodeEnvelope(e))).toEqual(e);
  });
  it.each([
    ['not json', '{oops', /not JSON/],
    ['missing eventId', JSON.stringify({ ...envelope('X', 1, {}), eventId: undefined }), /eventId: expected uuid/],
    ['bad time', JSON.stringify({ ...envelope('X', 1, {}), occurredAt: 'yesterday' }), /occurredAt/],
    ['no payload', JSON.stringify({ ...envelope('X', 1, {}), payload: undefined }), /payload missing/],
    ['bad actor', JSON.stringify({ ...envelope('X', 1, {}), actor: { kind: 'robot', id: 'x' } }), /actor.kind/],
  ])('refuses %s', (_name, raw, message) => {
    expect(() => decodeEnvelope(raw)).toThrow(EnvelopeError);
    expect(() => decodeEnvelope(raw)).toThrow(message);
  });
  it('refuses a tombstone', () => expect(() => decodeEnvelope(null)).toThrow(/tombstone/));
});

describe('upcasting', () => {
  it('given a v1 payload, when read, then it is upcast through v2 to v3', () => {
    const out = registry().read(envelope('ThingRenamed', 1, { name: 'Ada Lovelace' }));
    expect(out.schemaVersion).toBe(3);
    expect(out.payload).toEqual({ first: 'Ada', last: 'Lovelace', port: 0 });
  });
  it('given a v2 payload, when read, then only the v2→v3 step runs', () => {
    const out = registry().read(envelope('ThingRenamed', 2, { first: 'A', last: 'B' }));
    expect(out.payload).toEqual({ port: 0, first: 'A', last: 'B' });
  });
  it('given a current payload, it passes unchanged', () => {
    const p = { first: 'A', last: 'B', port: 5 };
    expect(registry().read(envelope('ThingRenamed', 3, p)).payload).toBe(p);
  });
  it('resolves an old wire name through its alias', () => {
    expect(registry().read(envelope('thing-renamed', 3, { first: 'A', last: 'B', port: 5 })).type).toBe('ThingRenamed');
  });
  it('refuses unknown types, future versions, missing upcasters and bad payloads', () => {
    const r = registry();
    expect(() => r.read(envelope('Nope', 1, {}))).toThrow(UnknownEventError);
    expect(() => r.read(envelope('ThingRenamed', 4, {}))).toThrow(/newer than this build/);
    expect(() => r.read(envelope('ThingRenamed', 0, {}))).toThrow(/no upcaster .* from v0/);
    expect(() => r.read(envelope('ThingRenamed', 3, { first: 'A', last: 'B', port: 'x' }))).toThrow(PayloadError);
    expect(() => r.read(envelope('ThingRenamed', 3, { first: 'A', last: 'B', port: 'x' }))).toThrow(/payload.port: expected integer/);
  });
  it('tolerates extra fields (newer producer, older consumer) but checks optional ones when present', () => {
    const check = object({ a: str, b: optional(int) });
    expect(check({ a: 'x', extra: 1 }, '')).toEqual({ a: 'x', extra: 1 });
    expect(() => check({ a: 'x', b: 'no' }, '')).toThrow(/b: expected integer/);
  });
});
