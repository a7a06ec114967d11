import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import type { HostObservedV1, NmapHost, NmapRunMeta, TaskCompletedV1, TaskFailedV1, TaskFailureReason, TaskOfferedV1, TaskTimingsJson } from '#events';
import {
  adaptToPrivileges,
  addressesOf,
  capScanRate,
  buildOpenPortsArgv,
  buildServicesArgv,
  configForShard,
  mergePhases,
  parseNmapReport,
  portsForServices,
  taskCoverage,
  validateScanConfig,
  type ScanConfig,
} from '#domain';
import { CONFIG, LOGGER, PUBLISHER, type EventPublisher, type JsonLogger } from '#platform';
import { NMAP, WORKER_ID } from '../worker.tokens.js';
import type { WorkerEnv } from '../worker.config.js';
import type { NmapInfo } from '../nmap/nmap-probe.js';
import { runNmap, type NmapLauncher, type NmapRun } from './nmap-process.js';
import { RunningTasks, type ActiveRun } from './running-tasks.js';
import { workerEvent } from './worker-events.js';

class TaskFailure extends Error {
  constructor(
    readonly reason: TaskFailureReason,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

type Timings = { receivedAt: number; firstNmapAt?: number; runs: { phase: 'open-ports' | 'services'; ip: string; startedAt: number; exitedAt: number; publishedAt?: number }[] } & TaskTimingsJson;

async function readReport(path: string): Promise<{ meta?: NmapRunMeta; hosts: NmapHost[] }> {
  const hosts: NmapHost[] = [];
  let meta: NmapRunMeta | undefined;
  for await (const e of parseNmapReport(createReadStream(path), { source: 'nmap output' })) {
    if (e.kind === 'host') hosts.push(e.host);
    else meta = e.meta;
  }
  return { meta, hosts };
}

/**
 * Runs one leased task: each address in turn, phase 1 (open ports), then phase 2 (services) on what
 * phase 1 found open, each under its own deadline. A host's observation goes to the ledger as soon
 * as it exists; the task's outcome goes to the scans topic at the end.
 */
@Injectable()
export class TaskRunner {
  private readonly launcher: NmapLauncher;

  constructor(
    @Inject(CONFIG) private readonly env: WorkerEnv,
    @Inject(NMAP) private readonly nmap: NmapInfo & { pdeathsig: boolean },
    @Inject(WORKER_ID) private readonly workerId: string,
    @Inject(PUBLISHER) private readonly publisher: EventPublisher,
    @Inject(LOGGER) private readonly logger: JsonLogger,
    private readonly running: RunningTasks,
  ) {
    this.launcher = { nmapPath: nmap.path, pdeathsig: nmap.pdeathsig, killGraceMs: env.WORKER_KILL_GRACE_MS };
  }

  /** Starts the run in the background; the returned promise settles when the outcome is published. */
  start(offer: TaskOfferedV1, receivedAt: number): ActiveRun {
    const controller = new AbortController();
    let run!: ActiveRun;
    const done = Promise.resolve()
      .then(() => this.execute(run, receivedAt))
      .catch((e) => this.logger.error({ msg: 'task runner crashed', taskId: offer.taskId, error: (e as Error).message }))
      .finally(() => this.running.remove(offer.taskId, run));
    run = { offer, startedAt: new Date().toISOString(), currentIp: null, controller, stopReason: null, done };
    this.running.add(offer.taskId, run);
    return run;
  }

  private ref(o: TaskOfferedV1) {
    return { projectId: o.projectId, scanId: o.scanId, taskId: o.taskId, attempt: o.attempt, workerId: this.workerId };
  }

  private async execute(run: ActiveRun, receivedAt: number): Promise<void> {
    const o = run.offer;
    const t0 = Date.now();
    const timings: Timings = { receivedAt, runs: [] };
    let hostsUp = 0;
    let hostsDown = 0;
    let dir: string | undefined;
    try {
      const v = validateScanConfig(o.config);
      if (!v.ok) throw new TaskFailure('invalid_task', `invalid config: ${v.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, false);
      // A coverage-dedup task may run only some of the scan's protocols; its shard says which.
      const own = configForShard(v.config, o.shard);
      if (!own) throw new TaskFailure('invalid_task', 'the task names no protocol of its config', false);
      const cap = adaptToPrivileges(own, this.nmap.privileged);
      // Another worker may have the privileges this one lacks.
      if (!cap.ok) throw new TaskFailure('unprivileged', cap.message, true);
      if (cap.note) this.logger.info({ msg: cap.note, taskId: o.taskId });
      // The task's share of its project's rate budget, decided by the planner for this offer.
      const config = capScanRate(cap.config, o.limits?.maxRate);
      dir = await mkdtemp(join(this.env.WORKER_TMP_DIR ?? tmpdir(), 'falcoria-'));
      let n = 0;
      for (const ip of addressesOf(o.ranges)) {
        this.checkStopped(run);
        run.currentIp = ip;
        const up = await this.scanHost(run, config, ip, join(dir, `${n++}`), timings);
        if (up) hostsUp++;
        else hostsDown++;
      }
      const payload: TaskCompletedV1 = { ...this.ref(o), hostsUp, hostsDown, durationMs: Date.now() - t0, timings };
      await this.publisher.publish([workerEvent('TaskCompleted', o.projectId, payload, this.workerId, o.scanId)]);
      this.logger.info({ msg: 'task completed', taskId: o.taskId, attempt: o.attempt, hostsUp, hostsDown, ms: payload.durationMs });
    } catch (e) {
      const f =
        e instanceof TaskFailure
          ? e
          : run.stopReason
            ? this.stopFailure(run)
            : new TaskFailure('internal', (e as Error).message, true);
      const payload: TaskFailedV1 = { ...this.ref(o), reason: f.reason, message: f.message.slice(0, 2000), retryable: f.retryable, hostsUp };
      await this.publisher.publish([workerEvent('TaskFailed', o.projectId, payload, this.workerId, o.scanId)]);
      this.logger.warn({ msg: 'task failed', taskId: o.taskId, attempt: o.attempt, reason: f.reason, error: f.message.slice(0, 500) });
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  private stopFailure(run: ActiveRun): TaskFailure {
    const r = run.stopReason!;
    if (r === 'worker_shutdown') return new TaskFailure('worker_shutdown', 'the worker is shutting down', true);
    if (r === 'interrupted') return new TaskFailure('interrupted', 'emergency stop: nmap was killed; the task runs again after the release', true);
    return new TaskFailure(r, r === 'cancelled' ? 'cancelled' : 'revoked by the planner (the task moved on)', false);
  }

  private checkStopped(run: ActiveRun): void {
    if (run.stopReason) throw this.stopFailure(run);
  }

  private async nmapPhase(run: ActiveRun, phase: 'open-ports' | 'services', ip: string, argv: string[], timeoutSeconds: number, out: string, timings: Timings): Promise<{ meta?: NmapRunMeta; host?: NmapHost }> {
    const r: NmapRun = await runNmap(this.launcher, argv, timeoutSeconds * 1000, run.controller.signal);
    timings.firstNmapAt ??= r.startedAt;
    timings.runs.push({ phase, ip, startedAt: r.startedAt, exitedAt: r.exitedAt });
    if (r.aborted) throw this.stopFailure(run);
    if (r.timedOut) throw new TaskFailure('timeout', `${phase} phase of ${ip} did not finish within ${timeoutSeconds} s; nmap was stopped`, true);
    if (r.exitCode !== 0) throw new TaskFailure('nmap_error', `${phase} phase of ${ip}: nmap exited with ${r.exitCode ?? r.signal}: ${r.stderr.trim().slice(-500)}`, true);
    try {
      const { meta, hosts } = await readReport(out);
      return { meta, host: hosts.find((h) => h.ip === ip) };
    } catch (e) {
      throw new TaskFailure('parse_error', `${phase} phase of ${ip}: unreadable nmap output: ${(e as Error).message}`, true);
    }
  }

  /** Returns whether the host was up (and so observed). */
  private async scanHost(run: ActiveRun, config: ScanConfig, ip: string, base: string, timings: Timings): Promise<boolean> {
    const o = run.offer;
    const p1 = await this.nmapPhase(run, 'open-ports', ip, buildOpenPortsArgv(config, { ip, ports: o.shard.ports }, `${base}-open.xml`), config.openPorts.timeoutSeconds, `${base}-open.xml`, timings);
    if (!p1.host || p1.host.status?.state === 'down') return false;
    const ports = portsForServices(p1.host);
    let p2: NmapHost | undefined;
    let phase2Failure: TaskFailure | undefined;
    if (config.services && ports.length) {
      try {
        p2 = (await this.nmapPhase(run, 'services', ip, buildServicesArgv(config, { ip }, ports, `${base}-services.xml`), config.services.timeoutSeconds, `${base}-services.xml`, timings)).host;
      } catch (e) {
        if (!(e instanceof TaskFailure) || run.stopReason) throw e;
        // What phase 1 found is still true: it goes to the ledger, and the task fails with the reason.
        phase2Failure = e;
      }
    }
    this.checkStopped(run);
    const observation: HostObservedV1 = {
      projectId: o.projectId,
      mode: o.importMode,
      trackHistory: true,
      source: { kind: 'task', taskId: o.taskId, scanId: o.scanId, workerId: this.workerId },
      run: { scanner: 'nmap', version: p1.meta?.version ?? this.nmap.version, args: p1.meta?.args },
      coverage: taskCoverage(config, o.shard, p1.meta),
      observedAt: new Date().toISOString(),
      host: mergePhases(p1.host, p2, o.hostnames[ip] ?? []),
    };
    await this.publisher.publish([workerEvent('HostObserved', o.projectId, observation, this.workerId, o.scanId)]);
    timings.runs[timings.runs.length - 1].publishedAt = Date.now();
    if (phase2Failure) throw phase2Failure;
    return true;
  }
}
