import { Inject, Injectable } from '@nestjs/common';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { AddressRanges, RequestSummaryJson, ScanPlannedV1 } from '#events';
import { describeRanges, scanStateOf, type ScanState, type TaskCounts } from '#domain';
import { ORM } from '#platform';
import { PLANNER_SCHEMA } from '../../planner/planner.schema.js';
import { EmergencyStopView } from '../../emergency-stop/emergency-stop.view.js';
import { FleetView } from '../../workers/fleet.view.js';

const T = `${PLANNER_SCHEMA}.tasks`;
const S = `${PLANNER_SCHEMA}.scans`;

export interface ScanRow {
  scan_id: string;
  project_id: string;
  requested_at: Date;
  requested_by: { id: string; name?: string; kind: string };
  idempotency_key: string | null;
  request_hash: string;
  profile: string | null;
  config: Record<string, unknown>;
  rescan: boolean;
  request_summary: RequestSummaryJson;
  planned_at: Date | null;
  plan: (Omit<ScanPlannedV1, 'projectId' | 'scanId'> & { error?: string }) | null;
  finished_at: Date | null;
  final_state: string | null;
}

export interface ListQuery {
  readonly status?: ScanState;
  readonly limit: number;
  readonly cursor?: string;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());
const ZERO: TaskCounts = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 };

/** Reads of the planner's schema for the HTTP side; the planner is its only writer. */
@Injectable()
export class ScansReadModel {
  constructor(
    @Inject(ORM) private readonly orm: MikroORM,
    private readonly fleet: FleetView,
    private readonly emergencyStop: EmergencyStopView,
  ) {}

  private em() {
    return this.orm.em.fork();
  }

  async scanRow(scanId: string): Promise<ScanRow | null> {
    const rows = await this.em().execute<ScanRow[]>(`select * from ${S} where scan_id = ?`, [scanId]);
    return rows[0] ?? null;
  }

  async cancellation(cancelId: string): Promise<{ scan_ids: string[]; queued: number; running: number } | null> {
    const rows = await this.em().execute<{ scan_ids: string[]; queued: number; running: number }[]>(`select scan_ids, queued, running from ${PLANNER_SCHEMA}.cancellations where cancel_id = ?`, [cancelId]);
    return rows[0] ?? null;
  }

  private async counts(scanIds: readonly string[]): Promise<Map<string, { tasks: TaskCounts; addresses: TaskCounts }>> {
    const out = new Map<string, { tasks: TaskCounts; addresses: TaskCounts }>();
    if (!scanIds.length) return out;
    const rows = await this.em().execute<{ scan_id: string; state: keyof TaskCounts; n: string; a: string }[]>(
      `select scan_id, state, count(*) as n, sum(addresses) as a from ${T} where scan_id in (${scanIds.map(() => '?').join(',')}) group by scan_id, state`,
      [...scanIds],
    );
    for (const r of rows) {
      const c = out.get(r.scan_id) ?? { tasks: { ...ZERO }, addresses: { ...ZERO } };
      (c.tasks as Record<string, number>)[r.state] = Number(r.n);
      (c.addresses as Record<string, number>)[r.state] = Number(r.a);
      out.set(r.scan_id, c);
    }
    return out;
  }

  private shape(row: ScanRow, c: { tasks: TaskCounts; addresses: TaskCounts } | undefined) {
    const tasks = c?.tasks ?? ZERO;
    const addresses = c?.addresses ?? ZERO;
    const total = (x: TaskCounts) => x.queued + x.running + x.done + x.failed + x.cancelled;
    const status: ScanState = row.final_state ? (row.final_state as ScanState) : scanStateOf(row.planned_at !== null, tasks);
    const plan = row.plan;
    return {
      scanId: row.scan_id,
      projectId: row.project_id,
      status,
      createdAt: iso(row.requested_at),
      plannedAt: iso(row.planned_at),
      finishedAt: iso(row.finished_at),
      requestedBy: { id: row.requested_by.id, name: row.requested_by.name ?? null },
      profile: row.profile,
      importMode: row.config.importMode,
      rescan: row.rescan,
      summary: {
        ...row.request_summary,
        skipped: plan?.skipped ?? null,
        queued: plan?.queuedAddresses ?? null,
        tasks: plan?.tasks ?? null,
        addressesPerTask: plan?.addressesPerTask ?? null,
        hostnameMerges: plan?.hostnameMerges ?? null,
        partiallyCovered: plan?.partiallyCovered ?? null,
        dedup: plan?.dedup ?? null,
        ...(plan?.error ? { error: plan.error } : {}),
      },
      counts: { ...tasks, total: total(tasks) },
      addresses: { ...addresses, total: total(addresses) },
    };
  }

  async status(projectId: string, scanId: string, now = Date.now()) {
    const row = await this.scanRow(scanId);
    if (!row || row.project_id !== projectId) return null;
    const counts = await this.counts([scanId]);
    const em = this.em();
    const running = await em.execute<{ task_id: string; attempt: number; worker_id: string; started_at: Date; ranges: AddressRanges; hostnames: Record<string, string[]> }[]>(
      `select task_id, attempt, worker_id, started_at, ranges, hostnames from ${T} where scan_id = ? and state = 'running' order by started_at limit 200`,
      [scanId],
    );
    const failures = await em.execute<{ task_id: string; ranges: AddressRanges; last_error: string; attempt: number; finished_at: Date }[]>(
      `select task_id, ranges, last_error, attempt, finished_at from ${T} where scan_id = ? and state = 'failed' order by finished_at desc limit 20`,
      [scanId],
    );
    return {
      ...this.shape(row, counts.get(scanId)),
      waiting: await this.waiting(row),
      config: row.config,
      running: running.map((r) => {
        const current = this.fleet.member(r.worker_id)?.running.find((t) => t.taskId === r.task_id && t.attempt === r.attempt)?.currentIp ?? null;
        const ip = current ?? r.ranges[0][0];
        return {
          ip,
          targets: describeRanges(r.ranges),
          hostnames: r.hostnames[ip] ?? [],
          taskId: r.task_id,
          attempt: r.attempt,
          workerId: r.worker_id,
          startedAt: iso(r.started_at),
          elapsedSeconds: Math.max(0, Math.round((now - new Date(r.started_at).getTime()) / 1000)),
        };
      }),
      failures: failures.map((f) => ({ taskId: f.task_id, targets: describeRanges(f.ranges), attempts: f.attempt, error: f.last_error, at: iso(f.finished_at) })),
    };
  }

  /** Tasks of the scan that the dispatch rule holds back, and why (emergency stop, window, budget). */
  private async waiting(row: ScanRow): Promise<{ tasks: number; reason: string } | null> {
    const em = this.em();
    const [{ n }] = await em.execute<{ n: string }[]>(`select count(*) as n from ${T} where scan_id = ? and held and state = 'queued'`, [row.scan_id]);
    if (Number(n) === 0) return null;
    const stop = this.emergencyStop.state;
    if (stop.active) return { tasks: Number(n), reason: `waiting: emergency stop since ${stop.since}` };
    const [d] = await em.execute<{ waiting: string | null }[]>(`select waiting from ${PLANNER_SCHEMA}.project_dispatch where project_id = ?`, [row.project_id]);
    return { tasks: Number(n), reason: d?.waiting ?? 'waiting: dispatch' };
  }

  async list(projectId: string, q: ListQuery) {
    const params: unknown[] = [projectId];
    let where = `project_id = ?`;
    if (q.cursor) {
      const [at, id] = decodeCursor(q.cursor);
      where += ` and (requested_at, scan_id) < (cast(? as timestamptz), ?)`;
      params.push(at, id);
    }
    if (q.status) {
      // Final scans carry their state; live ones are derived from their task counts.
      if (['done', 'failed', 'cancelled'].includes(q.status)) {
        where += ` and final_state = ?`;
        params.push(q.status);
      } else if (q.status === 'planning') where += ` and planned_at is null`;
      else {
        where += ` and planned_at is not null and final_state is null and exists (select 1 from ${T} t where t.scan_id = s.scan_id and t.state = ?)`;
        params.push(q.status);
        if (q.status === 'queued') where += ` and not exists (select 1 from ${T} t where t.scan_id = s.scan_id and t.state = 'running')`;
      }
    }
    const rows = await this.em().execute<ScanRow[]>(`select * from ${S} s where ${where} order by requested_at desc, scan_id desc limit ?`, [...params, q.limit + 1]);
    const page = rows.slice(0, q.limit);
    const counts = await this.counts(page.map((r) => r.scan_id));
    const last = page[page.length - 1];
    return {
      items: await Promise.all(page.map(async (r) => ({ ...this.shape(r, counts.get(r.scan_id)), waiting: r.final_state ? null : await this.waiting(r) }))),
      nextCursor: rows.length > q.limit && last ? encodeCursor(new Date(last.requested_at).toISOString(), last.scan_id) : null,
    };
  }
}

const encodeCursor = (at: string, id: string) => Buffer.from(JSON.stringify([at, id])).toString('base64url');

export class BadCursorError extends Error {
  readonly code = 'SCANS.BAD_CURSOR';
}

function decodeCursor(c: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && !Number.isNaN(Date.parse(v[0])) && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    /* falls through */
  }
  throw new BadCursorError('cursor is not one this API returned');
}
