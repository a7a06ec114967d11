import { randomBytes, randomUUID } from 'node:crypto';
import { BadRequestException, ConflictException, HttpException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Actor } from '#events';
import { decideIdentity, decideProject, type IdentityCommand, type IdentityDecision, type Principal, type ProjectCommand } from '#domain';
import { ACCESS_VIEW, ORM, PUBLISHER, withCommandLock, type AccessView, type EventPublisher } from '#platform';

export const actorOf = (p: Principal): Actor => ({ kind: p.kind, id: p.id, name: p.username });

/** Domain error codes map to HTTP here, at the edge: missing → 404, conflicts → 409, the rest → 400. */
export function httpError(code: string, message: string): HttpException {
  if (/NOT_FOUND$/.test(code)) return new NotFoundException(message);
  if (/(TAKEN|LAST_OWNER|LAST_ADMIN|ADMIN_EXISTS|COLLISION)$/.test(code)) return new ConflictException(message);
  return new BadRequestException(message);
}

/**
 * The write side of identity and projects. One command at a time per stream across all
 * instances (advisory lock), decided on a view that has caught up with the log, and answered
 * only once this instance's view shows the result (read-your-writes).
 */
@Injectable()
export class AccessCommandsService {
  constructor(
    @Inject(ACCESS_VIEW) private readonly view: AccessView,
    @Inject(PUBLISHER) private readonly publisher: EventPublisher,
    @Inject(ORM) private readonly orm: MikroORM,
  ) {}

  async identity(cmd: IdentityCommand): Promise<Extract<IdentityDecision, { ok: true }>> {
    return withCommandLock(this.orm, 'identity', async () => {
      await this.view.catchUp();
      const d = decideIdentity(cmd, this.view.identity, { now: new Date(), newId: randomUUID, randomBytes: (n) => randomBytes(n) });
      if (!d.ok) throw httpError(d.error.code, d.error.message);
      await this.publisher.publish(d.events);
      await this.view.waitForEvents(d.events.map((e) => e.eventId));
      return d;
    });
  }

  async project(cmd: ProjectCommand, actor: Actor): Promise<void> {
    await withCommandLock(this.orm, 'projects', async () => {
      await this.view.catchUp();
      const world = {
        project: (id: string) => this.view.project(id),
        projectByName: (n: string) => this.view.projectByName(n),
        userExists: (id: string) => this.view.identity.users.get(id)?.status === 'active',
      };
      const d = decideProject(cmd, world, { now: new Date(), newId: randomUUID, actor, correlationId: randomUUID() });
      if (!d.ok) throw httpError(d.code, d.message);
      await this.publisher.publish(d.events);
      await this.view.waitForEvents(d.events.map((e) => e.eventId));
    });
  }
}
