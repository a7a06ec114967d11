import { inspect } from 'node:util';
import type { IdentityEvent } from '#events';
import { decideIdentity, type IdentityCommand, type IdentityDecision } from './identity.decider.js';
import { evolveIdentity, initialIdentityState, type IdentityState } from './identity.state.js';
import { SYSTEM, T0, testContext } from './identity.test-kit.js';
import { parseToken } from './token.js';

/**
 * Runs every command that mints a token through one shared history, then searches everything that
 * could end up in Kafka, a log line or an error response for any plaintext that was handed out.
 */
describe('no plaintext token leaves the one-time result', () => {
  let state: IdentityState = initialIdentityState();
  const events: IdentityEvent[] = [];
  const decisions: IdentityDecision[] = [];
  const secrets: string[] = [];
  let seed = 100;

  const run = (command: IdentityCommand): IdentityDecision => {
    const d = decideIdentity(command, state, testContext(T0, seed++));
    decisions.push(d);
    if (d.ok) {
      events.push(...d.events);
      state = d.events.reduce(evolveIdentity, state);
      if (d.token) secrets.push(d.token.reveal(), parseToken(d.token.reveal())!.secret);
    }
    return d;
  };
  const ok = (d: IdentityDecision) => {
    if (!d.ok) throw new Error(d.error.code);
    return d;
  };

  beforeAll(() => {
    const admin = ok(run({ type: 'BootstrapAdmin', actor: SYSTEM }));
    const actor = { kind: 'user' as const, id: admin.userId };
    const alice = ok(run({ type: 'CreateUser', username: 'alice', token: { label: 'laptop' }, actor }));
    ok(run({ type: 'CreateUser', username: 'worker-1', kind: 'worker', token: {}, actor }));
    const issued = ok(run({ type: 'IssueToken', userId: alice.userId, lifetimeSeconds: 60, actor }));
    ok(run({ type: 'RotateToken', tokenId: issued.token!.tokenId, actor }));
    ok(run({ type: 'ChangeTokenExpiry', tokenId: alice.token!.tokenId, expiresAt: null, actor }));
    ok(run({ type: 'BootstrapAdmin', reissue: true, actor: SYSTEM }));
    ok(run({ type: 'DeleteUser', userId: alice.userId, actor }));
    // Callers who paste a token where an id or a label belongs get an error, and it must not echo it.
    const leaked = secrets[0];
    run({ type: 'RevokeToken', tokenId: leaked, actor });
    run({ type: 'IssueToken', userId: leaked, actor });
    run({ type: 'IssueToken', userId: admin.userId, label: leaked, actor });
    run({ type: 'CreateUser', username: leaked, actor });
    run({ type: 'BootstrapAdmin', username: leaked, reissue: true, actor: SYSTEM });
  });

  it('handed out tokens, so the search below is not vacuous', () => {
    expect(secrets.length).toBe(2 * 6);
    expect(events.filter((e) => e.type === 'TokenIssued')).toHaveLength(6);
    expect(decisions.filter((d) => !d.ok)).toHaveLength(5);
  });

  it('no event contains a plaintext token or its secret part', () => {
    const wire = JSON.stringify(events);
    for (const s of secrets) expect(wire).not.toContain(s);
  });

  it('no serialised or printed decision, error included, contains one', () => {
    const printed = JSON.stringify(decisions) + inspect(decisions, { depth: 10, showHidden: true }) + decisions.map(String).join();
    for (const s of secrets) expect(printed).not.toContain(s);
  });

  it('the folded state holds only digests', () => {
    const printed = inspect(state, { depth: 10 });
    for (const s of secrets) expect(printed).not.toContain(s);
  });
});
