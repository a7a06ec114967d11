import { assertUnreachable, type IdentityEvent, type PrincipalKind, type TokenRevocationReason } from '#events';

export type UserStatus = 'active' | 'disabled' | 'deleted';

export interface UserRecord {
  readonly userId: string;
  readonly username: string;
  readonly kind: PrincipalKind;
  readonly admin: boolean;
  readonly status: UserStatus;
  readonly createdAt: string;
}

export interface TokenRecord {
  readonly tokenId: string;
  readonly userId: string;
  readonly hash: string;
  readonly label: string | null;
  readonly issuedAt: string;
  readonly expiresAt: string | null;
  readonly revoked: { readonly at: string; readonly reason: TokenRevocationReason } | null;
}

/**
 * The whole identity stream folded into memory. It is small (one partition: users and their
 * tokens), so copying a map per event stays cheap; revoked tokens are kept so that authenticate
 * can tell 'revoked' from 'invalid'.
 */
export interface IdentityState {
  readonly users: ReadonlyMap<string, UserRecord>;
  /** Usernames held by users that are not deleted. */
  readonly usernames: ReadonlyMap<string, string>;
  readonly tokens: ReadonlyMap<string, TokenRecord>;
}

export function initialIdentityState(): IdentityState {
  return { users: new Map(), usernames: new Map(), tokens: new Map() };
}

const withUser = (s: IdentityState, userId: string, patch: (u: UserRecord) => UserRecord): IdentityState => {
  const u = s.users.get(userId);
  // Facts about an unknown user cannot change anything we could act on; skipping keeps replay total.
  if (!u) return s;
  return { ...s, users: new Map(s.users).set(userId, patch(u)) };
};

const withToken = (s: IdentityState, tokenId: string, patch: (t: TokenRecord) => TokenRecord): IdentityState => {
  const t = s.tokens.get(tokenId);
  if (!t) return s;
  return { ...s, tokens: new Map(s.tokens).set(tokenId, patch(t)) };
};

export function evolveIdentity(state: IdentityState, event: IdentityEvent): IdentityState {
  switch (event.type) {
    case 'UserCreated': {
      const p = event.payload;
      const user: UserRecord = { userId: p.userId, username: p.username, kind: p.kind, admin: p.admin, status: 'active', createdAt: event.occurredAt };
      return {
        ...state,
        users: new Map(state.users).set(p.userId, user),
        usernames: new Map(state.usernames).set(p.username, p.userId),
      };
    }
    case 'UserUpdated': {
      const { admin } = event.payload;
      return withUser(state, event.payload.userId, (u) => (admin === undefined ? u : { ...u, admin }));
    }
    case 'UserDisabled':
      return withUser(state, event.payload.userId, (u) => ({ ...u, status: 'disabled' }));
    case 'UserEnabled':
      return withUser(state, event.payload.userId, (u) => ({ ...u, status: 'active' }));
    case 'UserDeleted': {
      const next = withUser(state, event.payload.userId, (u) => ({ ...u, status: 'deleted' }));
      const u = next.users.get(event.payload.userId);
      if (!u || next.usernames.get(u.username) !== u.userId) return next;
      const usernames = new Map(next.usernames);
      usernames.delete(u.username);
      return { ...next, usernames };
    }
    case 'TokenIssued': {
      const p = event.payload;
      const token: TokenRecord = {
        tokenId: p.tokenId,
        userId: p.userId,
        hash: p.hash,
        label: p.label,
        issuedAt: event.occurredAt,
        expiresAt: p.expiresAt,
        revoked: null,
      };
      return { ...state, tokens: new Map(state.tokens).set(p.tokenId, token) };
    }
    case 'TokenRevoked':
      return withToken(state, event.payload.tokenId, (t) => (t.revoked ? t : { ...t, revoked: { at: event.occurredAt, reason: event.payload.reason } }));
    case 'TokenExpiryChanged':
      return withToken(state, event.payload.tokenId, (t) => ({ ...t, expiresAt: event.payload.expiresAt }));
    default:
      return assertUnreachable(event);
  }
}

export const foldIdentity = (events: readonly IdentityEvent[], from: IdentityState = initialIdentityState()): IdentityState =>
  events.reduce(evolveIdentity, from);

export function findUserByUsername(state: IdentityState, username: string): UserRecord | undefined {
  const id = state.usernames.get(username);
  return id === undefined ? undefined : state.users.get(id);
}

/** Admins who can act right now; the decider never lets this drop to zero once it is positive. */
export function activeAdmins(state: IdentityState): readonly UserRecord[] {
  return [...state.users.values()].filter((u) => u.kind === 'user' && u.admin && u.status === 'active');
}

/** Tokens not revoked, expired ones included: revoking those too leaves nothing to revive later. */
export function unrevokedTokens(state: IdentityState, userId: string): readonly TokenRecord[] {
  return [...state.tokens.values()].filter((t) => t.userId === userId && t.revoked === null);
}
