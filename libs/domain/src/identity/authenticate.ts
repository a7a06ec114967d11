import type { PrincipalKind } from '#events';
import type { IdentityState } from './identity.state.js';
import { constantTimeEqual, hashToken, parseToken } from './token.js';

export interface Principal {
  readonly kind: PrincipalKind;
  readonly id: string;
  readonly username: string;
  /** Only ever true for kind 'user'. */
  readonly admin: boolean;
  /** Which credential was used, for audit; it is the public id, never the secret. */
  readonly tokenId: string;
}

/**
 * Why a token was refused, for audit logs only: HTTP answers every case with the same 401 so a
 * caller cannot probe which token ids exist.
 */
export type AuthFailureReason = 'invalid' | 'expired' | 'revoked' | 'disabled';
export interface AuthFailure {
  readonly error: AuthFailureReason;
}

export const isAuthFailure = (r: Principal | AuthFailure): r is AuthFailure => 'error' in r;

export function authenticate(state: IdentityState, token: string, now: Date): Principal | AuthFailure {
  const parsed = parseToken(token);
  if (!parsed) return { error: 'invalid' };
  const record = state.tokens.get(parsed.tokenId);
  // The hash is checked before any status, so a guessed token id alone learns nothing.
  if (!record || !constantTimeEqual(hashToken(token), record.hash)) return { error: 'invalid' };
  const user = state.users.get(record.userId);
  if (record.revoked || !user || user.status === 'deleted') return { error: 'revoked' };
  if (record.expiresAt !== null && now.getTime() >= Date.parse(record.expiresAt)) return { error: 'expired' };
  if (user.status === 'disabled') return { error: 'disabled' };
  return { kind: user.kind, id: user.userId, username: user.username, admin: user.kind === 'user' && user.admin, tokenId: record.tokenId };
}
