import { randomUUID } from 'node:crypto';
import { eventCatalogue } from '../core/catalogue.js';
import { Topics } from '../core/topics.js';
import type { Envelope } from '../core/envelope.js';
import { PayloadError } from '../core/registry.js';
import { IDENTITY_EVENT_TYPES, type IdentityEvent } from './identity.events.js';

const envelope = (type: string, payload: unknown): Envelope => ({
  eventId: randomUUID(),
  type,
  schemaVersion: 1,
  key: 'u1',
  occurredAt: '2026-03-01T12:00:00.000Z',
  correlationId: 'c1',
  causationId: null,
  actor: { kind: 'system', id: 'server' },
  payload,
});

const ID = 'abcdefghijklmnop';
const HASH = 'a'.repeat(64);
const VALID: Record<IdentityEvent['type'], unknown> = {
  UserCreated: { userId: 'u1', username: 'alice', kind: 'worker', admin: false },
  UserUpdated: { userId: 'u1', admin: true },
  UserDisabled: { userId: 'u1' },
  UserEnabled: { userId: 'u1' },
  UserDeleted: { userId: 'u1' },
  TokenIssued: { userId: 'u1', tokenId: ID, hashAlg: 'sha256', hash: HASH, expiresAt: '2026-04-01T00:00:00.000Z', label: null },
  TokenRevoked: { userId: 'u1', tokenId: ID, reason: 'rotated', replacedBy: 'qrstuvwxyz234567' },
  TokenExpiryChanged: { userId: 'u1', tokenId: ID, expiresAt: null },
};

describe('identity events', () => {
  it('are all registered on the identity topic', () => {
    for (const type of IDENTITY_EVENT_TYPES) expect(eventCatalogue.get(type)).toMatchObject({ type, topic: Topics.identity.name, schemaVersion: 1 });
    expect(Object.keys(VALID).sort()).toEqual([...IDENTITY_EVENT_TYPES].sort());
  });

  it.each(Object.entries(VALID))('accept a valid %s', (type, payload) => {
    expect(eventCatalogue.read(envelope(type, payload)).payload).toEqual(payload);
  });

  const token = `fal_${ID}_${'b'.repeat(52)}`;
  it.each([
    ['an unknown principal kind', 'UserCreated', { ...(VALID.UserCreated as object), kind: 'robot' }, /payload.kind/],
    ['a missing admin flag', 'UserCreated', { userId: 'u1', username: 'a', kind: 'user' }, /payload.admin/],
    ['a non-boolean admin patch', 'UserUpdated', { userId: 'u1', admin: 'yes' }, /payload.admin/],
    ['a plaintext token as hash', 'TokenIssued', { ...(VALID.TokenIssued as object), hash: token }, /payload.hash: expected sha256/],
    ['an upper-case hash', 'TokenIssued', { ...(VALID.TokenIssued as object), hash: HASH.toUpperCase() }, /payload.hash/],
    ['a plaintext token as token id', 'TokenIssued', { ...(VALID.TokenIssued as object), tokenId: token }, /payload.tokenId/],
    ['another hash algorithm', 'TokenIssued', { ...(VALID.TokenIssued as object), hashAlg: 'md5' }, /payload.hashAlg/],
    ['a bad expiry', 'TokenIssued', { ...(VALID.TokenIssued as object), expiresAt: 'soon' }, /payload.expiresAt/],
    ['an unknown revocation reason', 'TokenRevoked', { ...(VALID.TokenRevoked as object), reason: 'bored' }, /payload.reason/],
    ['a plaintext token as replacement', 'TokenRevoked', { ...(VALID.TokenRevoked as object), replacedBy: token }, /payload.replacedBy/],
    ['a missing token id', 'TokenExpiryChanged', { userId: 'u1', expiresAt: null }, /payload.tokenId/],
  ])('refuse %s', (_why, type, payload, message) => {
    expect(() => eventCatalogue.read(envelope(type, payload))).toThrow(PayloadError);
    expect(() => eventCatalogue.read(envelope(type, payload))).toThrow(message);
  });
});
