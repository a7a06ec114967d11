import type { EntityManager } from '@mikro-orm/postgresql';
import type { Change } from '#domain';

export type HistoryRow = Record<string, any>;

export const toChange = (r: HistoryRow): Change => ({
  ip: r.ip, proto: r.proto ?? undefined, port: r.port ?? undefined, field: r.field, key: r.key ?? undefined, old: r.old, new: r.new, rule: r.rule,
  eventId: r.event_id, observedAt: new Date(r.observed_at).toISOString(), source: r.source, mode: r.mode, actor: r.actor, run: r.run, recorded: true,
});

/** One entry of the public change feed (SSE and webhooks alike): versioned, with its position as id. */
export type FeedChange = Change & { readonly version: 1; readonly id: string };

export const CHANGE_FEED_VERSION = 1 as const;

/**
 * A project's changes after position `after` (exclusive), up to `upTo` (inclusive) when given, in
 * position order. Both the SSE stream and the webhook deliverer read through here, so the two
 * can never disagree on an entry's shape or id.
 */
export async function readChangeFeed(em: EntityManager, projectId: string, after: string, opts: { limit: number; upTo?: string }): Promise<FeedChange[]> {
  const rows = await em.execute<HistoryRow[]>(
    `select h.*, p.source, p.mode, p.actor, p.run from ledger.history h left join ledger.provenance p on p.event_id = h.event_id
      where h.project_id = ? and h.id > ?${opts.upTo !== undefined ? ' and h.id <= ?' : ''} order by h.id limit ?`,
    opts.upTo !== undefined ? [projectId, after, opts.upTo, opts.limit] : [projectId, after, opts.limit],
  );
  return rows.map((r) => ({ version: CHANGE_FEED_VERSION, ...toChange(r), id: String(r.id) }));
}
