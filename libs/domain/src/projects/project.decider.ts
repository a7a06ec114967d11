import type { Actor, Envelope, ProjectEvent, ProjectRole } from '#events';
import { CHANGE_FIELDS, webhookUrlProblem } from '../webhooks/webhook-target.js';

export interface WebhookState {
  readonly webhookId: string;
  readonly url: string;
  readonly status: 'active' | 'disabled';
}

/** Keeps one project's deliveries (one HTTP call in flight per webhook) within reason. */
export const MAX_WEBHOOKS_PER_PROJECT = 20;

/** What deciding needs to know about a project; the HTTP apps' in-memory view provides it. */
export interface ProjectState {
  readonly projectId: string;
  readonly name: string;
  readonly comment: string | null;
  readonly members: ReadonlyMap<string, ProjectRole>;
  readonly webhooks?: ReadonlyMap<string, WebhookState>;
}

export interface ProjectWorld {
  project(projectId: string): ProjectState | undefined;
  projectByName(name: string): ProjectState | undefined;
  userExists(userId: string): boolean;
}

export type ProjectCommand =
  | { readonly type: 'CreateProject'; readonly projectId: string; readonly name: string; readonly comment: string | null; readonly ownerId: string }
  | { readonly type: 'UpdateProject'; readonly projectId: string; readonly name?: string; readonly comment?: string | null }
  | { readonly type: 'DeleteProject'; readonly projectId: string }
  | { readonly type: 'SetMember'; readonly projectId: string; readonly userId: string; readonly role: ProjectRole }
  | { readonly type: 'RemoveMember'; readonly projectId: string; readonly userId: string }
  | { readonly type: 'SetScope'; readonly projectId: string; readonly allow: readonly string[]; readonly deny: readonly string[] }
  | { readonly type: 'RegisterWebhook'; readonly projectId: string; readonly webhookId: string; readonly url: string; readonly events: readonly string[] | null }
  | { readonly type: 'RemoveWebhook'; readonly projectId: string; readonly webhookId: string }
  | { readonly type: 'EnableWebhook'; readonly projectId: string; readonly webhookId: string }
  | { readonly type: 'DisableWebhook'; readonly projectId: string; readonly webhookId: string; readonly reason: string; readonly consecutiveFailures: number };

export type ProjectErrorCode =
  | 'PROJECT.NAME_TAKEN' | 'PROJECT.NOT_FOUND' | 'MEMBER.NOT_FOUND' | 'MEMBER.USER_NOT_FOUND' | 'MEMBER.LAST_OWNER'
  | 'WEBHOOK.NOT_FOUND' | 'WEBHOOK.URL_TAKEN' | 'WEBHOOK.INVALID' | 'WEBHOOK.LIMIT';
export type ProjectDecision = { readonly ok: true; readonly events: readonly ProjectEvent[] } | { readonly ok: false; readonly code: ProjectErrorCode; readonly message: string };

export interface DecideContext {
  readonly now: Date;
  readonly newId: () => string;
  readonly actor: Actor;
  readonly correlationId: string;
}

const fail = (code: ProjectErrorCode, message: string): ProjectDecision => ({ ok: false, code, message });

function make<T extends ProjectEvent['type']>(ctx: DecideContext, type: T, projectId: string, payload: Extract<ProjectEvent, { type: T }>['payload']): ProjectEvent {
  const env: Envelope<T, typeof payload> = {
    eventId: ctx.newId(),
    type,
    schemaVersion: 1,
    key: projectId,
    occurredAt: ctx.now.toISOString(),
    correlationId: ctx.correlationId,
    causationId: null,
    actor: ctx.actor,
    payload,
  };
  return env as unknown as ProjectEvent;
}

const owners = (p: ProjectState) => [...p.members.values()].filter((r) => r === 'owner').length;

export function decideProject(cmd: ProjectCommand, world: ProjectWorld, ctx: DecideContext): ProjectDecision {
  if (cmd.type === 'CreateProject') {
    if (world.projectByName(cmd.name)) return fail('PROJECT.NAME_TAKEN', `a project named "${cmd.name}" already exists`);
    return { ok: true, events: [make(ctx, 'ProjectCreated', cmd.projectId, { projectId: cmd.projectId, name: cmd.name, comment: cmd.comment, ownerId: cmd.ownerId })] };
  }
  const p = world.project(cmd.projectId);
  if (!p) return fail('PROJECT.NOT_FOUND', `project ${cmd.projectId} not found`);
  switch (cmd.type) {
    case 'UpdateProject': {
      const other = cmd.name !== undefined ? world.projectByName(cmd.name) : undefined;
      if (other && other.projectId !== p.projectId) return fail('PROJECT.NAME_TAKEN', `a project named "${cmd.name}" already exists`);
      const payload: { projectId: string; name?: string; comment?: string | null } = { projectId: p.projectId };
      if (cmd.name !== undefined && cmd.name !== p.name) payload.name = cmd.name;
      if (cmd.comment !== undefined && cmd.comment !== p.comment) payload.comment = cmd.comment;
      // Nothing changes: no event, so history shows only real changes.
      if (Object.keys(payload).length === 1) return { ok: true, events: [] };
      return { ok: true, events: [make(ctx, 'ProjectUpdated', p.projectId, payload)] };
    }
    case 'DeleteProject':
      return { ok: true, events: [make(ctx, 'ProjectDeleted', p.projectId, { projectId: p.projectId })] };
    case 'SetMember': {
      if (!world.userExists(cmd.userId)) return fail('MEMBER.USER_NOT_FOUND', `user ${cmd.userId} not found`);
      const current = p.members.get(cmd.userId);
      if (current === cmd.role) return { ok: true, events: [] };
      if (current === 'owner' && owners(p) === 1) return fail('MEMBER.LAST_OWNER', 'a project keeps at least one owner');
      if (current === undefined) return { ok: true, events: [make(ctx, 'MemberAdded', p.projectId, { projectId: p.projectId, userId: cmd.userId, role: cmd.role })] };
      return { ok: true, events: [make(ctx, 'MemberRoleChanged', p.projectId, { projectId: p.projectId, userId: cmd.userId, from: current, to: cmd.role })] };
    }
    case 'RemoveMember': {
      const current = p.members.get(cmd.userId);
      if (current === undefined) return fail('MEMBER.NOT_FOUND', `user ${cmd.userId} is not a member`);
      if (current === 'owner' && owners(p) === 1) return fail('MEMBER.LAST_OWNER', 'a project keeps at least one owner');
      return { ok: true, events: [make(ctx, 'MemberRemoved', p.projectId, { projectId: p.projectId, userId: cmd.userId })] };
    }
    case 'SetScope':
      return { ok: true, events: [make(ctx, 'ProjectScopeSet', p.projectId, { projectId: p.projectId, allow: cmd.allow, deny: cmd.deny })] };
    case 'RegisterWebhook': {
      const hooks = [...(p.webhooks?.values() ?? [])];
      const problem = webhookUrlProblem(cmd.url);
      if (problem) return fail('WEBHOOK.INVALID', problem);
      const unknown = (cmd.events ?? []).filter((f) => !(CHANGE_FIELDS as readonly string[]).includes(f));
      if (unknown.length) return fail('WEBHOOK.INVALID', `unknown change field(s) in events: ${unknown.join(', ')}; known: ${CHANGE_FIELDS.join(', ')}`);
      if (cmd.events !== null && cmd.events.length === 0) return fail('WEBHOOK.INVALID', 'events, when given, names at least one change field');
      if (hooks.some((w) => w.url === cmd.url)) return fail('WEBHOOK.URL_TAKEN', 'this project already has a webhook with that url');
      if (hooks.length >= MAX_WEBHOOKS_PER_PROJECT) return fail('WEBHOOK.LIMIT', `a project has at most ${MAX_WEBHOOKS_PER_PROJECT} webhooks`);
      const events = cmd.events === null ? null : [...new Set(cmd.events)];
      return { ok: true, events: [make(ctx, 'WebhookRegistered', p.projectId, { projectId: p.projectId, webhookId: cmd.webhookId, url: cmd.url, events })] };
    }
    case 'RemoveWebhook':
    case 'EnableWebhook':
    case 'DisableWebhook': {
      const w = p.webhooks?.get(cmd.webhookId);
      if (!w) return fail('WEBHOOK.NOT_FOUND', `webhook ${cmd.webhookId} not found`);
      const ids = { projectId: p.projectId, webhookId: w.webhookId };
      if (cmd.type === 'RemoveWebhook') return { ok: true, events: [make(ctx, 'WebhookRemoved', p.projectId, ids)] };
      // Enabling an active webhook or disabling a disabled one changes nothing: no event.
      if (cmd.type === 'EnableWebhook') return { ok: true, events: w.status === 'active' ? [] : [make(ctx, 'WebhookEnabled', p.projectId, ids)] };
      return { ok: true, events: w.status === 'disabled' ? [] : [make(ctx, 'WebhookDisabled', p.projectId, { ...ids, reason: cmd.reason, consecutiveFailures: cmd.consecutiveFailures })] };
    }
  }
}
