import type { Envelope } from '../core/envelope.js';
import { eventCatalogue } from '../core/catalogue.js';
import { array, int, literal, nullable, object, optional, str, type Check } from '../core/schema.js';
import { Topics } from '../core/topics.js';

export type ProjectRole = 'owner' | 'member' | 'viewer';
export const PROJECT_ROLES: readonly ProjectRole[] = ['owner', 'member', 'viewer'];

export interface ProjectCreatedV1 {
  readonly projectId: string;
  readonly name: string;
  readonly comment: string | null;
  readonly ownerId: string;
}
export interface ProjectUpdatedV1 {
  readonly projectId: string;
  readonly name?: string;
  readonly comment?: string | null;
}
export interface ProjectDeletedV1 {
  readonly projectId: string;
}
export interface MemberAddedV1 {
  readonly projectId: string;
  readonly userId: string;
  readonly role: ProjectRole;
}
export interface MemberRoleChangedV1 {
  readonly projectId: string;
  readonly userId: string;
  readonly from: ProjectRole;
  readonly to: ProjectRole;
}
export interface MemberRemovedV1 {
  readonly projectId: string;
  readonly userId: string;
}
export interface ProjectScopeSetV1 {
  readonly projectId: string;
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}
/**
 * A webhook on the project's change feed. The signing secret is never in an event: HMAC needs the
 * secret itself, so the ledger keeps it in PostgreSQL and the log carries only what is auditable.
 */
export interface WebhookRegisteredV1 {
  readonly projectId: string;
  readonly webhookId: string;
  readonly url: string;
  /** Change fields delivered (`state`, `host`, `service.version`, …); null means every change. */
  readonly events: readonly string[] | null;
}
export interface WebhookRemovedV1 {
  readonly projectId: string;
  readonly webhookId: string;
}
export interface WebhookEnabledV1 {
  readonly projectId: string;
  readonly webhookId: string;
}
/** Written by the ledger itself (system actor) after too many consecutive failed deliveries. */
export interface WebhookDisabledV1 {
  readonly projectId: string;
  readonly webhookId: string;
  readonly reason: string;
  readonly consecutiveFailures: number;
}

const T = Topics.projects.name;
const role = literal('owner', 'member', 'viewer');

eventCatalogue.define<'ProjectCreated', ProjectCreatedV1>({
  type: 'ProjectCreated', topic: T, schemaVersion: 1,
  payload: object({ projectId: str, name: str, comment: nullable(str), ownerId: str }) as Check<ProjectCreatedV1>,
});
eventCatalogue.define<'ProjectUpdated', ProjectUpdatedV1>({
  type: 'ProjectUpdated', topic: T, schemaVersion: 1,
  payload: object({ projectId: str, name: optional(str), comment: optional(nullable(str)) }) as Check<ProjectUpdatedV1>,
});
eventCatalogue.define<'ProjectDeleted', ProjectDeletedV1>({
  type: 'ProjectDeleted', topic: T, schemaVersion: 1,
  payload: object({ projectId: str }) as Check<ProjectDeletedV1>,
});
eventCatalogue.define<'MemberAdded', MemberAddedV1>({
  type: 'MemberAdded', topic: T, schemaVersion: 1,
  payload: object({ projectId: str, userId: str, role }) as Check<MemberAddedV1>,
});
eventCatalogue.define<'MemberRoleChanged', MemberRoleChangedV1>({
  type: 'MemberRoleChanged', topic: T, schemaVersion: 1,
  payload: object({ projectId: str, userId: str, from: role, to: role }) as Check<MemberRoleChangedV1>,
});
eventCatalogue.define<'MemberRemoved', MemberRemovedV1>({
  type: 'MemberRemoved', topic: T, schemaVersion: 1,
  payload: object({ projectId: str, userId: str }) as Check<MemberRemovedV1>,
});
eventCatalogue.define<'ProjectScopeSet', ProjectScopeSetV1>({
  type: 'ProjectScopeSet', topic: T, schemaVersion: 1,
  payload: object({ projectId: str, allow: array(str), deny: array(str) }) as Check<ProjectScopeSetV1>,
});

eventCatalogue.define<'WebhookRegistered', WebhookRegisteredV1>({
  type: 'WebhookRegistered', topic: T, schemaVersion: 1,
  payload: object({ projectId: str, webhookId: str, url: str, events: nullable(array(str)) }) as Check<WebhookRegisteredV1>,
});
eventCatalogue.define<'WebhookRemoved', WebhookRemovedV1>({
  type: 'WebhookRemoved', topic: T, schemaVersion: 1,
  payload: object({ projectId: str, webhookId: str }) as Check<WebhookRemovedV1>,
});
eventCatalogue.define<'WebhookEnabled', WebhookEnabledV1>({
  type: 'WebhookEnabled', topic: T, schemaVersion: 1,
  payload: object({ projectId: str, webhookId: str }) as Check<WebhookEnabledV1>,
});
eventCatalogue.define<'WebhookDisabled', WebhookDisabledV1>({
  type: 'WebhookDisabled', topic: T, schemaVersion: 1,
  payload: object({ projectId: str, webhookId: str, reason: str, consecutiveFailures: int }) as Check<WebhookDisabledV1>,
});

export type ProjectEvent =
  | Envelope<'ProjectCreated', ProjectCreatedV1>
  | Envelope<'ProjectUpdated', ProjectUpdatedV1>
  | Envelope<'ProjectDeleted', ProjectDeletedV1>
  | Envelope<'MemberAdded', MemberAddedV1>
  | Envelope<'MemberRoleChanged', MemberRoleChangedV1>
  | Envelope<'MemberRemoved', MemberRemovedV1>
  | Envelope<'ProjectScopeSet', ProjectScopeSetV1>
  | Envelope<'WebhookRegistered', WebhookRegisteredV1>
  | Envelope<'WebhookRemoved', WebhookRemovedV1>
  | Envelope<'WebhookEnabled', WebhookEnabledV1>
  | Envelope<'WebhookDisabled', WebhookDisabledV1>;
