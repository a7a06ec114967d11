import { Body, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Principal } from '#domain';
import { Access, ACCESS_VIEW, CurrentPrincipal, type AccessView, type WebhookRecord } from '#platform';
import { actorOf } from '../access/access-commands.service.js';
import { WebhookCommandsHandler } from './webhook-commands.handler.js';
import { WebhookStore, type EndpointState } from './webhook.store.js';
import { CreateWebhookRequestDto, DeliveriesQueryDto } from './webhooks.request.dto.js';

/** A webhook as callers see it: registration from the log, delivery state from PostgreSQL, never the secret. */
function show(w: WebhookRecord, e: EndpointState | undefined) {
  return {
    id: w.webhookId,
    url: w.url,
    events: w.events,
    status: w.status,
    disabledReason: w.disabledReason,
    statusChangedAt: w.statusChangedAt,
    createdAt: w.createdAt,
    createdBy: { kind: w.createdBy.kind, id: w.createdBy.id, name: w.createdBy.name ?? null },
    consecutiveFailures: e?.consecutiveFailures ?? 0,
    /** Id of the last change handled: the SSE feed's `after=` for "what this webhook has not had yet". */
    cursor: e?.cursor ?? null,
    pending: e?.deliveryId ? { deliveryId: e.deliveryId, attempts: e.attempt, lastChangeId: e.deliveryLastId, nextRetryAt: e.nextAttemptAt } : null,
    lastDelivery: e?.lastAttemptAt
      ? { at: e.lastAttemptAt, ok: e.lastError === null, httpStatus: e.lastStatus, error: e.lastError, durationMs: e.lastDurationMs }
      : null,
    lastSuccessAt: e?.lastSuccessAt ?? null,
  };
}

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('projects/:projectId/webhooks')
export class WebhooksHttpController {
  constructor(
    private readonly handler: WebhookCommandsHandler,
    private readonly store: WebhookStore,
    @Inject(ACCESS_VIEW) private readonly view: AccessView,
  ) {}

  private webhook(projectId: string, webhookId: string): WebhookRecord {
    const w = this.view.project(projectId)?.webhooks.get(webhookId);
    if (!w) throw new NotFoundException(`webhook ${webhookId} not found`);
    return w;
  }

  /** The answer carries the secret, this once; it is never shown again. */
  @Post()
  @Access('webhooks.manage', { projectParam: 'projectId' })
  async create(@Param('projectId') projectId: string, @Body() dto: CreateWebhookRequestDto, @CurrentPrincipal() p: Principal) {
    const { webhookId, secret } = await this.handler.register(projectId, { url: dto.url, events: dto.events ?? null, secret: dto.secret }, actorOf(p));
    return { ...show(this.webhook(projectId, webhookId), (await this.store.state(webhookId)) ?? undefined), secret };
  }

  @Get()
  @Access('webhooks.read', { projectParam: 'projectId' })
  async list(@Param('projectId') projectId: string) {
    const states = await this.store.states(projectId);
    const hooks = [...(this.view.project(projectId)?.webhooks.values() ?? [])].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    return { items: hooks.map((w) => show(w, states.get(w.webhookId))) };
  }

  @Delete(':webhookId')
  @Access('webhooks.manage', { projectParam: 'projectId' })
  @HttpCode(204)
  async remove(@Param('projectId') projectId: string, @Param('webhookId') webhookId: string, @CurrentPrincipal() p: Principal) {
    await this.handler.remove(projectId, webhookId, actorOf(p));
  }

  /** Re-enables a disabled webhook (or retries an active one's pending delivery now); delivery resumes at its cursor. */
  @Post(':webhookId/enable')
  @Access('webhooks.manage', { projectParam: 'projectId' })
  @HttpCode(200)
  async enable(@Param('projectId') projectId: string, @Param('webhookId') webhookId: string, @CurrentPrincipal() p: Principal) {
    this.webhook(projectId, webhookId);
    await this.handler.enable(projectId, webhookId, actorOf(p));
    return show(this.webhook(projectId, webhookId), (await this.store.state(webhookId)) ?? undefined);
  }

  /** The delivery log, newest attempt first. */
  @Get(':webhookId/deliveries')
  @Access('webhooks.read', { projectParam: 'projectId' })
  async deliveries(@Param('projectId') projectId: string, @Param('webhookId') webhookId: string, @Query() q: DeliveriesQueryDto) {
    this.webhook(projectId, webhookId);
    const items = await this.store.log(webhookId, q.limit ?? 50);
    return { items: items.map(({ ok, ...rest }) => ({ outcome: ok ? 'delivered' : 'failed', ...rest })) };
  }
}
