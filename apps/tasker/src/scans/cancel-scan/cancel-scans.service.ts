import { randomUUID } from 'node:crypto';
import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { eventCatalogue, type Envelope, type ScanCancelRequestedV1 } from '#events';
import { normalizeIp, type Principal } from '#domain';
import { CONFIG, PUBLISHER, type EventPublisher } from '#platform';
import type { TaskerEnv } from '../../tasker.config.js';
import { ScansReadModel } from '../scan-status/scans.read-model.js';

/** Cancels go through the planner like everything else that changes a task, and are answered once applied. */
@Injectable()
export class CancelScansService {
  constructor(
    @Inject(CONFIG) private readonly config: TaskerEnv,
    @Inject(PUBLISHER) private readonly publisher: EventPublisher,
    private readonly scans: ScansReadModel,
  ) {}

  async cancel(projectId: string, scanId: string | null, rawIps: readonly string[] | undefined, principal: Principal) {
    if (scanId !== null) {
      const row = await this.scans.scanRow(scanId);
      if (!row || row.project_id !== projectId) throw new NotFoundException(`scan ${scanId} not found in this project`);
    }
    let ips: string[] | null = null;
    if (rawIps) {
      const bad = rawIps.filter((ip) => normalizeIp(ip) === null);
      if (bad.length) throw new BadRequestException({ message: 'ips must be IP addresses', errors: bad.slice(0, 100) });
      ips = [...new Set(rawIps.map((ip) => normalizeIp(ip)!))];
    }
    const cancelId = randomUUID();
    const env: Envelope<'ScanCancelRequested', ScanCancelRequestedV1> = {
      eventId: randomUUID(),
      type: 'ScanCancelRequested',
      schemaVersion: eventCatalogue.get('ScanCancelRequested')!.schemaVersion,
      key: projectId,
      occurredAt: new Date().toISOString(),
      correlationId: cancelId,
      causationId: null,
      actor: { kind: principal.kind, id: principal.id, name: principal.username },
      payload: { projectId, cancelId, scanId, ips },
    };
    await this.publisher.publish([env]);
    const until = Date.now() + this.config.TASKER_PLAN_WAIT_MS;
    for (let delay = 10; Date.now() < until; delay = Math.min(200, delay * 2)) {
      const c = await this.scans.cancellation(cancelId);
      if (c) return { cancelId, applied: true, cancelled: c.queued + c.running, queued: c.queued, running: c.running, scanIds: c.scan_ids };
      await new Promise((r) => setTimeout(r, delay));
    }
    return { cancelId, applied: false };
  }
}
