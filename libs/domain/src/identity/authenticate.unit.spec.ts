import { authenticate, isAuthFailure } from './authenticate.js';
import { foldIdentity } from './identity.state.js';
import { issued, T0, tokenExpiryChanged, tokenRevoked, userCreated, userDeleted, userDisabled, userEnabled, userUpdated } from './identity.test-kit.js';

const ALICE = userCreated('u-alice', 'alice');
const EXPIRY = '2026-03-01T13:00:00.000Z';
const expiring = issued('u-alice', 1, { expiresAt: EXPIRY });
const forever = issued('u-alice', 2);
const ms = (iso: string, delta: number) => new Date(Date.parse(iso) + delta);

describe('authenticate', () => {
  const state = foldIdentity([ALICE, expiring.event, forever.event]);

  it('given a live token, then the principal with its token id', () => {
    const p = authenticate(state, forever.token, T0);
    expect(p).toEqual({ kind: 'user', id: 'u-alice', username: 'alice', admin: false, tokenId: forever.tokenId });
    expect(isAuthFailure(p)).toBe(false);
  });

  it.each([
    ['malformed', 'not-a-token'],
    ['empty', ''],
    ['bearer-prefixed', `Bearer ${forever.token}`],
    ['unknown', issued('u-alice', 99).token],
  ])('refuses a %s token as invalid', (_why, token) => {
    const r = authenticate(state, token, T0);
    expect(r).toEqual({ error: 'invalid' });
    expect(isAuthFailure(r)).toBe(true);
  });

  it('given a known id with a wrong secret, then invalid, even when that token is revoked', () => {
    const wrong = forever.token.slice(0, -1) + (forever.token.endsWith('a') ? 'b' : 'a');
    expect(authenticate(state, wrong, T0)).toEqual({ error: 'invalid' });
    const revoked = foldIdentity([tokenRevoked('u-alice', forever.tokenId)], state);
    expect(authenticate(revoked, wrong, T0)).toEqual({ error: 'invalid' });
  });

  describe('expiry', () => {
    it('accepts a token one millisecond before it expires', () => {
      expect(authenticate(state, expiring.token, ms(EXPIRY, -1))).toMatchObject({ id: 'u-alice' });
    });
    it('refuses it at the instant of expiry and after', () => {
      expect(authenticate(state, expiring.token, ms(EXPIRY, 0))).toEqual({ error: 'expired' });
      expect(authenticate(state, expiring.token, ms(EXPIRY, 1))).toEqual({ error: 'expired' });
    });
    it('follows a changed expiry', () => {
      const moved = foldIdentity([tokenExpiryChanged('u-alice', expiring.tokenId, '2026-03-01T14:00:00.000Z')], state);
      expect(authenticate(moved, expiring.token, ms(EXPIRY, 1))).toMatchObject({ id: 'u-alice' });
      const cleared = foldIdentity([tokenExpiryChanged('u-alice', expiring.tokenId, null)], state);
      expect(authenticate(cleared, expiring.token, ms(EXPIRY, 10 ** 12))).toMatchObject({ id: 'u-alice' });
    });
  });

  it('given a revoked token, then revoked, also once it would have expired', () => {
    const s = foldIdentity([tokenRevoked('u-alice', expiring.tokenId)], state);
    expect(authenticate(s, expiring.token, T0)).toEqual({ error: 'revoked' });
    expect(authenticate(s, expiring.token, ms(EXPIRY, 1))).toEqual({ error: 'revoked' });
    expect(authenticate(s, forever.token, T0)).toMatchObject({ id: 'u-alice' });
  });

  it('given a deleted user, then revoked, even without TokenRevoked events', () => {
    expect(authenticate(foldIdentity([userDeleted('u-alice')], state), forever.token, T0)).toEqual({ error: 'revoked' });
  });

  it('given a disabled user, then disabled until enabled again', () => {
    const off = foldIdentity([userDisabled('u-alice')], state);
    expect(authenticate(off, forever.token, T0)).toEqual({ error: 'disabled' });
    expect(authenticate(foldIdentity([userEnabled('u-alice')], off), forever.token, T0)).toMatchObject({ id: 'u-alice' });
  });

  it('reports admin from the current state, and kinds as created', () => {
    expect(authenticate(foldIdentity([userUpdated('u-alice', true)], state), forever.token, T0)).toMatchObject({ admin: true });
    const w = issued('u-w', 3);
    const s = foldIdentity([userCreated('u-w', 'worker-1', { kind: 'worker' }), w.event]);
    expect(authenticate(s, w.token, T0)).toEqual({ kind: 'worker', id: 'u-w', username: 'worker-1', admin: false, tokenId: w.tokenId });
  });

  it('never lets a non-user principal be admin, whatever the stream says', () => {
    const svc = issued('u-s', 4);
    const s = foldIdentity([userCreated('u-s', 'svc', { kind: 'service' }), userUpdated('u-s', true), svc.event]);
    expect(authenticate(s, svc.token, T0)).toMatchObject({ kind: 'service', admin: false });
  });
});
