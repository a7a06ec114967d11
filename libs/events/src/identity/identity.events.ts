import type { Envelope } from '../core/envelope.js';
import { eventCatalogue } from '../core/catalogue.js';
import { bool, isoTime, literal, nullable, object, optional, str, SchemaError, type Check } from '../core/schema.js';
import { Topics } from '../core/topics.js';

/**
 * Humans are 'user'; 'worker' runs scans and may only post results and heartbeats; 'service' is
 * automation that acts through project memberships like a user but never holds global rights.
 */
export type PrincipalKind = 'user' | 'worker' | 'service';
export const PRINCIPAL_KINDS: readonly PrincipalKind[] = ['user', 'worker', 'service'];

export type TokenRevocationReason = 'revoked' | 'rotated' | 'user-deleted';

export interface UserCreatedV1 {
  readonly userId: string;
  readonly username: string;
  readonly kind: PrincipalKind;
  readonly admin: boolean;
}
/** A patch: absent fields are unchanged, so later fields can be added without a new version. */
export interface UserUpdatedV1 {
  readonly userId: string;
  readonly admin?: boolean;
}
export interface UserDisabledV1 {
  readonly userId: string;
}
export interface UserEnabledV1 {
  readonly userId: string;
}
/** Final: the username becomes free again, the userId is never reused. */
export interface UserDeletedV1 {
  readonly userId: string;
}
/**
 * Carries only the digest and the public token id: the plaintext is shown once to the caller of
 * the command and exists nowhere else, so a leaked topic or read model grants nothing.
 */
export interface TokenIssuedV1 {
  readonly userId: string;
  readonly tokenId: string;
  readonly hashAlg: 'sha256';
  readonly hash: string;
  readonly expiresAt: string | null;
  readonly label: string | null;
}
export interface TokenRevokedV1 {
  readonly userId: string;
  readonly tokenId: string;
  readonly reason: TokenRevocationReason;
  /** The token that took this one's place when the reason is 'rotated'. */
  readonly replacedBy: string | null;
}
export interface TokenExpiryChangedV1 {
  readonly userId: string;
  readonly tokenId: string;
  readonly expiresAt: string | null;
}

// Deliberately exact: a plaintext token ("fal_<id>_<secret>") matches neither, so the schema itself
// refuses an event that would leak one through these fields. Keep in step with libs/domain/src/identity/token.ts.
export const TOKEN_ID_PATTERN = /^[a-z2-7]{16}$/;
export const TOKEN_HASH_PATTERN = /^[0-9a-f]{64}$/;

const pattern =
  (re: RegExp, expected: string): Check<string> =>
  (v, p) => {
    if (typeof v === 'string' && re.test(v)) return v;
    throw new SchemaError(p, expected);
  };
const tokenId = pattern(TOKEN_ID_PATTERN, 'token id (16 base32 characters)');
const tokenHash = pattern(TOKEN_HASH_PATTERN, 'sha256 hex digest');
const kind = literal('user', 'worker', 'service');

const T = Topics.identity.name;

eventCatalogue.define<'UserCreated', UserCreatedV1>({
  type: 'UserCreated', topic: T, schemaVersion: 1,
  payload: object({ userId: str, username: str, kind, admin: bool }) as Check<UserCreatedV1>,
});
eventCatalogue.define<'UserUpdated', UserUpdatedV1>({
  type: 'UserUpdated', topic: T, schemaVersion: 1,
  payload: object({ userId: str, admin: optional(bool) }) as Check<UserUpdatedV1>,
});
eventCatalogue.define<'UserDisabled', UserDisabledV1>({
  type: 'UserDisabled', topic: T, schemaVersion: 1,
  payload: object({ userId: str }) as Check<UserDisabledV1>,
});
eventCatalogue.define<'UserEnabled', UserEnabledV1>({
  type: 'UserEnabled', topic: T, schemaVersion: 1,
  payload: object({ userId: str }) as Check<UserEnabledV1>,
});
eventCatalogue.define<'UserDeleted', UserDeletedV1>({
  type: 'UserDeleted', topic: T, schemaVersion: 1,
  payload: object({ userId: str }) as Check<UserDeletedV1>,
});
eventCatalogue.define<'TokenIssued', TokenIssuedV1>({
  type: 'TokenIssued', topic: T, schemaVersion: 1,
  payload: object({
    userId: str,
    tokenId,
    hashAlg: literal('sha256'),
    hash: tokenHash,
    expiresAt: nullable(isoTime),
    label: nullable(str),
  }) as Check<TokenIssuedV1>,
});
eventCatalogue.define<'TokenRevoked', TokenRevokedV1>({
  type: 'TokenRevoked', topic: T, schemaVersion: 1,
  payload: object({
    userId: str,
    tokenId,
    reason: literal('revoked', 'rotated', 'user-deleted'),
    replacedBy: nullable(tokenId),
  }) as Check<TokenRevokedV1>,
});
eventCatalogue.define<'TokenExpiryChanged', TokenExpiryChangedV1>({
  type: 'TokenExpiryChanged', topic: T, schemaVersion: 1,
  payload: object({ userId: str, tokenId, expiresAt: nullable(isoTime) }) as Check<TokenExpiryChangedV1>,
});

export type IdentityEvent =
  | Envelope<'UserCreated', UserCreatedV1>
  | Envelope<'UserUpdated', UserUpdatedV1>
  | Envelope<'UserDisabled', UserDisabledV1>
  | Envelope<'UserEnabled', UserEnabledV1>
  | Envelope<'UserDeleted', UserDeletedV1>
  | Envelope<'TokenIssued', TokenIssuedV1>
  | Envelope<'TokenRevoked', TokenRevokedV1>
  | Envelope<'TokenExpiryChanged', TokenExpiryChangedV1>;

export type IdentityEventType = IdentityEvent['type'];
export const IDENTITY_EVENT_TYPES: readonly IdentityEventType[] = [
  'UserCreated',
  'UserUpdated',
  'UserDisabled',
  'UserEnabled',
  'UserDeleted',
  'TokenIssued',
  'TokenRevoked',
  'TokenExpiryChanged',
];
