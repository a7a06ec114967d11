import type { ProjectRole } from '#events';
import { decideProject, type ProjectCommand, type ProjectState, type ProjectWorld } from './project.decider.js';

let n = 0;
const ctx = { now: new Date('2026-11-21T10:00:00Z'), newId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, actor: { kind: 'user' as const, id: 'u-admin' }, correlationId: 'c' };

function given(projects: ProjectState[], users: string[] = ['u1', 'u2', 'u3']) {
  const world: ProjectWorld = {
    project: (id) => projects.find((p) => p.projectId === id),
    projectByName: (name) => projects.find((p) => p.name === name),
    userExists: (id) => users.includes(id),
  };
  return {
    when: (cmd: ProjectCommand) => {
      const d = decideProject(cmd, world, ctx);
      return {
        then: (...expected: { type: string; payload: object }[]) => {
          expect(d.ok).toBe(true);
          if (d.ok) expect(d.events.map((e) => ({ type: e.type, payload: e.payload }))).toEqual(expected);
        },
        thenFails: (code: string) => {
          expect(d).toMatchObject({ ok: false, code });
        },
      };
    },
  };
}

const proj = (members: [string, ProjectRole][], name = 'alpha'): ProjectState => ({ projectId: 'p1', name, comment: null, members: new Map(members) });

describe('project decider', () => {
  it('creates a project with its owner', () =>
    given([]).when({ type: 'CreateProject', projectId: 'p9', name: 'beta', comment: 'c', ownerId: 'u1' }).then({ type: 'ProjectCreated', payload: { projectId: 'p9', name: 'beta', comment: 'c', ownerId: 'u1' } }));
  it('refuses a taken name', () => given([proj([['u1', 'owner']])]).when({ type: 'CreateProject', projectId: 'p9', name: 'alpha', comment: null, ownerId: 'u1' }).thenFails('PROJECT.NAME_TAKEN'));
  it('renames; an update that changes nothing emits nothing', () => {
    given([proj([['u1', 'owner']])]).when({ type: 'UpdateProject', projectId: 'p1', name: 'gamma' }).then({ type: 'ProjectUpdated', payload: { projectId: 'p1', name: 'gamma' } });
    given([proj([['u1', 'owner']])]).when({ type: 'UpdateProject', projectId: 'p1', name: 'alpha', comment: null }).then();
  });
  it('refuses renaming onto another project', () =>
    given([proj([['u1', 'owner']]), { ...proj([], 'other'), projectId: 'p2' }]).when({ type: 'UpdateProject', projectId: 'p1', name: 'other' }).thenFails('PROJECT.NAME_TAKEN'));
  it('refuses commands on an unknown project', () => given([]).when({ type: 'DeleteProject', projectId: 'nope' }).thenFails('PROJECT.NOT_FOUND'));
  it('adds a member, then changes the role', () => {
    given([proj([['u1', 'owner']])]).when({ type: 'SetMember', projectId: 'p1', userId: 'u2', role: 'viewer' }).then({ type: 'MemberAdded', payload: { projectId: 'p1', userId: 'u2', role: 'viewer' } });
    given([proj([['u1', 'owner'], ['u2', 'viewer']])]).when({ type: 'SetMember', projectId: 'p1', userId: 'u2', role: 'member' }).then({ type: 'MemberRoleChanged', payload: { projectId: 'p1', userId: 'u2', from: 'viewer', to: 'member' } });
  });
  it('refuses an unknown user as member', () => given([proj([['u1', 'owner']])]).when({ type: 'SetMember', projectId: 'p1', userId: 'ghost', role: 'viewer' }).thenFails('MEMBER.USER_NOT_FOUND'));
  it('keeps at least one owner', () => {
    given([proj([['u1', 'owner']])]).when({ type: 'RemoveMember', projectId: 'p1', userId: 'u1' }).thenFails('MEMBER.LAST_OWNER');
    given([proj([['u1', 'owner']])]).when({ type: 'SetMember', projectId: 'p1', userId: 'u1', role: 'viewer' }).thenFails('MEMBER.LAST_OWNER');
    given([proj([['u1', 'owner'], ['u2', 'owner']])]).when({ type: 'RemoveMember', projectId: 'p1', userId: 'u1' }).then({ type: 'MemberRemoved', payload: { projectId: 'p1', userId: 'u1' } });
  });
  it('refuses removing a non-member', () => given([proj([['u1', 'owner']])]).when({ type: 'RemoveMember', projectId: 'p1', userId: 'u3' }).thenFails('MEMBER.NOT_FOUND'));
  it('sets the scope', () =>
    given([proj([['u1', 'owner']])]).when({ type: 'SetScope', projectId: 'p1', allow: ['10.0.0.0/8'], deny: ['10.0.0.1'] }).then({ type: 'ProjectScopeSet', payload: { projectId: 'p1', allow: ['10.0.0.0/8'], deny: ['10.0.0.1'] } }));

  describe('webhooks', () => {
    const hook = (status: 'active' | 'disabled' = 'active') => ({ ...proj([['u1', 'owner']]), webhooks: new Map([['w1', { webhookId: 'w1', url: 'https://h.example/1', status }]]) });
    it('registers a webhook: the event names the url and filter, never a secret', () =>
      given([proj([['u1', 'owner']])])
        .when({ type: 'RegisterWebhook', projectId: 'p1', webhookId: 'w2', url: 'https://h.example/2', events: ['state', 'host', 'state'] })
        .then({ type: 'WebhookRegistered', payload: { projectId: 'p1', webhookId: 'w2', url: 'https://h.example/2', events: ['state', 'host'] } }));
    it('refuses a second webhook to the same url, a bad url and unknown fields', () => {
      given([hook()]).when({ type: 'RegisterWebhook', projectId: 'p1', webhookId: 'w2', url: 'https://h.example/1', events: null }).thenFails('WEBHOOK.URL_TAKEN');
      given([hook()]).when({ type: 'RegisterWebhook', projectId: 'p1', webhookId: 'w2', url: 'gopher://h.example/', events: null }).thenFails('WEBHOOK.INVALID');
      given([hook()]).when({ type: 'RegisterWebhook', projectId: 'p1', webhookId: 'w2', url: 'https://u:p@h.example/', events: null }).thenFails('WEBHOOK.INVALID');
      given([hook()]).when({ type: 'RegisterWebhook', projectId: 'p1', webhookId: 'w2', url: 'https://h.example/2', events: ['ports'] }).thenFails('WEBHOOK.INVALID');
    });
    it('removes a webhook; an unknown one is not found', () => {
      given([hook()]).when({ type: 'RemoveWebhook', projectId: 'p1', webhookId: 'w1' }).then({ type: 'WebhookRemoved', payload: { projectId: 'p1', webhookId: 'w1' } });
      given([hook()]).when({ type: 'RemoveWebhook', projectId: 'p1', webhookId: 'nope' }).thenFails('WEBHOOK.NOT_FOUND');
    });
    it('disables an active webhook with the reason; disabling again changes nothing', () => {
      given([hook()])
        .when({ type: 'DisableWebhook', projectId: 'p1', webhookId: 'w1', reason: '10 consecutive failed deliveries', consecutiveFailures: 10 })
        .then({ type: 'WebhookDisabled', payload: { projectId: 'p1', webhookId: 'w1', reason: '10 consecutive failed deliveries', consecutiveFailures: 10 } });
      given([hook('disabled')]).when({ type: 'DisableWebhook', projectId: 'p1', webhookId: 'w1', reason: 'x', consecutiveFailures: 11 }).then();
    });
    it('enables a disabled webhook; enabling an active one changes nothing', () => {
      given([hook('disabled')]).when({ type: 'EnableWebhook', projectId: 'p1', webhookId: 'w1' }).then({ type: 'WebhookEnabled', payload: { projectId: 'p1', webhookId: 'w1' } });
      given([hook()]).when({ type: 'EnableWebhook', projectId: 'p1', webhookId: 'w1' }).then();
    });
  });
});
