import { PROJECT_ROLES, type ProjectRole } from '#events';
import { ACCESS_SUBJECTS, ACTION_POLICY, ACTIONS, authorize, type AccessDecision, type AccessSubjectName, type Action } from './access-policy.js';

const A: AccessDecision = 'allow';
const F: AccessDecision = 'forbidden';
const N: AccessDecision = 'not-found';

// Written out by hand, independent of the table in access-policy.ts, so that a change to the
// policy has to be made twice on purpose. The service column is a service holding a 'member' role.
const COLUMNS: readonly AccessSubjectName[] = ['admin', 'owner', 'member', 'viewer', 'non-member', 'worker', 'service'];
const MATRIX: Readonly<Record<Action, readonly AccessDecision[]>> = {
  //                   admin owner member viewer non-m worker service
  'project.read':      [A, A, A, A, N, N, A],
  'project.write':     [A, A, A, F, N, N, A],
  'imports.create':    [A, A, A, F, N, N, A],
  'scans.create':      [A, A, A, F, N, N, A],
  'scans.cancel':      [A, A, A, F, N, N, A],
  'project.manage':    [A, A, F, F, N, N, F],
  'members.manage':    [A, A, F, F, N, N, F],
  'project.delete':    [A, A, F, F, N, N, F],
  'webhooks.read':     [A, A, A, F, N, N, A],
  'webhooks.manage':   [A, A, F, F, N, N, F],
  'projects.create':   [A, A, A, A, A, F, F],
  'projects.list':     [A, A, A, A, A, F, A],
  'workers.read':      [A, A, A, A, A, F, A],
  'tokens.own':        [A, A, A, A, A, F, A],
  'results.post':      [A, F, F, F, F, A, F],
  'workers.heartbeat': [A, F, F, F, F, A, F],
  'users.manage':      [A, F, F, F, F, F, F],
  'ledger.rebuild':    [A, F, F, F, F, F, F],
  'system.stop':       [A, F, F, F, F, F, F],
};

describe('authorize', () => {
  it('the matrix covers exactly the actions of the policy table', () => {
    expect(Object.keys(MATRIX).sort()).toEqual([...ACTIONS].sort());
    expect(Object.keys(ACCESS_SUBJECTS).sort()).toEqual([...COLUMNS].sort());
  });

  const cells = ACTIONS.flatMap((action) => COLUMNS.map((who, i) => [action, who, MATRIX[action][i]] as const));
  it.each(cells)('%s by %s → %s', (action, who, expected) => {
    const { principal, membership } = ACCESS_SUBJECTS[who];
    expect(authorize(principal, action, membership)).toBe(expected);
  });

  it('admins reach every project action without a membership (admins see all projects)', () => {
    for (const action of ACTIONS) expect(authorize({ kind: 'user', admin: true }, action, null)).toBe('allow');
  });

  it('a worker sees no project, even one it was made a member of', () => {
    for (const action of ACTIONS.filter((a) => ACTION_POLICY[a].scope === 'project'))
      for (const role of PROJECT_ROLES) expect(authorize({ kind: 'worker', admin: false }, action, role)).toBe('not-found');
  });

  it('an admin flag on a non-user principal grants nothing', () => {
    expect(authorize({ kind: 'worker', admin: true }, 'users.manage', null)).toBe('forbidden');
    expect(authorize({ kind: 'service', admin: true }, 'project.read', null)).toBe('not-found');
  });

  it('caps a service at member rights whatever role it was given', () => {
    const svc = { kind: 'service', admin: false } as const;
    const expectFor = (role: ProjectRole, action: Action) => authorize(svc, action, role);
    expect(expectFor('owner', 'scans.create')).toBe('allow');
    expect(expectFor('owner', 'members.manage')).toBe('forbidden');
    expect(expectFor('owner', 'project.delete')).toBe('forbidden');
    expect(expectFor('viewer', 'project.read')).toBe('allow');
    expect(expectFor('viewer', 'scans.create')).toBe('forbidden');
    expect(authorize(svc, 'project.read', null)).toBe('not-found');
  });

  it('ignores the membership for global actions', () => {
    expect(authorize({ kind: 'user', admin: false }, 'users.manage', 'owner')).toBe('forbidden');
    expect(authorize({ kind: 'worker', admin: false }, 'results.post', 'owner')).toBe('allow');
  });

  it('fails closed on an action that is not in the table, even for admins', () => {
    expect(authorize({ kind: 'user', admin: true }, 'everything' as Action, null)).toBe('forbidden');
    expect(authorize({ kind: 'user', admin: true }, 'toString' as Action, null)).toBe('forbidden');
  });
});
