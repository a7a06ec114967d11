import { assertUnreachable, type Actor, type IdentityEvent, type PrincipalKind } from '#events';
import { activeAdmins, unrevokedTokens, type IdentityState, type TokenRecord, type UserRecord } from './identity.state.js';
import { hashToken, newTokenSecret, OneTimeToken, TOKEN_RANDOM_BYTES } from './token.js';

export interface IdentityContext {
  readonly now: Date;
  /** Event ids must be UUIDs (the envelope checks them); user ids use the same source. */
  readonly newId: () => string;
  readonly randomBytes: (n: number) => Uint8Array;
}

interface CommandMeta {
  readonly actor: Actor;
  /** Defaults to a fresh id shared by every event of one decision. */
  readonly correlationId?: string;
  readonly causationId?: string | null;
}

/**
 * Absolute time or a lifetime, never both. `expiresAt: null` means "never expires"; leaving both
 * out means the command's default (never for new tokens, the old lifetime for rotations).
 */
export interface ExpiryInput {
  readonly expiresAt?: string | null;
  readonly lifetimeSeconds?: number;
}

export interface TokenOptions extends ExpiryInput {
  readonly label?: string | null;
}

export type CreateUser = CommandMeta & {
  readonly type: 'CreateUser';
  readonly username: string;
  readonly kind?: PrincipalKind;
  readonly admin?: boolean;
  /** Issues a first token in the same decision, so creation and credential land together. */
  readonly token?: TokenOptions;
};
export type IssueToken = CommandMeta & TokenOptions & { readonly type: 'IssueToken'; readonly userId: string };
/**
 * `userId`, when given, restricts the command to that user's tokens: self-service routes pass the
 * caller's id so that another user's token id answers TOKEN_NOT_FOUND.
 */
export type RotateToken = CommandMeta & ExpiryInput & { readonly type: 'RotateToken'; readonly tokenId: string; readonly userId?: string };
export type RevokeToken = CommandMeta & { readonly type: 'RevokeToken'; readonly tokenId: string; readonly userId?: string };
export type ChangeTokenExpiry = CommandMeta & ExpiryInput & { readonly type: 'ChangeTokenExpiry'; readonly tokenId: string; readonly userId?: string };
export type UpdateUser = CommandMeta & { readonly type: 'UpdateUser'; readonly userId: string; readonly admin?: boolean };
export type DisableUser = CommandMeta & { readonly type: 'DisableUser'; readonly userId: string };
export type EnableUser = CommandMeta & { readonly type: 'EnableUser'; readonly userId: string };
export type DeleteUser = CommandMeta & { readonly type: 'DeleteUser'; readonly userId: string };
export type BootstrapAdmin = CommandMeta &
  ExpiryInput & {
    readonly type: 'BootstrapAdmin';
    /** Defaults to 'admin'. With `reissue`, names the admin whose tokens are replaced. */
    readonly username?: string;
    readonly reissue?: boolean;
  };

export type IdentityCommand =
  | CreateUser
  | IssueToken
  | RotateToken
  | RevokeToken
  | ChangeTokenExpiry
  | UpdateUser
  | DisableUser
  | EnableUser
  | DeleteUser
  | BootstrapAdmin;

export const IDENTITY_ERROR_CODES = [
  'IDENTITY.USERNAME_INVALID',
  'IDENTITY.USERNAME_TAKEN',
  'IDENTITY.USER_NOT_FOUND',
  'IDENTITY.USER_DISABLED',
  'IDENTITY.KIND_CANNOT_BE_ADMIN',
  'IDENTITY.LAST_ADMIN',
  'IDENTITY.ADMIN_EXISTS',
  'IDENTITY.TOKEN_NOT_FOUND',
  'IDENTITY.TOKEN_REVOKED',
  'IDENTITY.TOKEN_EXPIRED',
  'IDENTITY.TOKEN_ID_COLLISION',
  'IDENTITY.EXPIRY_INVALID',
  'IDENTITY.EXPIRY_IN_PAST',
  'IDENTITY.LABEL_INVALID',
] as const;
export type IdentityErrorCode = (typeof IDENTITY_ERROR_CODES)[number];

/** Messages name users and token ids only; they never echo a token or any command secret. */
export interface IdentityError {
  readonly code: IdentityErrorCode;
  readonly message: string;
}

export type IdentityDecision =
  | {
      readonly ok: true;
      readonly events: readonly IdentityEvent[];
      /** The user the command acted on (the new one for CreateUser and BootstrapAdmin). */
      readonly userId: string;
      /** Present when a token was issued; shown to the caller once and never stored. */
      readonly token: OneTimeToken | null;
    }
  | { readonly ok: false; readonly error: IdentityError };

export const DEFAULT_ADMIN_USERNAME = 'admin';
export const USERNAME_PATTERN = /^[a-z0-9._-]{1,64}$/;
/** Past this a "lifetime" is a typo or an overflow, not a policy. */
export const MAX_TOKEN_LIFETIME_SECONDS = 10 * 366 * 24 * 3600;
const LABEL_PATTERN = /^[\x20-\x7e]{1,64}$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
// Random ids of 80 bits collide practically never; the bound only keeps a broken generator from looping.
const TOKEN_ID_ATTEMPTS = 3;

const fail = (code: IdentityErrorCode, message: string): IdentityDecision => ({ ok: false, error: { code, message } });

type Payload<T extends IdentityEvent['type']> = Extract<IdentityEvent, { type: T }>['payload'];

/** Builds envelopes for one decision: same actor, time and correlation for every event. */
function emitter(command: IdentityCommand, ctx: IdentityContext) {
  const occurredAt = ctx.now.toISOString();
  const correlationId = command.correlationId ?? ctx.newId();
  const causationId = command.causationId ?? null;
  return <T extends IdentityEvent['type']>(type: T, userId: string, payload: Payload<T>): IdentityEvent =>
    ({ eventId: ctx.newId(), type, schemaVersion: 1, key: userId, occurredAt, correlationId, causationId, actor: command.actor, payload }) as IdentityEvent;
}
type Emit = ReturnType<typeof emitter>;

type Resolved<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: IdentityDecision };

/** `undefined` when the input names no expiry, so each command can apply its own default. */
function resolveExpiry(input: ExpiryInput, now: Date): Resolved<string | null | undefined> {
  const { expiresAt, lifetimeSeconds } = input;
  if (expiresAt !== undefined && lifetimeSeconds !== undefined)
    return { ok: false, error: fail('IDENTITY.EXPIRY_INVALID', 'give either expiresAt or lifetimeSeconds, not both') };
  if (lifetimeSeconds !== undefined) {
    if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds <= 0 || lifetimeSeconds > MAX_TOKEN_LIFETIME_SECONDS)
      return { ok: false, error: fail('IDENTITY.EXPIRY_INVALID', `lifetimeSeconds must be an integer in 1..${MAX_TOKEN_LIFETIME_SECONDS}`) };
    return { ok: true, value: new Date(now.getTime() + lifetimeSeconds * 1000).toISOString() };
  }
  if (expiresAt === undefined || expiresAt === null) return { ok: true, value: expiresAt };
  // Date.parse accepts "2026" or "May 1"; an expiry must be an unambiguous instant.
  const t = ISO_INSTANT.test(expiresAt) ? Date.parse(expiresAt) : Number.NaN;
  if (Number.isNaN(t)) return { ok: false, error: fail('IDENTITY.EXPIRY_INVALID', 'expiresAt must be an ISO-8601 instant with a time zone') };
  if (t <= now.getTime()) return { ok: false, error: fail('IDENTITY.EXPIRY_IN_PAST', 'expiresAt must be in the future') };
  return { ok: true, value: new Date(t).toISOString() };
}

function resolveLabel(label: string | null | undefined): Resolved<string | null> {
  if (label === undefined || label === null) return { ok: true, value: null };
  // Labels are free text in an event that lives forever. The 64-character cap is below a token's
  // length (73), so a pasted token cannot end up there; the message never echoes the label.
  if (!LABEL_PATTERN.test(label))
    return { ok: false, error: fail('IDENTITY.LABEL_INVALID', 'label must be 1..64 printable ASCII characters') };
  return { ok: true, value: label };
}

const USERNAME_RULE = 'username must be 1..64 characters of a-z, 0-9, ".", "_" or "-"';

function checkUsername(state: IdentityState, username: string): IdentityDecision | null {
  if (!USERNAME_PATTERN.test(username))
    return fail('IDENTITY.USERNAME_INVALID', USERNAME_RULE);
  if (state.usernames.has(username)) return fail('IDENTITY.USERNAME_TAKEN', 'username is taken');
  return null;
}

/** Deleted users answer not-found: they exist only in history. */
function liveUser(state: IdentityState, userId: string): UserRecord | null {
  const u = state.users.get(userId);
  return u && u.status !== 'deleted' ? u : null;
}

// Not-found messages never echo the requested id: it is caller input, and a caller who pastes a
// token where an id belongs must not see it copied into an error that gets logged.
const userNotFound = () => fail('IDENTITY.USER_NOT_FOUND', 'user not found');

function liveToken(state: IdentityState, tokenId: string, userId: string | undefined): TokenRecord | null {
  const t = state.tokens.get(tokenId);
  if (!t || (userId !== undefined && t.userId !== userId) || !liveUser(state, t.userId)) return null;
  return t;
}

const tokenNotFound = () => fail('IDENTITY.TOKEN_NOT_FOUND', 'token not found');

/** Guards the invariant that an existing admin population never drops to zero. */
function isLastAdmin(state: IdentityState, user: UserRecord): boolean {
  const admins = activeAdmins(state);
  return admins.length === 1 && admins[0].userId === user.userId;
}

function mintToken(state: IdentityState, ctx: IdentityContext): Resolved<OneTimeToken> {
  for (let i = 0; i < TOKEN_ID_ATTEMPTS; i++) {
    const token = new OneTimeToken(newTokenSecret(ctx.randomBytes(TOKEN_RANDOM_BYTES)));
    if (!state.tokens.has(token.tokenId)) return { ok: true, value: token };
  }
  return { ok: false, error: fail('IDENTITY.TOKEN_ID_COLLISION', 'could not draw an unused token id; is the random source broken?') };
}

function issueTokenEvent(emit: Emit, userId: string, token: OneTimeToken, expiresAt: string | null, label: string | null): IdentityEvent {
  return emit('TokenIssued', userId, {
    userId,
    tokenId: token.tokenId,
    hashAlg: 'sha256',
    hash: hashToken(token.reveal()),
    expiresAt,
    label,
  });
}

function createUser(cmd: CreateUser, state: IdentityState, ctx: IdentityContext): IdentityDecision {
  const kind = cmd.kind ?? 'user';
  const admin = cmd.admin ?? false;
  const bad = checkUsername(state, cmd.username);
  if (bad) return bad;
  if (admin && kind !== 'user') return fail('IDENTITY.KIND_CANNOT_BE_ADMIN', `a ${kind} principal cannot be an admin`);
  let tokenPlan: { expiresAt: string | null; label: string | null; token: OneTimeToken } | null = null;
  if (cmd.token) {
    const expiry = resolveExpiry(cmd.token, ctx.now);
    if (!expiry.ok) return expiry.error;
    const label = resolveLabel(cmd.token.label);
    if (!label.ok) return label.error;
    const minted = mintToken(state, ctx);
    if (!minted.ok) return minted.error;
    tokenPlan = { expiresAt: expiry.value ?? null, label: label.value, token: minted.value };
  }
  const emit = emitter(cmd, ctx);
  const userId = ctx.newId();
  const events = [emit('UserCreated', userId, { userId, username: cmd.username, kind, admin })];
  if (tokenPlan) events.push(issueTokenEvent(emit, userId, tokenPlan.token, tokenPlan.expiresAt, tokenPlan.label));
  return { ok: true, events, userId, token: tokenPlan?.token ?? null };
}

function issueToken(cmd: IssueToken, state: IdentityState, ctx: IdentityContext): IdentityDecision {
  const user = liveUser(state, cmd.userId);
  if (!user) return userNotFound();
  if (user.status === 'disabled') return fail('IDENTITY.USER_DISABLED', `user ${user.userId} is disabled`);
  const expiry = resolveExpiry(cmd, ctx.now);
  if (!expiry.ok) return expiry.error;
  const label = resolveLabel(cmd.label);
  if (!label.ok) return label.error;
  const minted = mintToken(state, ctx);
  if (!minted.ok) return minted.error;
  const emit = emitter(cmd, ctx);
  return {
    ok: true,
    events: [issueTokenEvent(emit, user.userId, minted.value, expiry.value ?? null, label.value)],
    userId: user.userId,
    token: minted.value,
  };
}

function rotateToken(cmd: RotateToken, state: IdentityState, ctx: IdentityContext): IdentityDecision {
  const old = liveToken(state, cmd.tokenId, cmd.userId);
  if (!old) return tokenNotFound();
  if (old.revoked) return fail('IDENTITY.TOKEN_REVOKED', `token ${old.tokenId} is revoked`);
  if (state.users.get(old.userId)?.status === 'disabled') return fail('IDENTITY.USER_DISABLED', `user ${old.userId} is disabled`);
  const expiry = resolveExpiry(cmd, ctx.now);
  if (!expiry.ok) return expiry.error;
  // Rotation renews, so the replacement gets the old lifetime counted from now (even if the old
  // token already expired), rather than inheriting an end date that may be near or past.
  const inherited =
    old.expiresAt === null ? null : new Date(ctx.now.getTime() + (Date.parse(old.expiresAt) - Date.parse(old.issuedAt))).toISOString();
  const minted = mintToken(state, ctx);
  if (!minted.ok) return minted.error;
  const emit = emitter(cmd, ctx);
  const token = minted.value;
  // Issue before revoke: a consumer that stops between the two leaves the user with a token, not none.
  return {
    ok: true,
    events: [
      issueTokenEvent(emit, old.userId, token, expiry.value === undefined ? inherited : expiry.value, old.label),
      emit('TokenRevoked', old.userId, { userId: old.userId, tokenId: old.tokenId, reason: 'rotated', replacedBy: token.tokenId }),
    ],
    userId: old.userId,
    token,
  };
}

function revokeToken(cmd: RevokeToken, state: IdentityState, ctx: IdentityContext): IdentityDecision {
  const t = liveToken(state, cmd.tokenId, cmd.userId);
  if (!t) return tokenNotFound();
  // Idempotent so that a retried DELETE succeeds without a second fact.
  if (t.revoked) return { ok: true, events: [], userId: t.userId, token: null };
  const emit = emitter(cmd, ctx);
  return {
    ok: true,
    events: [emit('TokenRevoked', t.userId, { userId: t.userId, tokenId: t.tokenId, reason: 'revoked', replacedBy: null })],
    userId: t.userId,
    token: null,
  };
}

function changeTokenExpiry(cmd: ChangeTokenExpiry, state: IdentityState, ctx: IdentityContext): IdentityDecision {
  const t = liveToken(state, cmd.tokenId, cmd.userId);
  if (!t) return tokenNotFound();
  if (t.revoked) return fail('IDENTITY.TOKEN_REVOKED', `token ${t.tokenId} is revoked`);
  // Extending an expired token would silently resurrect a credential; rotation is the explicit way.
  if (t.expiresAt !== null && Date.parse(t.expiresAt) <= ctx.now.getTime())
    return fail('IDENTITY.TOKEN_EXPIRED', `token ${t.tokenId} has expired; rotate it instead`);
  if (cmd.expiresAt === undefined && cmd.lifetimeSeconds === undefined)
    return fail('IDENTITY.EXPIRY_INVALID', 'give expiresAt (null for never) or lifetimeSeconds');
  const expiry = resolveExpiry(cmd, ctx.now);
  if (!expiry.ok) return expiry.error;
  const expiresAt = expiry.value ?? null;
  if (expiresAt === t.expiresAt) return { ok: true, events: [], userId: t.userId, token: null };
  const emit = emitter(cmd, ctx);
  return { ok: true, events: [emit('TokenExpiryChanged', t.userId, { userId: t.userId, tokenId: t.tokenId, expiresAt })], userId: t.userId, token: null };
}

function updateUser(cmd: UpdateUser, state: IdentityState, ctx: IdentityContext): IdentityDecision {
  const user = liveUser(state, cmd.userId);
  if (!user) return userNotFound();
  if (cmd.admin === undefined || cmd.admin === user.admin) return { ok: true, events: [], userId: user.userId, token: null };
  if (cmd.admin && user.kind !== 'user') return fail('IDENTITY.KIND_CANNOT_BE_ADMIN', `a ${user.kind} principal cannot be an admin`);
  if (!cmd.admin && isLastAdmin(state, user)) return fail('IDENTITY.LAST_ADMIN', `user ${user.userId} is the last active admin`);
  const emit = emitter(cmd, ctx);
  return { ok: true, events: [emit('UserUpdated', user.userId, { userId: user.userId, admin: cmd.admin })], userId: user.userId, token: null };
}

function disableUser(cmd: DisableUser, state: IdentityState, ctx: IdentityContext): IdentityDecision {
  const user = liveUser(state, cmd.userId);
  if (!user) return userNotFound();
  if (user.status === 'disabled') return { ok: true, events: [], userId: user.userId, token: null };
  if (isLastAdmin(state, user)) return fail('IDENTITY.LAST_ADMIN', `user ${user.userId} is the last active admin`);
  const emit = emitter(cmd, ctx);
  return { ok: true, events: [emit('UserDisabled', user.userId, { userId: user.userId })], userId: user.userId, token: null };
}

function enableUser(cmd: EnableUser, state: IdentityState, ctx: IdentityContext): IdentityDecision {
  const user = liveUser(state, cmd.userId);
  if (!user) return userNotFound();
  if (user.status === 'active') return { ok: true, events: [], userId: user.userId, token: null };
  const emit = emitter(cmd, ctx);
  return { ok: true, events: [emit('UserEnabled', user.userId, { userId: user.userId })], userId: user.userId, token: null };
}

function deleteUser(cmd: DeleteUser, state: IdentityState, ctx: IdentityContext): IdentityDecision {
  const user = liveUser(state, cmd.userId);
  if (!user) return userNotFound();
  if (isLastAdmin(state, user)) return fail('IDENTITY.LAST_ADMIN', `user ${user.userId} is the last active admin`);
  const emit = emitter(cmd, ctx);
  // Explicit revocations keep token read models correct without them having to know that
  // deletion implies revocation.
  const events = unrevokedTokens(state, user.userId).map((t) =>
    emit('TokenRevoked', user.userId, { userId: user.userId, tokenId: t.tokenId, reason: 'user-deleted', replacedBy: null }),
  );
  events.push(emit('UserDeleted', user.userId, { userId: user.userId }));
  return { ok: true, events, userId: user.userId, token: null };
}

function bootstrapAdmin(cmd: BootstrapAdmin, state: IdentityState, ctx: IdentityContext): IdentityDecision {
  const username = cmd.username ?? DEFAULT_ADMIN_USERNAME;
  if (!USERNAME_PATTERN.test(username)) return fail('IDENTITY.USERNAME_INVALID', USERNAME_RULE);
  const expiry = resolveExpiry(cmd, ctx.now);
  if (!expiry.ok) return expiry.error;
  if (activeAdmins(state).length === 0) {
    return createUser(
      { type: 'CreateUser', username, kind: 'user', admin: true, token: { expiresAt: expiry.value ?? null }, actor: cmd.actor, correlationId: cmd.correlationId, causationId: cmd.causationId },
      state,
      ctx,
    );
  }
  if (!cmd.reissue) return fail('IDENTITY.ADMIN_EXISTS', 'an admin already exists; pass reissue to replace its token');
  const target = activeAdmins(state).find((u) => u.username === username);
  if (!target) return fail('IDENTITY.USER_NOT_FOUND', 'no active admin has that username');
  const minted = mintToken(state, ctx);
  if (!minted.ok) return minted.error;
  const token = minted.value;
  const emit = emitter(cmd, ctx);
  // Reissue is the recovery path for a lost or leaked admin token, so every older token goes.
  const events = [issueTokenEvent(emit, target.userId, token, expiry.value ?? null, null)];
  for (const t of unrevokedTokens(state, target.userId))
    events.push(emit('TokenRevoked', target.userId, { userId: target.userId, tokenId: t.tokenId, reason: 'rotated', replacedBy: token.tokenId }));
  return { ok: true, events, userId: target.userId, token };
}

/**
 * Decides identity commands against the folded identity stream. Authorisation is not checked
 * here: the caller has already applied `authorize` to the acting principal.
 */
export function decideIdentity(command: IdentityCommand, state: IdentityState, ctx: IdentityContext): IdentityDecision {
  switch (command.type) {
    case 'CreateUser':
      return createUser(command, state, ctx);
    case 'IssueToken':
      return issueToken(command, state, ctx);
    case 'RotateToken':
      return rotateToken(command, state, ctx);
    case 'RevokeToken':
      return revokeToken(command, state, ctx);
    case 'ChangeTokenExpiry':
      return changeTokenExpiry(command, state, ctx);
    case 'UpdateUser':
      return updateUser(command, state, ctx);
    case 'DisableUser':
      return disableUser(command, state, ctx);
    case 'EnableUser':
      return enableUser(command, state, ctx);
    case 'DeleteUser':
      return deleteUser(command, state, ctx);
    case 'BootstrapAdmin':
      return bootstrapAdmin(command, state, ctx);
    default:
      return assertUnreachable(command);
  }
}
