// Test support for the identity specs: given(events).when(command).then(events) / thenError(code).
// Kept out of index.ts so that production code cannot reach it.
import { createHash } from 'node:crypto';
import { eventCatalogue, type Actor, type IdentityEvent, type TokenIssuedV1 } from '#events';
import { decideIdentity, type IdentityCommand, type IdentityContext, type IdentityDecision, type IdentityErrorCode } from './identity.decider.js';
import { foldIdentity, type IdentityState } from './identity.state.js';
import { hashToken, newTokenSecret, parseToken, TOKEN_RANDOM_BYTES, type OneTimeToken } from './token.js';

export const T0 = new Date('2026-03-01T12:00:00.000Z');
export const at = (iso: string): Date => new Date(iso);
export const plus = (d: Date, seconds: number): Date => new Date(d.getTime() + seconds * 1000);

export const ADMIN_ACTOR: Actor = { kind: 'user', id: 'u-root', name: 'root' };
export const SYSTEM: Actor = { kind: 'system', id: 'falcoria-server' };

const uuid = (prefix: number, n: number) =>
  `${prefix.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** Deterministic ids and bytes: a counter run through sha256, so every draw differs. */
export function testContext(now: Date = T0, seed = 1): IdentityContext & { readonly draws: () => number } {
  let ids = 0;
  let draws = 0;
  return {
    now,
    newId: () => uuid(seed, ++ids),
    randomBytes: (n) => {
      draws++;
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i += 32) out.set(createHash('sha256').update(`${seed}:${draws}:${i}`).digest().subarray(0, Math.min(32, n - i)), i);
      return out;
    },
    draws: () => draws,
  };
}

let given_seq = 0;
const envelope = <T extends IdentityEvent['type']>(type: T, userId: string, payload: Extract<IdentityEvent, { type: T }>['payload'], occurredAt: Date = T0): IdentityEvent =>
  ({
    eventId: uuid(0xeeee, ++given_seq),
    type,
    schemaVersion: 1,
    key: userId,
    occurredAt: occurredAt.toISOString(),
    correlationId: 'given',
    causationId: null,
    actor: ADMIN_ACTOR,
    payload,
  }) as IdentityEvent;

export const userCreated = (userId: string, username: string, opts: { admin?: boolean; kind?: 'user' | 'worker' | 'service'; at?: Date } = {}) =>
  envelope('UserCreated', userId, { userId, username, kind: opts.kind ?? 'user', admin: opts.admin ?? false }, opts.at);
export const userUpdated = (userId: string, admin: boolean) => envelope('UserUpdated', userId, { userId, admin });
export const userDisabled = (userId: string) => envelope('UserDisabled', userId, { userId });
export const userEnabled = (userId: string) => envelope('UserEnabled', userId, { userId });
export const userDeleted = (userId: string) => envelope('UserDeleted', userId, { userId });
export const tokenRevoked = (userId: string, tokenId: string, reason: 'revoked' | 'rotated' | 'user-deleted' = 'revoked') =>
  envelope('TokenRevoked', userId, { userId, tokenId, reason, replacedBy: null });
export const tokenExpiryChanged = (userId: string, tokenId: string, expiresAt: string | null) =>
  envelope('TokenExpiryChanged', userId, { userId, tokenId, expiresAt });

/** A real token with its TokenIssued event, so that authenticate can be tested against it. */
export function issued(
  userId: string,
  seed: number,
  opts: { expiresAt?: string | null; label?: string | null; at?: Date } = {},
): { token: string; tokenId: string; event: IdentityEvent } {
  const bytes = new Uint8Array(TOKEN_RANDOM_BYTES).map((_, i) => (seed * 131 + i * 17) & 0xff);
  const token = newTokenSecret(bytes);
  const tokenId = parseToken(token)!.tokenId;
  const payload: TokenIssuedV1 = { userId, tokenId, hashAlg: 'sha256', hash: hashToken(token), expiresAt: opts.expiresAt ?? null, label: opts.label ?? null };
  return { token, tokenId, event: envelope('TokenIssued', userId, payload, opts.at) };
}

export type ExpectedEvent = { readonly type: IdentityEvent['type']; readonly payload: unknown };
type Success = Extract<IdentityDecision, { ok: true }>;

export const cmd = <C extends IdentityCommand['type']>(
  type: C,
  fields: Omit<Extract<IdentityCommand, { type: C }>, 'type' | 'actor'> & { actor?: Actor },
): IdentityCommand => ({ actor: ADMIN_ACTOR, ...fields, type }) as IdentityCommand;

/**
 * Every successful decision is also checked for what must always hold: each event passes its
 * catalogue schema at the version written, is keyed by its user, and carries no plaintext token.
 */
export function checkInvariants(decision: Success): void {
  for (const e of decision.events) {
    expect(eventCatalogue.read(e)).toEqual(e);
    expect(e.key).toBe((e.payload as { userId: string }).userId);
  }
  if (decision.token) {
    const serialised = JSON.stringify(decision.events);
    const plain = decision.token.reveal();
    expect(serialised).not.toContain(plain);
    expect(serialised).not.toContain(parseToken(plain)!.secret);
  }
}

export function given(...history: IdentityEvent[]) {
  const state: IdentityState = foldIdentity(history);
  return {
    state,
    when(command: IdentityCommand, ctx: IdentityContext = testContext()) {
      const decision = decideIdentity(command, state, ctx);
      return {
        decision,
        /** Compares type and payload; payloads may use asymmetric matchers. Returns the success for more checks. */
        then(expected: readonly ExpectedEvent[]): Success & { readonly after: IdentityState } {
          if (!decision.ok) throw new Error(`expected success, got ${decision.error.code}: ${decision.error.message}`);
          expect(decision.events.map((e) => ({ type: e.type, payload: e.payload }))).toEqual(expected);
          checkInvariants(decision);
          return { ...decision, after: foldIdentity(decision.events, state) };
        },
        thenError(code: IdentityErrorCode): void {
          expect(decision).toEqual({ ok: false, error: { code, message: expect.any(String) } });
        },
      };
    },
  };
}

export const revealed = (t: OneTimeToken | null): string => {
  if (!t) throw new Error('expected a token');
  return t.reveal();
};
