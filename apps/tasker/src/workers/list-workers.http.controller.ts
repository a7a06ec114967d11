import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Principal } from '#domain';
import { Access, ACCESS_VIEW, CurrentPrincipal, type AccessView } from '#platform';
import { EmergencyStopView } from '../emergency-stop/emergency-stop.view.js';
import { stopJson } from '../emergency-stop/emergency-stop.service.js';
import { FleetView } from './fleet.view.js';

@ApiTags('workers')
@ApiBearerAuth()
@Controller('workers')
export class ListWorkersHttpController {
  constructor(
    private readonly fleet: FleetView,
    @Inject(ACCESS_VIEW) private readonly view: AccessView,
    private readonly emergencyStop: EmergencyStopView,
  ) {}

  /**
   * Workers heard from recently. What a worker is running is shown only for projects the caller can
   * see (the reference showed every project's targets to everyone); the rest is a count.
   */
  @Get()
  @Access('workers.read')
  list(@CurrentPrincipal() p: Principal) {
    const now = Date.now();
    const visible = (projectId: string) => p.admin || this.view.roleOf(projectId, p.id) !== null;
    return {
      items: this.fleet.alive(now).map((m) => {
        const mine = m.running.filter((t) => visible(t.projectId));
        return {
          workerId: m.identity.workerId,
          version: m.identity.version,
          hostname: m.identity.hostname,
          egressIp: m.identity.egressIp,
          nmapVersion: m.identity.nmapVersion,
          privileged: m.identity.privileged,
          concurrency: m.identity.concurrency,
          lastSeen: new Date(m.lastSeen).toISOString(),
          secondsSinceSeen: Math.max(0, Math.round((now - m.lastSeen) / 1000)),
          status: m.stopped ? 'stopped' : m.running.length ? 'busy' : 'idle',
          currentTask: mine[0]?.taskId ?? null,
          running: mine.map((t) => ({ ...t, elapsedSeconds: Math.max(0, Math.round((now - Date.parse(t.startedAt)) / 1000)) })),
          otherTasks: m.running.length - mine.length,
        };
      }),
      nextCursor: null,
      emergencyStop: (({ history: _h, ...s }) => s)(stopJson(this.emergencyStop.state)),
    };
  }
}
