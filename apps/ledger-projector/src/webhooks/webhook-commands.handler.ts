import { randomBytes, randomUUID } from 'node:crypto';
import { HttpException, Injectable } from '@nestjs/common';
import type { Actor } from '#events';
import { AccessCommandsService } from '../access/access-commands.service.js';
import { WebhookStore } from './webhook.store.js';

/** `whsec_` makes a leaked secret recognisable (and the logger redacts it). */
export const newWebhookSecret = (): string => `whsec_${randomBytes(24).toString('base64url')}`;

/**
 * Registration, removal and re-enabling are decided and published as project events (auditable,
 * like members and scope); the secret and delivery state they need are written here, around the event.
 */
@Injectable()
export class WebhookCommandsHandler {
  constructor(
    private readonly commands: AccessCommandsService,
    private readonly store: WebhookStore,
  ) {}

  async register(projectId: string, req: { url: string; events: readonly string[] | null; secret?: string }, actor: Actor): Promise<{ webhookId: string; secret: string }> {
    const webhookId = randomUUID();
    const secret = req.secret ?? newWebhookSecret();
    // The endpoint row exists before the event: a deliverer that sees the webhook always finds its secret.
    await this.store.create(webhookId, projectId, secret);
    try {
      await this.commands.project({ type: 'RegisterWebhook', projectId, webhookId, url: req.url, events: req.events }, actor);
    } catch (e) {
      // Refused: nothing was published. Any other failure may have published; the sweep collects true orphans.
      if (e instanceof HttpException) await this.store.forget(webhookId).catch(() => undefined);
      throw e;
    }
    return { webhookId, secret };
  }

  async remove(projectId: string, webhookId: string, actor: Actor): Promise<void> {
    await this.commands.project({ type: 'RemoveWebhook', projectId, webhookId }, actor);
    await this.store.forget(webhookId);
  }

  async enable(projectId: string, webhookId: string, actor: Actor): Promise<void> {
    // Reset first: once the event is applied the deliverer must not count the old failures again.
    await this.store.resetFailures(projectId, webhookId);
    await this.commands.project({ type: 'EnableWebhook', projectId, webhookId }, actor);
  }
}
