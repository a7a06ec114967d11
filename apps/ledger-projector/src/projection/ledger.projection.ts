import { createHash } from 'node:crypto';
import type { ProjectEvent } from '#events';
import { assertUnreachable } from '#events';
import type { ConsumedEvent, Em, Projection } from '#platform';

const MIGRATIONS = [
  `create table projects (
     id text primary key,
     name text not null,
     comment text,
     owner_id text not null,
     created_at timestamptz not null,
     updated_at timestamptz not null,
     deleted_at timestamptz
   )`,
  `create unique index projects_name_live on projects(name) where deleted_at is null`,
  `create table project_members (
     project_id text not null,
     user_id text not null,
     role text not null,
     updated_at timestamptz not null,
     primary key (project_id, user_id)
   )`,
];

async function applyProjectEvent(em: Em, e: ProjectEvent): Promise<void> {
  const at = e.occurredAt;
  switch (e.type) {
    case 'ProjectCreated':
      await em.execute(
        `insert into projects(id, name, comment, owner_id, created_at, updated_at) values (?, ?, ?, ?, ?, ?) on conflict (id) do nothing`,
        [e.payload.projectId, e.payload.name, e.payload.comment, e.payload.ownerId, at, at],
      );
      await em.execute(
        `insert into project_members(project_id, user_id, role, updated_at) values (?, ?, 'owner', ?) on conflict do nothing`,
        [e.payload.projectId, e.payload.ownerId, at],
      );
      return;
    case 'ProjectUpdated':
      await em.execute(
        `update projects set name = coalesce(?, name), comment = case when ? then ? else comment end, updated_at = ? where id = ?`,
        [e.payload.name ?? null, e.payload.comment !== undefined, e.payload.comment ?? null, at, e.payload.projectId],
      );
      return;
    case 'ProjectDeleted':
      await em.execute(`update projects set deleted_at = ?, updated_at = ? where id = ? and deleted_at is null`, [at, at, e.payload.projectId]);
      await em.execute(`delete from project_members where project_id = ?`, [e.payload.projectId]);
      return;
    case 'MemberAdded':
    case 'MemberRoleChanged': {
      const role = e.type === 'MemberAdded' ? e.payload.role : e.payload.to;
      await em.execute(
        `insert into project_members(project_id, user_id, role, updated_at) values (?, ?, ?, ?)
         on conflict (project_id, user_id) do update set role = excluded.role, updated_at = excluded.updated_at`,
        [e.payload.projectId, e.payload.userId, role, at],
      );
      return;
    }
    case 'MemberRemoved':
      await em.execute(`delete from project_members where project_id = ? and user_id = ?`, [e.payload.projectId, e.payload.userId]);
      return;
    case 'ProjectScopeSet':
      return;
    default:
      assertUnreachable(e);
  }
}

export const ledgerProjection: Projection = {
  name: 'ledger',
  migrations: MIGRATIONS,
  async apply(em, events: readonly ConsumedEvent[]) {
    for (const c of events) {
      const e = c.event!;
      if (c.topic.endsWith('falcoria.projects')) await applyProjectEvent(em, e as ProjectEvent);
    }
  },
  async checksum(em) {
    const h = createHash('sha256');
    for (const row of await em.execute(`select id, name, comment, owner_id, created_at, updated_at, deleted_at from projects order by id`)) h.update(JSON.stringify(row));
    for (const row of await em.execute(`select project_id, user_id, role from project_members order by project_id, user_id`)) h.update(JSON.stringify(row));
    return h.digest('hex');
  },
};
