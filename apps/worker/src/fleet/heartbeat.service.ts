import { hostname } from 'node:os';
import { Inject, Injectable } from '@nestjs/common';
import type { WorkerHeartbeatV1, WorkerIdentityJson } from '#events';
import { CONFIG, LOGGER, PUBLISHER, type EventPublisher, type JsonLogger } from '#platform';
import { appVersion, discoverEgressIp } from '../identity/worker-identity.js';
import type { NmapInfo } from '../nmap/nmap-probe.js';
import { EmergencyStopListener } from '../control/emergency-stop.listener.js';
import { RunningTasks } from '../run/running-tasks.js';
import { workerEvent } from '../run/worker-events.js';
import type { WorkerEnv } from '../worker.config.js';
import { NMAP, WORKER_ID } from '../worker.tokens.js';

/**
 * Tells the fleet who this worker is and what it runs. Each heartbeat names the running tasks: that
 * is what keeps their leases alive in the tasker's watchdog.
 */
@Injectable()
export class HeartbeatService {
  private timer?: NodeJS.Timeout;
  private egressTimer?: NodeJS.Timeout;
  private identity?: WorkerIdentityJson;

  constructor(
    @Inject(CONFIG) private readonly env: WorkerEnv,
    @Inject(NMAP) private readonly nmap: NmapInfo,
    @Inject(WORKER_ID) private readonly workerId: string,
    @Inject(PUBLISHER) private readonly publisher: EventPublisher,
    @Inject(LOGGER) private readonly logger: JsonLogger,
    private readonly running: RunningTasks,
    private readonly emergencyStop: EmergencyStopListener,
  ) {}

  async start(): Promise<void> {
    this.identity = {
      workerId: this.workerId,
      version: appVersion(),
      hostname: hostname(),
      egressIp: await discoverEgressIp(this.env, this.logger),
      nmapVersion: this.nmap.version,
      privileged: this.nmap.privileged,
      concurrency: this.env.WORKER_CONCURRENCY,
    };
    await this.publisher.publish([workerEvent('WorkerAnnounced', this.workerId, this.identity, this.workerId, this.workerId)]);
    this.timer = setInterval(() => void this.beat(), this.env.WORKER_HEARTBEAT_SECONDS * 1000);
    // The fleet view shows a stop (and its release) at once, not a heartbeat later.
    this.emergencyStop.onChange(() => void this.beat());
    // Egress can change (NAT, VPN); re-asking hourly is plenty for a fleet view.
    if (this.env.WORKER_EGRESS_DISCOVERY_URL && !this.env.WORKER_EGRESS_IP) {
      this.egressTimer = setInterval(() => void discoverEgressIp(this.env, this.logger).then((ip) => ip && this.identity && (this.identity = { ...this.identity, egressIp: ip })), 3600_000);
      this.egressTimer.unref();
    }
    this.logger.info({ msg: 'worker announced', ...this.identity });
  }

  async beat(): Promise<void> {
    if (!this.identity) return;
    const payload: WorkerHeartbeatV1 = { ...this.identity, heartbeatSeconds: this.env.WORKER_HEARTBEAT_SECONDS, running: this.running.heartbeat(), stopped: this.emergencyStop.active };
    await this.publisher.publish([workerEvent('WorkerHeartbeat', this.workerId, payload, this.workerId, this.workerId)]).catch((e) => this.logger.warn({ msg: 'heartbeat not sent', error: (e as Error).message }));
  }

  async stop(reason: string): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.egressTimer);
    await this.publisher.publish([workerEvent('WorkerStopped', this.workerId, { workerId: this.workerId, reason }, this.workerId, this.workerId)]).catch(() => undefined);
  }
}
