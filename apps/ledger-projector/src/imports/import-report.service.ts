import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Actor, Envelope, HostObservedV1, ImportCompletedV1, ImportFailedV1, ImportMode, ImportStartedV1 } from '#events';
import { CONFIG, LOGGER, ORM, PUBLISHER, type EventPublisher, type JsonLogger } from '#platform';
import type { LedgerEnv } from '../ledger.config.js';
import type { SpooledReport } from './report-spool.js';
import { collectYoung } from '../shared/young-gc.js';

export interface ImportRequest {
  readonly projectId: string;
  readonly mode: ImportMode;
  readonly trackHistory: boolean;
  readonly force: boolean;
  readonly fileName: string;
  readonly actor: Actor;
}

export interface ImportStatus {
  readonly importId: string;
  readonly status: 'applying' | 'completed' | 'failed' | 'duplicate';
  readonly duplicateOf?: string;
  readonly fileName?: string;
  readonly sha256?: string;
  readonly mode?: string;
  readonly hostCount?: number | null;
  readonly counts?: { hostsCreated: number; hostsUpdated: number; hostsUnchanged: number; portsOpened: number; portsClosed: number; changes: number };
  readonly startedAt?: string;
  readonly completedAt?: string | null;
  readonly reason?: string | null;
  /** Hosts of this import that could not be applied and went to the dead-letter topic. */
  readonly deadLettered?: number;
}

/** Publishing stopped part-way (the broker went away): nothing of the import is applied; it is recorded as failed. */
export class ImportInterruptedError extends Error {
  constructor(
    readonly importId: string,
    cause: Error,
    /** Publishing outlasted the import's transaction (LEDGER_IMPORT_TRANSACTION_TIMEOUT_MS): the broker aborted it. */
    readonly timedOut = false,
  ) {
    super(timedOut ? `import ${importId} took longer to publish than LEDGER_IMPORT_TRANSACTION_TIMEOUT_MS (${cause.message})` : `publishing import ${importId} was interrupted: ${cause.message}`, { cause });
  }
}

/** How long an interrupted import keeps trying to publish its ImportFailed (the broker may take a while to come back). */
const MARK_FAILED_FOR_MS = 30 * 60 * 1000;

/**
 * Well under the topics' 10 MiB max.message.bytes; a single host is held to MAX_EVENT_BYTES by the
 * spooler (and goes alone). Small because kafkajs encodes a send through buffers ~10× its size, all
 * alive until the send completes: 500 events (~1.7 MB) meant ~17 MB at once in the ledger.
 */
const PUBLISH_BATCH_BYTES = 512 * 1024;

const env = <T extends string, P>(type: T, key: string, payload: P, actor: Actor, correlationId: string): Envelope<T, P> => ({
  eventId: randomUUID(),
  type,
  schemaVersion: 1,
  key,
  occurredAt: new Date().toISOString(),
  correlationId,
  causationId: null,
  actor,
  payload,
});

/**
 * Turns a fully parsed (spooled) report into events: ImportStarted, one HostObserved per host and
 * ImportCompleted, all keyed by project so the projector applies them in order.
 */
@Injectable()
export class ImportReportService implements OnApplicationBootstrap {
  /**
   * Each import runs under one of this instance's transactional ids, stable across restarts: a
   * transaction a crashed predecessor left open is fenced (aborted) as soon as the instance starts,
   * instead of holding its partition until the broker's timeout. The ids in use are taken here.
   */
  private readonly free: number[];
  private readonly waiting: ((slot: number) => void)[] = [];

  constructor(
    @Inject(PUBLISHER) private readonly publisher: EventPublisher,
    @Inject(ORM) private readonly orm: MikroORM,
    @Inject(CONFIG) private readonly config: LedgerEnv,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {
    this.free = Array.from({ length: config.LEDGER_IMPORT_CONCURRENCY }, (_, i) => i);
  }

  onApplicationBootstrap(): void {
    // In the background: the app serves meanwhile, and an import that takes a slot fences it anyway.
    void (async () => {
      for (let slot = 0; slot < this.config.LEDGER_IMPORT_CONCURRENCY; slot++) {
        if (!this.free.includes(slot)) continue;
        this.free.splice(this.free.indexOf(slot), 1);
        try {
          await (await this.publisher.transaction(this.transactionalId(slot), this.config.LEDGER_IMPORT_TRANSACTION_TIMEOUT_MS)).abort();
        } catch (e) {
          this.logger.warn({ msg: 'could not fence an import transaction id at start; its next import does', transactionalId: this.transactionalId(slot), error: (e as Error).message });
        } finally {
          this.release(slot);
        }
      }
    })();
  }

  private acquire(): Promise<number> {
    const slot = this.free.shift();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(slot: number): void {
    const next = this.waiting.shift();
    if (next) next(slot);
    else this.free.push(slot);
  }

  async findDuplicate(projectId: string, sha256: string): Promise<string | null> {
    const rows = await this.orm.em.fork().execute<{ id: string }[]>(
      `select id from ledger.imports where project_id = ? and sha256 = ? and status = 'completed' order by completed_at desc limit 1`,
      [projectId, sha256],
    );
    return rows[0]?.id ?? null;
  }

  /**
   * Publishes the import as one Kafka transaction: ImportStarted, one HostObserved per host and
   * ImportCompleted reach the projector all at once, or not at all. If publishing stops part-way
   * (the broker went away), nothing of it is applied; a new transaction under the same id fences
   * the open one (the broker aborts it) and records ImportStarted and ImportFailed, retried in the
   * background until the broker takes it, so the attempt shows as failed, never "applying" for ever
   * (found by the fault suite, `npm run chaos -- --scenario broker-import`).
   */
  async publish(req: ImportRequest, report: SpooledReport): Promise<string> {
    const importId = randomUUID();
    const startedPayload: ImportStartedV1 = { projectId: req.projectId, importId, mode: req.mode, trackHistory: req.trackHistory, fileName: req.fileName, fileSha256: report.sha256, force: req.force };
    const started = env('ImportStarted', req.projectId, startedPayload, req.actor, importId);
    // Imports beyond LEDGER_IMPORT_CONCURRENCY wait here for a transactional id.
    const slot = await this.acquire();
    const t0 = Date.now();
    try {
      await this.publishAll(slot, started, req, report);
      this.release(slot);
      return importId;
    } catch (e) {
      const timeout = this.config.LEDGER_IMPORT_TRANSACTION_TIMEOUT_MS;
      const timedOut = Date.now() - t0 >= timeout;
      const reason = timedOut
        ? `publishing took longer than LEDGER_IMPORT_TRANSACTION_TIMEOUT_MS (${timeout / 1000} s), so the broker aborted the import's transaction; raise it for reports this large`
        : `publishing was interrupted: ${(e as Error).message}`;
      // The slot stays taken until the failure is recorded: an import under it would be fenced by the next attempt.
      this.markFailed(slot, req, started, reason);
      throw new ImportInterruptedError(importId, e as Error, timedOut);
    }
  }

  private transactionalId(slot: number): string {
    return `${this.config.KAFKA_TOPIC_PREFIX}falcoria.ledger.import.${this.config.LEDGER_INSTANCE_ID || `${hostname()}-${this.config.LEDGER_PORT}`}.${slot}`;
  }

  private markFailed(slot: number, req: ImportRequest, started: Envelope<'ImportStarted', ImportStartedV1>, reason: string): void {
    const importId = started.payload.importId;
    const payload: ImportFailedV1 = { projectId: req.projectId, importId, reason: reason.slice(0, 1000) };
    // The same envelopes on every attempt: if one was committed unacknowledged, the next is the same events.
    const failed = env('ImportFailed', req.projectId, payload, req.actor, importId);
    const until = Date.now() + MARK_FAILED_FOR_MS;
    const attempt = async (n: number): Promise<void> => {
      try {
        const tx = await this.publisher.transaction(this.transactionalId(slot), this.config.LEDGER_IMPORT_TRANSACTION_TIMEOUT_MS);
        try {
          await tx.publish([started, failed]);
          await tx.commit();
        } catch (e) {
          await tx.abort();
          throw e;
        }
        this.logger.warn({ msg: 'import marked failed', importId, projectId: req.projectId, reason: payload.reason });
        this.release(slot);
      } catch (e) {
        if (Date.now() > until) {
          this.logger.error({ msg: 'could not record an interrupted import as failed; nothing of it was applied', importId, projectId: req.projectId, error: (e as Error).message });
          this.release(slot);
          return;
        }
        setTimeout(() => void attempt(n + 1), Math.min(10000, 500 * 2 ** n)).unref();
      }
    };
    void attempt(0);
  }

  private async publishAll(slot: number, started: Envelope<'ImportStarted', ImportStartedV1>, req: ImportRequest, report: SpooledReport): Promise<void> {
    const { importId } = started.payload;
    const correlationId = importId;
    const key = req.projectId;
    const tx = await this.publisher.transaction(this.transactionalId(slot), this.config.LEDGER_IMPORT_TRANSACTION_TIMEOUT_MS);
    try {
      await tx.publish([started]);
      const run = report.run;
      const source = { kind: 'import' as const, importId, fileSha256: report.sha256, fileName: req.fileName };
      const observedAt = report.meta.start ? new Date(report.meta.start * 1000).toISOString() : new Date().toISOString();
      let batch: Envelope[] = [];
      let batchBytes = 0;
      const size = this.config.LEDGER_PUBLISH_BATCH;
      // A batch goes out as one Kafka record batch, which the topic caps at 10 MiB: bound it by
      // bytes as well as by count (hosts with large script output are common).
      const perEvent = Buffer.byteLength(JSON.stringify({ run, coverage: report.coverage, source })) + 1024;
      const send = async () => {
        await tx.publish(batch);
        collectYoung();
        batch = [];
        batchBytes = 0;
      };
      for await (const { host, bytes } of report.hosts()) {
        if (batch.length > 0 && batchBytes + bytes + perEvent > PUBLISH_BATCH_BYTES) await send();
        const hostSeen = host.endTime ?? host.startTime;
        const payload: HostObservedV1 = {
          projectId: req.projectId, mode: req.mode, trackHistory: req.trackHistory, source, run, coverage: report.coverage,
          observedAt: hostSeen ? new Date(hostSeen * 1000).toISOString() : observedAt, host,
        };
        batch.push(env('HostObserved', key, payload, req.actor, correlationId));
        batchBytes += bytes + perEvent;
        if (batch.length >= size) await send();
      }
      if (batch.length) await send();
      const completed: ImportCompletedV1 = { projectId: req.projectId, importId, hostCount: report.hostCount, run: report.meta };
      await tx.publish([env('ImportCompleted', key, completed, req.actor, correlationId)]);
      await tx.commit();
    } catch (e) {
      await tx.abort();
      throw e;
    }
    this.logger.info({ msg: 'import published', importId, projectId: req.projectId, hosts: report.hostCount, bytes: report.bytes });
  }

  async status(projectId: string, importId: string): Promise<ImportStatus | null> {
    const rows = await this.orm.em.fork().execute<Record<string, any>[]>(
      `select i.*, (select count(*) filter (where outcome = 3) from ledger.import_hosts h where h.import_id = i.id) as created,
              (select count(*) filter (where outcome = 2) from ledger.import_hosts h where h.import_id = i.id) as updated,
              (select count(*) filter (where outcome < 2) from ledger.import_hosts h where h.import_id = i.id) as unchanged
         from ledger.imports i where i.id = ? and i.project_id = ?`,
      [importId, projectId],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      importId: r.id, status: r.status, fileName: r.file_name, sha256: r.sha256, mode: r.mode, hostCount: r.host_count,
      counts: {
        hostsCreated: Number(r.created), hostsUpdated: Number(r.updated), hostsUnchanged: Number(r.unchanged),
        portsOpened: r.ports_opened, portsClosed: r.ports_closed, changes: r.changes,
      },
      startedAt: new Date(r.started_at).toISOString(), completedAt: r.completed_at ? new Date(r.completed_at).toISOString() : null, reason: r.reason, deadLettered: r.dead_lettered,
    };
  }

  async list(projectId: string, limit: number): Promise<ImportStatus[]> {
    const rows = await this.orm.em.fork().execute<{ id: string }[]>(`select id from ledger.imports where project_id = ? order by started_at desc limit ?`, [projectId, limit]);
    const out: ImportStatus[] = [];
    for (const r of rows) out.push((await this.status(projectId, r.id))!);
    return out;
  }

  /**
   * Waits until the projector has applied the import (its ImportCompleted) or, with `until: 'seen'`,
   * has recorded it at all (its ImportStarted), or the time is up. An import's events become visible
   * only when its transaction commits, so right after the publish the read model does not know the id
   * yet: answering the upload before it does would send the caller's first status poll to a 404.
   */
  async waitApplied(projectId: string, importId: string, timeoutMs: number, until: 'applied' | 'seen' = 'applied'): Promise<ImportStatus | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.status(projectId, importId);
      if ((s && (until === 'seen' || s.status !== 'applying')) || Date.now() > deadline) return s;
      await new Promise((r) => setTimeout(r, until === 'seen' ? 25 : 100));
    }
  }
}
