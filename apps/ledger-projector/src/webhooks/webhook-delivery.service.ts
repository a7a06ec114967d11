import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Actor } from '#events';
import { retryDelayMs, shouldDisableWebhook, signWebhookBody, webhookWants, WEBHOOK_HEADERS } from '#domain';
import { ACCESS_VIEW, CONFIG, LOGGER, ORM, type AccessView, type JsonLogger, type WebhookRecord } from '#platform';
import { AccessCommandsService } from '../access/access-commands.service.js';
import { readChangeFeed, type FeedChange } from '../audit/change-feed.js';
import type { LedgerEnv } from '../ledger.config.js';
import { WebhookStore } from './webhook.store.js';

export const WEBHOOK_ACTOR: Actor = { kind: 'system', id: 'ledger-webhooks', name: 'webhook deliverer' };

/** What a receiver gets: the same entries, ids and shape as the SSE feed, plus who it is for. */
export interface WebhookBody {
  readonly deliveryId: string;
  readonly webhookId: string;
  readonly projectId: string;
  readonly changes: readonly FeedChange[];
}

export interface PostOutcome {
  readonly ok: boolean;
  readonly status: number | null;
  readonly error: string | null;
}

/** One POST. Redirects are not followed: the registered URL is the only place a signed body goes. */
export async function postDelivery(url: string, body: string, headers: Record<string, string>, timeoutMs: number, stop: AbortSignal): Promise<PostOutcome> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'falcoria-webhooks/1', ...headers },
      body,
      redirect: 'manual',
      signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]),
    });
    await res.body?.cancel().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, error: null };
    return { ok: false, status: res.status, error: res.status >= 300 && res.status < 400 ? `HTTP ${res.status} (redirects are not followed)` : `HTTP ${res.status}` };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    if (err.name === 'TimeoutError') return { ok: false, status: null, error: `no answer within ${timeoutMs} ms` };
    return { ok: false, status: null, error: String(err.cause?.code ?? err.cause?.message ?? err.message).slice(0, 500) };
  }
}

type Step = 'idle' | 'progress' | 'waiting' | 'busy' | 'failed' | 'disable';

/**
 * Delivers each active webhook's changes in order, one batch in flight per webhook. Every instance
 * runs this; a webhook's endpoint row is locked (`for update skip locked`) for the duration of an
 * attempt, so two instances never deliver to the same webhook at once. A batch gets its delivery id
 * (committed) before the first attempt, so every retry — also after a crash — carries the same id
 * and the same body: at-least-once, deduplicable by the receiver.
 */
@Injectable()
export class WebhookDeliveryService implements OnApplicationBootstrap, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly stop = new AbortController();
  private lastSweep = Date.now();
  private readonly missing = new Set<string>();

  constructor(
    @Inject(CONFIG) private readonly config: LedgerEnv,
    @Inject(ORM) private readonly orm: MikroORM,
    @Inject(ACCESS_VIEW) private readonly view: AccessView,
    @Inject(LOGGER) private readonly logger: JsonLogger,
    private readonly store: WebhookStore,
    private readonly commands: AccessCommandsService,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  async onModuleDestroy(): Promise<void> {
    clearTimeout(this.timer);
    this.stop.abort();
    // An attempt cut short rolls back and is retried later under the same delivery id.
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private schedule(): void {
    if (this.stop.signal.aborted) return;
    this.timer = setTimeout(() => {
      this.tick();
      this.schedule();
    }, this.config.WEBHOOK_POLL_MS);
    this.timer.unref();
  }

  /** Starts work for active webhooks that have none running here, up to the concurrency limit. */
  tick(): void {
    for (const p of this.view.projects()) {
      for (const w of p.webhooks.values()) {
        if (w.status !== 'active' || this.inFlight.has(w.webhookId)) continue;
        if (this.inFlight.size >= this.config.WEBHOOK_CONCURRENCY) return;
        const run = this.drain(p.projectId, w).finally(() => this.inFlight.delete(w.webhookId));
        this.inFlight.set(w.webhookId, run);
      }
    }
    if (Date.now() - this.lastSweep > 60000) {
      this.lastSweep = Date.now();
      void this.sweep().catch((e) => this.logger.warn({ msg: 'webhook sweep failed', error: (e as Error).message }));
    }
  }

  /** Delivers batches while there are more, a bounded number per tick so other webhooks get their turn. */
  private async drain(projectId: string, w: WebhookRecord): Promise<void> {
    try {
      for (let i = 0; i < 20 && !this.stop.signal.aborted; i++) {
        const now = this.view.project(projectId)?.webhooks.get(w.webhookId);
        if (now?.status !== 'active') return;
        const step = await this.deliverNext(projectId, w);
        if (step !== 'progress') return;
      }
    } catch (e) {
      if (!this.stop.signal.aborted) this.logger.warn({ msg: 'webhook delivery step failed', webhookId: w.webhookId, error: (e as Error).message });
    }
  }

  /** One step for one webhook: prepare the next batch, or attempt the batch in flight if it is due. */
  async deliverNext(projectId: string, w: WebhookRecord): Promise<Step> {
    const prepared = await this.prepare(projectId, w);
    if (prepared === 'disable') {
      await this.disable(projectId, w.webhookId);
      return 'disable';
    }
    if (prepared !== 'due') return prepared;
    const outcome = await this.attempt(projectId, w);
    if (outcome === 'disable') await this.disable(projectId, w.webhookId);
    return outcome;
  }

  private async prepare(projectId: string, w: WebhookRecord): Promise<Step | 'due'> {
    return this.orm.em.fork().transactional(async (tx) => {
      const e = await this.store.lock(tx, w.webhookId);
      if (!e) {
        if (!(await this.store.state(w.webhookId)) && !this.missing.has(w.webhookId)) {
          this.missing.add(w.webhookId);
          this.logger.warn({ msg: 'webhook has no endpoint row (secret lost?); remove and add it again', webhookId: w.webhookId, projectId });
        }
        return 'busy';
      }
      if (shouldDisableWebhook(e.consecutiveFailures, this.config.WEBHOOK_MAX_FAILURES)) return 'disable';
      if (e.deliveryId) return e.due ? 'due' : 'waiting';
      const batch = await readChangeFeed(tx, projectId, e.cursor, { limit: this.config.WEBHOOK_BATCH_SIZE });
      if (!batch.length) return 'idle';
      const last = batch[batch.length - 1].id;
      // Changes the filter leaves out are passed over, so the cursor never waits on them.
      if (!batch.some((c) => webhookWants(w.events, c.field))) {
        await this.store.advanceCursor(tx, w.webhookId, last);
        return 'progress';
      }
      await this.store.openDelivery(tx, w.webhookId, randomUUID(), last);
      return 'due';
    });
  }

  private async attempt(projectId: string, w: WebhookRecord): Promise<Step> {
    return this.orm.em.fork().transactional(async (tx) => {
      const e = await this.store.lock(tx, w.webhookId);
      if (!e || !e.deliveryId || !e.deliveryLastId || !e.due) return 'busy';
      const changes = (await readChangeFeed(tx, projectId, e.cursor, { limit: 1000, upTo: e.deliveryLastId })).filter((c) => webhookWants(w.events, c.field));
      const raw = JSON.stringify({ deliveryId: e.deliveryId, webhookId: w.webhookId, projectId, changes } satisfies WebhookBody);
      const attempt = e.attempt + 1;
      const attemptedAt = new Date();
      const t0 = performance.now();
      const out = await postDelivery(
        w.url,
        raw,
        {
          [WEBHOOK_HEADERS.signature]: signWebhookBody(e.secret, raw),
          [WEBHOOK_HEADERS.delivery]: e.deliveryId,
          [WEBHOOK_HEADERS.timestamp]: String(Math.floor(attemptedAt.getTime() / 1000)),
        },
        this.config.WEBHOOK_TIMEOUT_MS,
        this.stop.signal,
      );
      // Shutting down mid-attempt: roll back, so the attempt is made again (same id) rather than counted.
      if (this.stop.signal.aborted) throw new Error('stopping');
      const failures = out.ok ? 0 : e.consecutiveFailures + 1;
      const disabling = !out.ok && shouldDisableWebhook(failures, this.config.WEBHOOK_MAX_FAILURES);
      await this.store.recordAttempt(tx, {
        webhookId: w.webhookId,
        deliveryId: e.deliveryId,
        attempt,
        changeIds: changes.map((c) => c.id),
        ok: out.ok,
        httpStatus: out.status,
        error: out.error,
        durationMs: Math.round(performance.now() - t0),
        attemptedAt,
        retryInMs: out.ok || disabling ? null : retryDelayMs(attempt, { baseMs: this.config.WEBHOOK_RETRY_BASE_MS, maxMs: this.config.WEBHOOK_RETRY_MAX_MS }),
        deliveryLastId: e.deliveryLastId,
        keepLog: this.config.WEBHOOK_LOG_KEEP,
      });
      if (!out.ok) this.logger.warn({ msg: 'webhook delivery failed', webhookId: w.webhookId, projectId, deliveryId: e.deliveryId, attempt, error: out.error });
      return out.ok ? 'progress' : disabling ? 'disable' : 'failed';
    });
  }

  /** Disabling is an event (system actor), so it shows in the project's history and in every instance's view. */
  private async disable(projectId: string, webhookId: string): Promise<void> {
    const e = await this.store.state(webhookId);
    if (!e || !shouldDisableWebhook(e.consecutiveFailures, this.config.WEBHOOK_MAX_FAILURES)) return;
    try {
      await this.commands.project(
        { type: 'DisableWebhook', projectId, webhookId, reason: `${e.consecutiveFailures} consecutive failed deliveries; last: ${e.lastError ?? 'unknown'}`, consecutiveFailures: e.consecutiveFailures },
        WEBHOOK_ACTOR,
      );
      this.logger.warn({ msg: 'webhook disabled after repeated failures', webhookId, projectId, failures: e.consecutiveFailures });
    } catch (err) {
      // Tried again on the next tick: the failure count stays at or above the limit until then.
      this.logger.warn({ msg: 'could not disable webhook', webhookId, error: (err as Error).message });
    }
  }

  private async sweep(): Promise<void> {
    await this.view.catchUp();
    const live = this.view.projects().flatMap((p) => [...p.webhooks.keys()]);
    const n = await this.store.sweep(live, 10 * 60000);
    if (n) this.logger.info({ msg: 'webhook endpoints of removed webhooks deleted', count: n });
  }
}
