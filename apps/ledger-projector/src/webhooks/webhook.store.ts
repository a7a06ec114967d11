import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { migrateSchema, ORM } from '#platform';
import { WEBHOOK_MIGRATIONS, WEBHOOKS_SCHEMA } from './webhooks.schema.js';

const S = WEBHOOKS_SCHEMA;

/** An endpoint's delivery state, as the deliverer and the listing read it. The secret is only in `EndpointWithSecret`. */
export interface EndpointState {
  readonly webhookId: string;
  readonly projectId: string;
  /** Position of the last change handled (delivered, or skipped by the filter). */
  readonly cursor: string;
  readonly consecutiveFailures: number;
  /** The delivery in flight: changes (cursor, lastChangeId], retried under this id until acknowledged. */
  readonly deliveryId: string | null;
  readonly deliveryLastId: string | null;
  readonly attempt: number;
  readonly nextAttemptAt: string | null;
  readonly due: boolean;
  readonly lastAttemptAt: string | null;
  readonly lastSuccessAt: string | null;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly lastDurationMs: number | null;
}

export interface EndpointWithSecret extends EndpointState {
  readonly secret: string;
}

export interface DeliveryLogEntry {
  readonly deliveryId: string;
  readonly attempt: number;
  readonly ok: boolean;
  readonly changeIds: readonly string[];
  readonly httpStatus: number | null;
  readonly error: string | null;
  readonly durationMs: number;
  readonly attemptedAt: string;
  readonly nextRetryAt: string | null;
}

type Row = Record<string, any>;
const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());

const STATE_COLUMNS = `webhook_id, project_id, cursor::text as cursor, consecutive_failures, delivery_id, delivery_last_id::text as delivery_last_id, attempt,
  next_attempt_at, coalesce(next_attempt_at <= clock_timestamp(), false) as due, last_attempt_at, last_success_at, last_status, last_error, last_duration_ms`;

const toState = (r: Row): EndpointState => ({
  webhookId: r.webhook_id,
  projectId: r.project_id,
  cursor: String(r.cursor),
  consecutiveFailures: r.consecutive_failures,
  deliveryId: r.delivery_id ?? null,
  deliveryLastId: r.delivery_last_id ?? null,
  attempt: r.attempt,
  nextAttemptAt: iso(r.next_attempt_at),
  due: r.due === true,
  lastAttemptAt: iso(r.last_attempt_at),
  lastSuccessAt: iso(r.last_success_at),
  lastStatus: r.last_status ?? null,
  lastError: r.last_error ?? null,
  lastDurationMs: r.last_duration_ms ?? null,
});

export interface AttemptRecord {
  readonly webhookId: string;
  readonly deliveryId: string;
  readonly attempt: number;
  readonly changeIds: readonly string[];
  readonly ok: boolean;
  readonly httpStatus: number | null;
  readonly error: string | null;
  readonly durationMs: number;
  readonly attemptedAt: Date;
  /** On failure: when the next attempt is due; null when the webhook is about to be disabled. */
  readonly retryInMs: number | null;
  readonly deliveryLastId: string;
  readonly keepLog: number;
}

/** The webhooks schema: secrets, cursors, the delivery in flight and the delivery log. */
@Injectable()
export class WebhookStore implements OnModuleInit {
  constructor(@Inject(ORM) private readonly orm: MikroORM) {}

  async onModuleInit(): Promise<void> {
    await migrateSchema(this.orm, S, WEBHOOK_MIGRATIONS);
  }

  /** A new endpoint starts after the project's latest change: it receives what happens from now on. */
  async create(webhookId: string, projectId: string, secret: string): Promise<void> {
    await this.orm.em.fork().execute(
      `insert into ${S}.endpoints (webhook_id, project_id, secret, cursor)
       values (?, ?, ?, (select coalesce(max(id), 0) from ledger.history where project_id = ?))`,
      [webhookId, projectId, secret, projectId],
    );
  }

  async forget(webhookId: string): Promise<void> {
    const em = this.orm.em.fork();
    await em.transactional(async (tx) => {
      await tx.execute(`delete from ${S}.delivery_log where webhook_id = ?`, [webhookId]);
      await tx.execute(`delete from ${S}.endpoints where webhook_id = ?`, [webhookId]);
    });
  }

  /** Re-enabling starts the failure count afresh and makes the delivery in flight (if any) due now. */
  async resetFailures(projectId: string, webhookId: string): Promise<void> {
    await this.orm.em.fork().execute(
      `update ${S}.endpoints set consecutive_failures = 0, next_attempt_at = case when delivery_id is null then null else clock_timestamp() end where webhook_id = ? and project_id = ?`,
      [webhookId, projectId],
    );
  }

  async states(projectId: string): Promise<Map<string, EndpointState>> {
    const rows = await this.orm.em.fork().execute<Row[]>(`select ${STATE_COLUMNS} from ${S}.endpoints where project_id = ?`, [projectId]);
    return new Map(rows.map((r) => [r.webhook_id as string, toState(r)]));
  }

  async state(webhookId: string): Promise<EndpointState | null> {
    const rows = await this.orm.em.fork().execute<Row[]>(`select ${STATE_COLUMNS} from ${S}.endpoints where webhook_id = ?`, [webhookId]);
    return rows.length ? toState(rows[0]) : null;
  }

  async log(webhookId: string, limit: number): Promise<DeliveryLogEntry[]> {
    const rows = await this.orm.em.fork().execute<Row[]>(
      `select delivery_id, attempt, ok, change_ids::text[] as change_ids, http_status, error, duration_ms, attempted_at, next_retry_at
         from ${S}.delivery_log where webhook_id = ? order by id desc limit ?`,
      [webhookId, limit],
    );
    return rows.map((r) => ({
      deliveryId: r.delivery_id,
      attempt: r.attempt,
      ok: r.ok,
      changeIds: (r.change_ids as unknown[]).map(String),
      httpStatus: r.http_status ?? null,
      error: r.error ?? null,
      durationMs: r.duration_ms,
      attemptedAt: iso(r.attempted_at)!,
      nextRetryAt: iso(r.next_retry_at),
    }));
  }

  // --- used by the deliverer, inside its transactions -------------------------------------------

  /** The endpoint's row, locked for this transaction; null when another instance holds it (or it is gone). */
  async lock(tx: EntityManager, webhookId: string): Promise<EndpointWithSecret | null> {
    const rows = await tx.execute<Row[]>(`select ${STATE_COLUMNS}, secret from ${S}.endpoints where webhook_id = ? for update skip locked`, [webhookId]);
    return rows.length ? { ...toState(rows[0]), secret: rows[0].secret } : null;
  }

  async advanceCursor(tx: EntityManager, webhookId: string, to: string): Promise<void> {
    await tx.execute(`update ${S}.endpoints set cursor = ? where webhook_id = ?`, [to, webhookId]);
  }

  async openDelivery(tx: EntityManager, webhookId: string, deliveryId: string, lastId: string): Promise<void> {
    await tx.execute(
      `update ${S}.endpoints set delivery_id = ?, delivery_last_id = ?, attempt = 0, next_attempt_at = clock_timestamp() where webhook_id = ?`,
      [deliveryId, lastId, webhookId],
    );
  }

  /** Records one attempt: the log row, and the endpoint moved on (success) or scheduled for a retry. */
  async recordAttempt(tx: EntityManager, a: AttemptRecord): Promise<void> {
    const at = a.attemptedAt.toISOString();
    if (a.ok) {
      await tx.execute(
        `update ${S}.endpoints set cursor = delivery_last_id, delivery_id = null, delivery_last_id = null, attempt = 0, next_attempt_at = null, consecutive_failures = 0,
           last_attempt_at = ?, last_success_at = ?, last_status = ?, last_error = null, last_duration_ms = ? where webhook_id = ?`,
        [at, at, a.httpStatus, a.durationMs, a.webhookId],
      );
    } else {
      await tx.execute(
        `update ${S}.endpoints set attempt = ?, consecutive_failures = consecutive_failures + 1,
           next_attempt_at = case when ?::int is null then null else clock_timestamp() + (?::int * interval '1 millisecond') end,
           last_attempt_at = ?, last_status = ?, last_error = ?, last_duration_ms = ? where webhook_id = ?`,
        [a.attempt, a.retryInMs, a.retryInMs, at, a.httpStatus, a.error, a.durationMs, a.webhookId],
      );
    }
    await tx.execute(
      `insert into ${S}.delivery_log (webhook_id, delivery_id, attempt, change_ids, ok, http_status, error, duration_ms, attempted_at, next_retry_at)
       values (?, ?, ?, array(select jsonb_array_elements_text(?::jsonb)::bigint), ?, ?, ?, ?, ?, (select next_attempt_at from ${S}.endpoints where webhook_id = ?))`,
      [a.webhookId, a.deliveryId, a.attempt, JSON.stringify(a.changeIds), a.ok, a.httpStatus, a.error, a.durationMs, at, a.webhookId],
    );
    // The log is operational: only the newest rows per webhook are kept.
    await tx.execute(
      `delete from ${S}.delivery_log where webhook_id = ? and id <= (select id from ${S}.delivery_log where webhook_id = ? order by id desc offset ? limit 1)`,
      [a.webhookId, a.webhookId, a.keepLog],
    );
  }

  /**
   * A rebuild replays the history into fresh rows whose ids have none of the live ids' gaps (ids that
   * rolled-back batches took), so a cursor kept as a live id would point past changes not yet sent.
   * Both id sequences list one project's changes in the same order, so a cursor moves to the id of
   * the same ordinal. A cursor beyond what the rebuild holds (the live projector was ahead) moves to
   * its end: those changes are sent again once they are projected again, rather than skipped. A
   * delivery in flight is re-read under the new ids (same delivery id), or dropped and re-made.
   */
  async rebaseCursors(tx: EntityManager, live: string, rebuilt: string): Promise<void> {
    const rows = await tx.execute<{ webhook_id: string; project_id: string; cursor: string; delivery_last_id: string | null }[]>(
      `select webhook_id, project_id, cursor::text, delivery_last_id::text from ${S}.endpoints for update`,
    );
    const rebase = async (projectId: string, id: string): Promise<{ id: string; beyond: boolean }> => {
      const [r] = await tx.execute<{ ordinal: number; total: number; last: string | null }[]>(
        `select (select count(*)::int from ${live}.history where project_id = ? and id <= ?) as ordinal,
                (select count(*)::int from ${rebuilt}.history where project_id = ?) as total,
                (select max(id)::text from ${rebuilt}.history where project_id = ?) as last`,
        [projectId, id, projectId, projectId],
      );
      if (r.ordinal === 0) return { id: '0', beyond: false };
      if (r.ordinal > r.total) return { id: r.last ?? '0', beyond: true };
      // Ordered by the column, not by its text ("10" < "9"): hence the alias.
      const [row] = await tx.execute<{ at: string }[]>(`select id::text as at from ${rebuilt}.history where project_id = ? order by id offset ? limit 1`, [projectId, r.ordinal - 1]);
      return { id: row.at, beyond: false };
    };
    for (const e of rows) {
      const cursor = await rebase(e.project_id, e.cursor);
      const upTo = e.delivery_last_id === null ? null : await rebase(e.project_id, e.delivery_last_id);
      if (upTo && !upTo.beyond && !cursor.beyond) {
        await tx.execute(`update ${S}.endpoints set cursor = ?, delivery_last_id = ? where webhook_id = ?`, [cursor.id, upTo.id, e.webhook_id]);
      } else {
        await tx.execute(`update ${S}.endpoints set cursor = ?, delivery_id = null, delivery_last_id = null, attempt = 0, next_attempt_at = null where webhook_id = ?`, [cursor.id, e.webhook_id]);
      }
    }
  }

  /**
   * Endpoints of webhooks that no longer exist (removed, or their project deleted) and are older
   * than the grace period: a registration writes its row just before its event is published.
   */
  async sweep(liveWebhookIds: readonly string[], graceMs: number): Promise<number> {
    const em = this.orm.em.fork();
    return em.transactional(async (tx) => {
      const gone = await tx.execute<Row[]>(
        `select webhook_id from ${S}.endpoints where created_at < clock_timestamp() - (?::int * interval '1 millisecond')
           and not (webhook_id = any(array(select jsonb_array_elements_text(?::jsonb))))`,
        [graceMs, JSON.stringify(liveWebhookIds)],
      );
      const ids = gone.map((r) => r.webhook_id as string);
      if (!ids.length) return 0;
      await tx.execute(`delete from ${S}.delivery_log where webhook_id = any(array(select jsonb_array_elements_text(?::jsonb)))`, [JSON.stringify(ids)]);
      await tx.execute(`delete from ${S}.endpoints where webhook_id = any(array(select jsonb_array_elements_text(?::jsonb)))`, [JSON.stringify(ids)]);
      return ids.length;
    });
  }
}
