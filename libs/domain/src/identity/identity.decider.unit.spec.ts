import { authenticate, isAuthFailure } from './authenticate.js';
import { decideIdentity, MAX_TOKEN_LIFETIME_SECONDS } from './identity.decider.js';
import { findUserByUsername, foldIdentity, initialIdentityState } from './identity.state.js';
import {
  ADMIN_ACTOR,
  at,
  cmd,
  given,
  issued,
  plus,
  revealed,
  SYSTEM,
  T0,
  testContext,
  tokenRevoked,
  userCreated,
  userDeleted,
  userDisabled,
} from './identity.test-kit.js';
import { hashToken, parseToken } from './token.js';

const ROOT = userCreated('u-root', 'root', { admin: true });
const ALICE = userCreated('u-alice', 'alice');
const BOB = userCreated('u-bob', 'bob');
const W1 = userCreated('u-w1', 'worker-eu-1', { kind: 'worker' });
const anyTokenIssued = (userId: unknown, extra: Record<string, unknown> = {}) => ({
  type: 'TokenIssued' as const,
  payload: { userId, tokenId: expect.stringMatching(/^[a-z2-7]{16}$/), hashAlg: 'sha256', hash: expect.stringMatching(/^[0-9a-f]{64}$/), expiresAt: null, label: null, ...extra },
});

describe('CreateUser', () => {
  it('given an admin, when a user is created, then UserCreated names a fresh id, a plain user and no token', () => {
    const r = given(ROOT).when(cmd('CreateUser', { username: 'alice' })).then([
      { type: 'UserCreated', payload: { userId: expect.any(String), username: 'alice', kind: 'user', admin: false } },
    ]);
    expect(r.userId).toBe((r.events[0].payload as { userId: string }).userId);
    expect(r.token).toBeNull();
    expect(findUserByUsername(r.after, 'alice')?.userId).toBe(r.userId);
  });

  it.each(['worker', 'service'] as const)('creates a %s principal', (kind) => {
    given(ROOT).when(cmd('CreateUser', { username: `${kind}-1`, kind })).then([
      { type: 'UserCreated', payload: { userId: expect.any(String), username: `${kind}-1`, kind, admin: false } },
    ]);
  });

  it('creates an admin user', () => {
    given(ROOT).when(cmd('CreateUser', { username: 'carol', admin: true })).then([
      { type: 'UserCreated', payload: expect.objectContaining({ username: 'carol', admin: true }) },
    ]);
  });

  it('with a token option, issues a first token in the same decision and the token authenticates', () => {
    const r = given(ROOT).when(cmd('CreateUser', { username: 'alice', token: { lifetimeSeconds: 3600, label: 'laptop' } })).then([
      { type: 'UserCreated', payload: expect.objectContaining({ username: 'alice' }) },
      anyTokenIssued(expect.any(String), { expiresAt: plus(T0, 3600).toISOString(), label: 'laptop' }),
    ]);
    const p = authenticate(r.after, revealed(r.token), T0);
    expect(p).toEqual({ kind: 'user', id: r.userId, username: 'alice', admin: false, tokenId: r.token!.tokenId });
  });

  it.each([
    ['empty', ''],
    ['65 characters', 'a'.repeat(65)],
    ['upper case', 'Alice'],
    ['a space', 'al ice'],
    ['a non-ASCII letter', 'alicé'],
    ['a slash', 'a/b'],
  ])('refuses a username with %s', (_why, username) => {
    given(ROOT).when(cmd('CreateUser', { username })).thenError('IDENTITY.USERNAME_INVALID');
  });

  it('accepts the edges of the username rule', () => {
    given(ROOT).when(cmd('CreateUser', { username: 'a' })).then([{ type: 'UserCreated', payload: expect.objectContaining({ username: 'a' }) }]);
    const long = 'z'.repeat(60) + '.-_9';
    given(ROOT).when(cmd('CreateUser', { username: long })).then([{ type: 'UserCreated', payload: expect.objectContaining({ username: long }) }]);
  });

  it('given alice exists, when another alice is created, then USERNAME_TAKEN', () => {
    given(ROOT, ALICE).when(cmd('CreateUser', { username: 'alice' })).thenError('IDENTITY.USERNAME_TAKEN');
  });

  it('given alice is disabled, her username stays taken', () => {
    given(ROOT, ALICE, userDisabled('u-alice')).when(cmd('CreateUser', { username: 'alice' })).thenError('IDENTITY.USERNAME_TAKEN');
  });

  it('given alice was deleted, her username is free again under a new id', () => {
    const r = given(ROOT, ALICE, userDeleted('u-alice')).when(cmd('CreateUser', { username: 'alice' })).then([
      { type: 'UserCreated', payload: expect.objectContaining({ username: 'alice' }) },
    ]);
    expect(r.userId).not.toBe('u-alice');
  });

  it.each(['worker', 'service'] as const)('refuses an admin %s', (kind) => {
    given(ROOT).when(cmd('CreateUser', { username: 'x', kind, admin: true })).thenError('IDENTITY.KIND_CANNOT_BE_ADMIN');
  });

  it('refuses a bad first-token option without creating the user', () => {
    given(ROOT).when(cmd('CreateUser', { username: 'alice', token: { expiresAt: T0.toISOString() } })).thenError('IDENTITY.EXPIRY_IN_PAST');
    given(ROOT).when(cmd('CreateUser', { username: 'alice', token: { label: '\n' } })).thenError('IDENTITY.LABEL_INVALID');
  });
});

describe('IssueToken', () => {
  it('given alice, when a token is issued, then TokenIssued holds the hash of the one-time token and never expires by default', () => {
    const r = given(ROOT, ALICE).when(cmd('IssueToken', { userId: 'u-alice' })).then([anyTokenIssued('u-alice')]);
    const plain = revealed(r.token);
    expect(r.events[0].payload).toMatchObject({ tokenId: parseToken(plain)!.tokenId, hash: hashToken(plain) });
    expect(r.userId).toBe('u-alice');
  });

  it('turns a lifetime into an absolute expiry from now', () => {
    given(ROOT, ALICE).when(cmd('IssueToken', { userId: 'u-alice', lifetimeSeconds: 90 })).then([
      anyTokenIssued('u-alice', { expiresAt: '2026-03-01T12:01:30.000Z' }),
    ]);
  });

  it('normalises an absolute expiry with an offset to UTC', () => {
    given(ROOT, ALICE).when(cmd('IssueToken', { userId: 'u-alice', expiresAt: '2026-03-02T02:00:00+02:00', label: 'ci' })).then([
      anyTokenIssued('u-alice', { expiresAt: '2026-03-02T00:00:00.000Z', label: 'ci' }),
    ]);
  });

  it('issues to worker and service principals too', () => {
    given(ROOT, W1).when(cmd('IssueToken', { userId: 'u-w1' })).then([anyTokenIssued('u-w1')]);
  });

  it('draws again when the random source repeats an id in use, and gives up if it keeps doing so', () => {
    const zeros = { ...testContext(), randomBytes: (n: number) => new Uint8Array(n) };
    const taken = given(ROOT, ALICE).when(cmd('IssueToken', { userId: 'u-alice' }), zeros).then([anyTokenIssued('u-alice')]);
    const fresh = testContext(T0, 7);
    let calls = 0;
    const zerosOnce = { ...fresh, randomBytes: (n: number) => (calls++ === 0 ? new Uint8Array(n) : fresh.randomBytes(n)) };
    const retried = decideIdentity(cmd('IssueToken', { userId: 'u-alice' }), taken.after, zerosOnce);
    expect(retried).toMatchObject({ ok: true });
    expect(retried.ok && retried.token!.tokenId).not.toBe(taken.token!.tokenId);
    expect(decideIdentity(cmd('IssueToken', { userId: 'u-alice' }), taken.after, zeros)).toEqual({
      ok: false,
      error: { code: 'IDENTITY.TOKEN_ID_COLLISION', message: expect.any(String) },
    });
  });

  it('given an unknown or deleted user, then USER_NOT_FOUND', () => {
    given(ROOT).when(cmd('IssueToken', { userId: 'u-nobody' })).thenError('IDENTITY.USER_NOT_FOUND');
    given(ROOT, ALICE, userDeleted('u-alice')).when(cmd('IssueToken', { userId: 'u-alice' })).thenError('IDENTITY.USER_NOT_FOUND');
  });

  it('given a disabled user, then USER_DISABLED', () => {
    given(ROOT, ALICE, userDisabled('u-alice')).when(cmd('IssueToken', { userId: 'u-alice' })).thenError('IDENTITY.USER_DISABLED');
  });

  it.each([
    ['both forms', { expiresAt: '2027-01-01T00:00:00Z', lifetimeSeconds: 60 }],
    ['a date without time', { expiresAt: '2027-01-01' }],
    ['a time without zone', { expiresAt: '2027-01-01T00:00:00' }],
    ['a year', { expiresAt: '2027' }],
    ['an impossible date', { expiresAt: '2027-02-30T25:00:00Z' }],
    ['a zero lifetime', { lifetimeSeconds: 0 }],
    ['a negative lifetime', { lifetimeSeconds: -5 }],
    ['a fractional lifetime', { lifetimeSeconds: 1.5 }],
    ['an overlong lifetime', { lifetimeSeconds: MAX_TOKEN_LIFETIME_SECONDS + 1 }],
  ])('refuses %s as expiry', (_why, expiry) => {
    given(ROOT, ALICE).when(cmd('IssueToken', { userId: 'u-alice', ...expiry })).thenError('IDENTITY.EXPIRY_INVALID');
  });

  it('refuses an expiry at or before now', () => {
    given(ROOT, ALICE).when(cmd('IssueToken', { userId: 'u-alice', expiresAt: T0.toISOString() })).thenError('IDENTITY.EXPIRY_IN_PAST');
    given(ROOT, ALICE).when(cmd('IssueToken', { userId: 'u-alice', expiresAt: '2020-01-01T00:00:00Z' })).thenError('IDENTITY.EXPIRY_IN_PAST');
    given(ROOT, ALICE).when(cmd('IssueToken', { userId: 'u-alice', expiresAt: plus(T0, 1).toISOString() })).then([
      anyTokenIssued('u-alice', { expiresAt: plus(T0, 1).toISOString() }),
    ]);
  });

  it.each([
    ['empty', ''],
    ['65 characters', 'x'.repeat(65)],
    ['a control character', 'ci\tbox'],
    ['a pasted token', issued('u-alice', 9).token],
  ])('refuses a label that is %s', (_why, label) => {
    given(ROOT, ALICE).when(cmd('IssueToken', { userId: 'u-alice', label })).thenError('IDENTITY.LABEL_INVALID');
  });
});

describe('RotateToken', () => {
  const old = issued('u-alice', 1, { expiresAt: '2026-03-01T13:00:00.000Z', label: 'laptop', at: T0 });

  it('given a token, when rotated, then a new token is issued first and the old one revoked in its favour', () => {
    const later = plus(T0, 600);
    const r = given(ROOT, ALICE, old.event)
      .when(cmd('RotateToken', { tokenId: old.tokenId }), testContext(later))
      .then([
        anyTokenIssued('u-alice', { label: 'laptop', expiresAt: plus(later, 3600).toISOString() }),
        { type: 'TokenRevoked', payload: { userId: 'u-alice', tokenId: old.tokenId, reason: 'rotated', replacedBy: expect.any(String) } },
      ]);
    expect((r.events[1].payload as { replacedBy: string }).replacedBy).toBe(r.token!.tokenId);
    expect(authenticate(r.after, old.token, later)).toEqual({ error: 'revoked' });
    expect(authenticate(r.after, revealed(r.token), later)).toMatchObject({ id: 'u-alice', tokenId: r.token!.tokenId });
  });

  it('renews an already expired token with its old lifetime counted from now', () => {
    const muchLater = plus(T0, 86_400);
    given(ROOT, ALICE, old.event)
      .when(cmd('RotateToken', { tokenId: old.tokenId }), testContext(muchLater))
      .then([anyTokenIssued('u-alice', { label: 'laptop', expiresAt: plus(muchLater, 3600).toISOString() }), expect.objectContaining({ type: 'TokenRevoked' })]);
  });

  it('keeps "never expires" and honours an explicit new expiry', () => {
    const forever = issued('u-alice', 2);
    given(ROOT, ALICE, forever.event)
      .when(cmd('RotateToken', { tokenId: forever.tokenId }))
      .then([anyTokenIssued('u-alice'), expect.objectContaining({ type: 'TokenRevoked' })]);
    given(ROOT, ALICE, old.event)
      .when(cmd('RotateToken', { tokenId: old.tokenId, expiresAt: null }))
      .then([anyTokenIssued('u-alice', { label: 'laptop' }), expect.objectContaining({ type: 'TokenRevoked' })]);
    given(ROOT, ALICE, forever.event)
      .when(cmd('RotateToken', { tokenId: forever.tokenId, lifetimeSeconds: 60 }))
      .then([anyTokenIssued('u-alice', { expiresAt: plus(T0, 60).toISOString() }), expect.objectContaining({ type: 'TokenRevoked' })]);
  });

  it('scoped to a user, finds only that user’s tokens', () => {
    given(ROOT, ALICE, BOB, old.event).when(cmd('RotateToken', { tokenId: old.tokenId, userId: 'u-bob' })).thenError('IDENTITY.TOKEN_NOT_FOUND');
    given(ROOT, ALICE, old.event)
      .when(cmd('RotateToken', { tokenId: old.tokenId, userId: 'u-alice' }))
      .then([expect.objectContaining({ type: 'TokenIssued' }), expect.objectContaining({ type: 'TokenRevoked' })]);
  });

  it('given an unknown token, or a token of a deleted user, then TOKEN_NOT_FOUND', () => {
    given(ROOT, ALICE).when(cmd('RotateToken', { tokenId: 'aaaaaaaaaaaaaaaa' })).thenError('IDENTITY.TOKEN_NOT_FOUND');
    given(ROOT, ALICE, old.event, userDeleted('u-alice')).when(cmd('RotateToken', { tokenId: old.tokenId })).thenError('IDENTITY.TOKEN_NOT_FOUND');
  });

  it('given a revoked token, then TOKEN_REVOKED', () => {
    given(ROOT, ALICE, old.event, tokenRevoked('u-alice', old.tokenId)).when(cmd('RotateToken', { tokenId: old.tokenId })).thenError('IDENTITY.TOKEN_REVOKED');
  });

  it('given a disabled user, then USER_DISABLED', () => {
    given(ROOT, ALICE, old.event, userDisabled('u-alice')).when(cmd('RotateToken', { tokenId: old.tokenId })).thenError('IDENTITY.USER_DISABLED');
  });

  it('refuses a bad new expiry', () => {
    given(ROOT, ALICE, old.event).when(cmd('RotateToken', { tokenId: old.tokenId, lifetimeSeconds: 0 })).thenError('IDENTITY.EXPIRY_INVALID');
  });
});

describe('RevokeToken', () => {
  const t = issued('u-alice', 3);

  it('given a live token, when revoked, then TokenRevoked and it no longer authenticates', () => {
    const r = given(ROOT, ALICE, t.event)
      .when(cmd('RevokeToken', { tokenId: t.tokenId }))
      .then([{ type: 'TokenRevoked', payload: { userId: 'u-alice', tokenId: t.tokenId, reason: 'revoked', replacedBy: null } }]);
    expect(authenticate(r.after, t.token, T0)).toEqual({ error: 'revoked' });
  });

  it('is idempotent: revoking twice adds no second fact', () => {
    given(ROOT, ALICE, t.event, tokenRevoked('u-alice', t.tokenId)).when(cmd('RevokeToken', { tokenId: t.tokenId })).then([]);
  });

  it('given an unknown token or another user’s token, then TOKEN_NOT_FOUND', () => {
    given(ROOT, ALICE).when(cmd('RevokeToken', { tokenId: t.tokenId })).thenError('IDENTITY.TOKEN_NOT_FOUND');
    given(ROOT, ALICE, BOB, t.event).when(cmd('RevokeToken', { tokenId: t.tokenId, userId: 'u-bob' })).thenError('IDENTITY.TOKEN_NOT_FOUND');
  });

  it('works while the user is disabled: taking access away is always allowed', () => {
    given(ROOT, ALICE, t.event, userDisabled('u-alice')).when(cmd('RevokeToken', { tokenId: t.tokenId })).then([expect.objectContaining({ type: 'TokenRevoked' })]);
  });
});

describe('ChangeTokenExpiry', () => {
  const t = issued('u-alice', 4, { expiresAt: '2026-03-01T13:00:00.000Z' });

  it('sets, moves and clears an expiry', () => {
    given(ROOT, ALICE, t.event)
      .when(cmd('ChangeTokenExpiry', { tokenId: t.tokenId, lifetimeSeconds: 60 }))
      .then([{ type: 'TokenExpiryChanged', payload: { userId: 'u-alice', tokenId: t.tokenId, expiresAt: plus(T0, 60).toISOString() } }]);
    const r = given(ROOT, ALICE, t.event)
      .when(cmd('ChangeTokenExpiry', { tokenId: t.tokenId, expiresAt: null }))
      .then([{ type: 'TokenExpiryChanged', payload: { userId: 'u-alice', tokenId: t.tokenId, expiresAt: null } }]);
    expect(authenticate(r.after, t.token, plus(T0, 10 * 86_400))).toMatchObject({ id: 'u-alice' });
  });

  it('adds nothing when the expiry does not change', () => {
    given(ROOT, ALICE, t.event).when(cmd('ChangeTokenExpiry', { tokenId: t.tokenId, expiresAt: '2026-03-01T13:00:00Z' })).then([]);
  });

  it('refuses to revive an expired token', () => {
    given(ROOT, ALICE, t.event)
      .when(cmd('ChangeTokenExpiry', { tokenId: t.tokenId, expiresAt: null }), testContext(at('2026-03-01T13:00:00.000Z')))
      .thenError('IDENTITY.TOKEN_EXPIRED');
  });

  it('refuses unknown and revoked tokens, a missing expiry and a past one', () => {
    given(ROOT, ALICE).when(cmd('ChangeTokenExpiry', { tokenId: t.tokenId, expiresAt: null })).thenError('IDENTITY.TOKEN_NOT_FOUND');
    given(ROOT, ALICE, t.event, tokenRevoked('u-alice', t.tokenId))
      .when(cmd('ChangeTokenExpiry', { tokenId: t.tokenId, expiresAt: null }))
      .thenError('IDENTITY.TOKEN_REVOKED');
    given(ROOT, ALICE, t.event).when(cmd('ChangeTokenExpiry', { tokenId: t.tokenId })).thenError('IDENTITY.EXPIRY_INVALID');
    given(ROOT, ALICE, t.event).when(cmd('ChangeTokenExpiry', { tokenId: t.tokenId, expiresAt: '2026-01-01T00:00:00Z' })).thenError('IDENTITY.EXPIRY_IN_PAST');
  });
});

describe('UpdateUser', () => {
  it('promotes and demotes', () => {
    const r = given(ROOT, ALICE).when(cmd('UpdateUser', { userId: 'u-alice', admin: true })).then([{ type: 'UserUpdated', payload: { userId: 'u-alice', admin: true } }]);
    expect(r.after.users.get('u-alice')?.admin).toBe(true);
    given(ROOT, userCreated('u-carol', 'carol', { admin: true }))
      .when(cmd('UpdateUser', { userId: 'u-root', admin: false }))
      .then([{ type: 'UserUpdated', payload: { userId: 'u-root', admin: false } }]);
  });

  it('adds nothing when nothing changes', () => {
    given(ROOT, ALICE).when(cmd('UpdateUser', { userId: 'u-alice', admin: false })).then([]);
    given(ROOT, ALICE).when(cmd('UpdateUser', { userId: 'u-alice' })).then([]);
  });

  it('refuses unknown users, admin workers and demoting the last admin', () => {
    given(ROOT).when(cmd('UpdateUser', { userId: 'u-nobody', admin: true })).thenError('IDENTITY.USER_NOT_FOUND');
    given(ROOT, W1).when(cmd('UpdateUser', { userId: 'u-w1', admin: true })).thenError('IDENTITY.KIND_CANNOT_BE_ADMIN');
    given(ROOT, ALICE).when(cmd('UpdateUser', { userId: 'u-root', admin: false })).thenError('IDENTITY.LAST_ADMIN');
  });

  it('does not count a disabled admin as the one left', () => {
    given(ROOT, userCreated('u-carol', 'carol', { admin: true }), userDisabled('u-carol'))
      .when(cmd('UpdateUser', { userId: 'u-root', admin: false }))
      .thenError('IDENTITY.LAST_ADMIN');
  });
});

describe('DisableUser and EnableUser', () => {
  const t = issued('u-alice', 5);

  it('disables, then enables again, and the token follows', () => {
    const off = given(ROOT, ALICE, t.event).when(cmd('DisableUser', { userId: 'u-alice' })).then([{ type: 'UserDisabled', payload: { userId: 'u-alice' } }]);
    expect(authenticate(off.after, t.token, T0)).toEqual({ error: 'disabled' });
    const on = decideIdentity(cmd('EnableUser', { userId: 'u-alice' }), off.after, testContext());
    expect(on).toMatchObject({ ok: true, events: [{ type: 'UserEnabled', payload: { userId: 'u-alice' } }] });
    expect(authenticate(foldIdentity(on.ok ? on.events : [], off.after), t.token, T0)).toMatchObject({ id: 'u-alice' });
  });

  it('is idempotent both ways', () => {
    given(ROOT, ALICE, userDisabled('u-alice')).when(cmd('DisableUser', { userId: 'u-alice' })).then([]);
    given(ROOT, ALICE).when(cmd('EnableUser', { userId: 'u-alice' })).then([]);
  });

  it('refuses unknown users and the last admin', () => {
    given(ROOT).when(cmd('DisableUser', { userId: 'u-nobody' })).thenError('IDENTITY.USER_NOT_FOUND');
    given(ROOT, ALICE, userDeleted('u-alice')).when(cmd('EnableUser', { userId: 'u-alice' })).thenError('IDENTITY.USER_NOT_FOUND');
    given(ROOT).when(cmd('DisableUser', { userId: 'u-root' })).thenError('IDENTITY.LAST_ADMIN');
  });
});

describe('DeleteUser', () => {
  const live = issued('u-alice', 6);
  const gone = issued('u-alice', 7);

  it('revokes every unrevoked token, then deletes; the username is freed', () => {
    const r = given(ROOT, ALICE, live.event, gone.event, tokenRevoked('u-alice', gone.tokenId))
      .when(cmd('DeleteUser', { userId: 'u-alice' }))
      .then([
        { type: 'TokenRevoked', payload: { userId: 'u-alice', tokenId: live.tokenId, reason: 'user-deleted', replacedBy: null } },
        { type: 'UserDeleted', payload: { userId: 'u-alice' } },
      ]);
    expect(findUserByUsername(r.after, 'alice')).toBeUndefined();
    expect(authenticate(r.after, live.token, T0)).toEqual({ error: 'revoked' });
  });

  it('refuses unknown and already deleted users, and the last admin', () => {
    given(ROOT).when(cmd('DeleteUser', { userId: 'u-nobody' })).thenError('IDENTITY.USER_NOT_FOUND');
    given(ROOT, ALICE, userDeleted('u-alice')).when(cmd('DeleteUser', { userId: 'u-alice' })).thenError('IDENTITY.USER_NOT_FOUND');
    given(ROOT).when(cmd('DeleteUser', { userId: 'u-root' })).thenError('IDENTITY.LAST_ADMIN');
  });

  it('allows deleting an admin while another remains', () => {
    given(ROOT, userCreated('u-carol', 'carol', { admin: true }))
      .when(cmd('DeleteUser', { userId: 'u-root' }))
      .then([{ type: 'UserDeleted', payload: { userId: 'u-root' } }]);
  });
});

describe('BootstrapAdmin', () => {
  const boot = cmd('BootstrapAdmin', { actor: SYSTEM });

  it('given nothing, when the server first starts, then it creates "admin" with a never-expiring token that authenticates as admin', () => {
    const r = given().when(boot).then([
      { type: 'UserCreated', payload: { userId: expect.any(String), username: 'admin', kind: 'user', admin: true } },
      anyTokenIssued(expect.any(String)),
    ]);
    expect(r.events.every((e) => e.actor === SYSTEM)).toBe(true);
    expect(authenticate(r.after, revealed(r.token), plus(T0, 10 * 365 * 86_400))).toEqual({
      kind: 'user',
      id: r.userId,
      username: 'admin',
      admin: true,
      tokenId: r.token!.tokenId,
    });
  });

  it('given an admin was bootstrapped, when started again, then ADMIN_EXISTS and nothing changes', () => {
    const first = given().when(boot).then([expect.objectContaining({ type: 'UserCreated' }), expect.objectContaining({ type: 'TokenIssued' })]);
    const again = decideIdentity(boot, first.after, testContext(T0, 2));
    expect(again).toEqual({ ok: false, error: { code: 'IDENTITY.ADMIN_EXISTS', message: expect.any(String) } });
  });

  it('given any admin, even under another name, then ADMIN_EXISTS', () => {
    given(ROOT).when(boot).thenError('IDENTITY.ADMIN_EXISTS');
  });

  it('with reissue, replaces every token of the admin and only the new one authenticates', () => {
    const first = given().when(boot).then([expect.objectContaining({ type: 'UserCreated' }), expect.objectContaining({ type: 'TokenIssued' })]);
    const oldToken = revealed(first.token);
    const extra = decideIdentity(cmd('IssueToken', { userId: first.userId }), first.after, testContext(T0, 3));
    if (!extra.ok) throw new Error(extra.error.code);
    const history = [...first.events, ...extra.events];
    const r = given(...history)
      .when(cmd('BootstrapAdmin', { actor: SYSTEM, reissue: true }), testContext(T0, 4))
      .then([
        anyTokenIssued(first.userId),
        { type: 'TokenRevoked', payload: { userId: first.userId, tokenId: first.token!.tokenId, reason: 'rotated', replacedBy: expect.any(String) } },
        { type: 'TokenRevoked', payload: { userId: first.userId, tokenId: extra.token!.tokenId, reason: 'rotated', replacedBy: expect.any(String) } },
      ]);
    expect(r.userId).toBe(first.userId);
    expect(authenticate(r.after, oldToken, T0)).toEqual({ error: 'revoked' });
    expect(authenticate(r.after, revealed(extra.token), T0)).toEqual({ error: 'revoked' });
    expect(authenticate(r.after, revealed(r.token), T0)).toMatchObject({ id: first.userId, admin: true });
  });

  it('with reissue and no admin yet, bootstraps as usual', () => {
    given().when(cmd('BootstrapAdmin', { actor: SYSTEM, reissue: true })).then([
      expect.objectContaining({ type: 'UserCreated' }),
      expect.objectContaining({ type: 'TokenIssued' }),
    ]);
  });

  it('honours a chosen username and expiry', () => {
    given().when(cmd('BootstrapAdmin', { actor: SYSTEM, username: 'ops', lifetimeSeconds: 600 })).then([
      { type: 'UserCreated', payload: expect.objectContaining({ username: 'ops', admin: true }) },
      anyTokenIssued(expect.any(String), { expiresAt: plus(T0, 600).toISOString() }),
    ]);
  });

  it('with reissue, refuses a username that is not an active admin', () => {
    given(ROOT, ALICE).when(cmd('BootstrapAdmin', { actor: SYSTEM, reissue: true, username: 'alice' })).thenError('IDENTITY.USER_NOT_FOUND');
    given(ROOT).when(cmd('BootstrapAdmin', { actor: SYSTEM, reissue: true })).thenError('IDENTITY.USER_NOT_FOUND');
  });

  it('refuses an invalid username and a username held by a non-admin', () => {
    given().when(cmd('BootstrapAdmin', { actor: SYSTEM, username: 'Admin' })).thenError('IDENTITY.USERNAME_INVALID');
    given(userCreated('u-x', 'admin')).when(boot).thenError('IDENTITY.USERNAME_TAKEN');
  });

  it('refuses a bad expiry', () => {
    given().when(cmd('BootstrapAdmin', { actor: SYSTEM, expiresAt: '2020-01-01T00:00:00Z' })).thenError('IDENTITY.EXPIRY_IN_PAST');
  });
});

describe('envelopes', () => {
  it('share actor, time and correlation across one decision, keyed by user, with causation passed through', () => {
    const t = issued('u-alice', 8);
    const ctx = testContext(at('2026-05-05T05:05:05.005Z'));
    const r = given(ROOT, ALICE, t.event)
      .when(cmd('RotateToken', { tokenId: t.tokenId, correlationId: 'req-42', causationId: 'cmd-7' }), ctx)
      .then([expect.objectContaining({ type: 'TokenIssued' }), expect.objectContaining({ type: 'TokenRevoked' })]);
    for (const e of r.events)
      expect(e).toMatchObject({ key: 'u-alice', occurredAt: '2026-05-05T05:05:05.005Z', correlationId: 'req-42', causationId: 'cmd-7', actor: ADMIN_ACTOR, schemaVersion: 1 });
    expect(new Set(r.events.map((e) => e.eventId)).size).toBe(2);
  });

  it('draw a correlation id when none is given', () => {
    const r = given(ROOT).when(cmd('CreateUser', { username: 'alice', token: {} })).then([
      expect.objectContaining({ type: 'UserCreated' }),
      expect.objectContaining({ type: 'TokenIssued' }),
    ]);
    expect(r.events[0].correlationId).toBe(r.events[1].correlationId);
    expect(r.events[0].causationId).toBeNull();
  });
});

describe('evolveIdentity', () => {
  it('ignores facts about users it never saw, so replay never stops on them', () => {
    const s = foldIdentity([userDisabled('u-ghost'), tokenRevoked('u-ghost', 'aaaaaaaaaaaaaaaa')]);
    expect(s).toEqual(initialIdentityState());
  });

  it('keeps the first revocation when a token is revoked twice', () => {
    const t = issued('u-alice', 10);
    const s = foldIdentity([ALICE, t.event, tokenRevoked('u-alice', t.tokenId, 'rotated'), tokenRevoked('u-alice', t.tokenId, 'revoked')]);
    expect(s.tokens.get(t.tokenId)?.revoked?.reason).toBe('rotated');
  });
});
