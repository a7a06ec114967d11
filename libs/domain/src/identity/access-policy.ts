import type { PrincipalKind, ProjectRole } from '#events';

/** Non-admin principal kinds a global action can be granted to (admins may do everything). */
export type Grantee = PrincipalKind;

export type ActionRule =
  | {
      /** Needs a membership of the project named in the request, at `minRole` or above. */
      readonly scope: 'project';
      readonly minRole: ProjectRole;
      readonly description: string;
    }
  | {
      /** Not tied to one project: granted by principal kind alone. */
      readonly scope: 'global';
      readonly grantees: readonly Grantee[];
      readonly description: string;
    };

/**
 * Every action a route can require. HTTP tests iterate this table to build the route × role matrix,
 * so adding a route means adding (or reusing) an action here first.
 */
export const ACTION_POLICY = {
  'project.read': { scope: 'project', minRole: 'viewer', description: 'see the project, its hosts, history, scans, imports and exports' },
  'project.write': { scope: 'project', minRole: 'member', description: 'add, edit and delete hosts and history' },
  'imports.create': { scope: 'project', minRole: 'member', description: 'upload an nmap report into the project' },
  'scans.create': { scope: 'project', minRole: 'member', description: 'start a scan in the project' },
  'scans.cancel': { scope: 'project', minRole: 'member', description: 'cancel scans or tasks of the project' },
  'project.manage': { scope: 'project', minRole: 'owner', description: 'rename, comment, set the scope and settings' },
  'members.manage': { scope: 'project', minRole: 'owner', description: 'add and remove members, change their roles' },
  'project.delete': { scope: 'project', minRole: 'owner', description: 'delete the project' },
  'webhooks.read': { scope: 'project', minRole: 'member', description: 'list the project’s webhooks and their delivery log (never the secrets)' },
  'webhooks.manage': { scope: 'project', minRole: 'owner', description: 'add, remove and re-enable the project’s webhooks' },
  'projects.create': { scope: 'global', grantees: ['user'], description: 'create a project (the creator becomes its owner)' },
  'projects.list': { scope: 'global', grantees: ['user', 'service'], description: 'list projects (filtered to memberships unless admin)' },
  'workers.read': { scope: 'global', grantees: ['user', 'service'], description: 'see the worker fleet and its health' },
  'tokens.own': { scope: 'global', grantees: ['user', 'service'], description: 'list, rotate and revoke one’s own tokens' },
  'results.post': { scope: 'global', grantees: ['worker'], description: 'post the result of a task leased to this worker' },
  'workers.heartbeat': { scope: 'global', grantees: ['worker'], description: 'announce the worker and send heartbeats' },
  'users.manage': { scope: 'global', grantees: [], description: 'create, update, disable and delete principals; manage any token' },
  'ledger.rebuild': { scope: 'global', grantees: [], description: 'rebuild read models from the event log' },
  'system.stop': { scope: 'global', grantees: [], description: 'stop all scans system-wide' },
} as const satisfies Record<string, ActionRule>;

export type Action = keyof typeof ACTION_POLICY;
export const ACTIONS = Object.keys(ACTION_POLICY) as readonly Action[];

export type AccessDecision = 'allow' | 'forbidden' | 'not-found';

export const ROLE_RANK: Readonly<Record<ProjectRole, number>> = { viewer: 1, member: 2, owner: 3 };

/**
 * Automation may read and write a project it was added to, but changing who has access or
 * deleting the project stays a human decision, whatever role the service was given.
 */
export const SERVICE_ROLE_CAP: ProjectRole = 'member';

export interface AuthorizeSubject {
  readonly kind: PrincipalKind;
  readonly admin: boolean;
}

/**
 * `membership` is the caller's role in the project the request names (null when none or when the
 * action is global). A project the caller cannot see answers not-found, so that probing ids does
 * not reveal which projects exist.
 */
export function authorize(principal: AuthorizeSubject, action: Action, membership: ProjectRole | null): AccessDecision {
  const rule: ActionRule | undefined = Object.hasOwn(ACTION_POLICY, action) ? ACTION_POLICY[action] : undefined;
  // Fail closed, even for admins: an unknown action is a wiring bug, not a grant.
  if (!rule) return 'forbidden';
  if (principal.kind === 'user' && principal.admin) return 'allow';
  if (rule.scope === 'global') return (rule.grantees as readonly Grantee[]).includes(principal.kind) ? 'allow' : 'forbidden';
  // Workers are handed tasks, never projects: even a stray membership shows them nothing.
  if (principal.kind === 'worker' || membership === null) return 'not-found';
  const role = principal.kind === 'service' && ROLE_RANK[membership] > ROLE_RANK[SERVICE_ROLE_CAP] ? SERVICE_ROLE_CAP : membership;
  return ROLE_RANK[role] >= ROLE_RANK[rule.minRole] ? 'allow' : 'forbidden';
}

export type AccessSubjectName = 'admin' | 'owner' | 'member' | 'viewer' | 'non-member' | 'worker' | 'service';

/**
 * The callers a route × role matrix covers, as the principal shape plus the membership it holds in
 * the project under test. The service is a member: its cap only shows at owner-level actions.
 */
export const ACCESS_SUBJECTS: Readonly<Record<AccessSubjectName, { readonly principal: AuthorizeSubject; readonly membership: ProjectRole | null }>> = {
  admin: { principal: { kind: 'user', admin: true }, membership: null },
  owner: { principal: { kind: 'user', admin: false }, membership: 'owner' },
  member: { principal: { kind: 'user', admin: false }, membership: 'member' },
  viewer: { principal: { kind: 'user', admin: false }, membership: 'viewer' },
  'non-member': { principal: { kind: 'user', admin: false }, membership: null },
  worker: { principal: { kind: 'worker', admin: false }, membership: null },
  service: { principal: { kind: 'service', admin: false }, membership: 'member' },
};
