// The fault scenarios of issue #9. Each one sets its world up once (database, topic prefix, apps),
// then runs rounds: a fresh project and a known expected set, the fault at a moment the round's
// seeded generator picks, a bounded wait for quiescence, and the accounting.
import { randomUUID } from 'node:crypto';
import { Topics } from '#events';
import { api, sleep } from '../scan-harness.js';
import { until } from './audit.js';
import { nmapProcessesFor } from './chaos-stack.js';
import type { App } from './fleet.js';
import type { Rng } from './rng.js';
import {
  finishImport,
  finishScan,
  postImport,
  RERUN_BOUND_S,
  scanStatus,
  startScan,
  syntheticReport,
  TASKER_FAST_LEASES,
  WORKER_FAST,
  type RoundResult,
  type SuiteContext,
  World,
} from './world.js';

export interface Scenario {
  readonly name: string;
  readonly title: string;
  setup(ctx: SuiteContext): Promise<World>;
  round(world: World, r: number, rng: Rng, round: RoundResult): Promise<void>;
}

const hostsBase = (scenarioIndex: number, r: number) => `127.${60 + scenarioIndex}.${r % 250}`;

/** Stops a broker at the moment chosen, keeps it down a while, starts it again. */
async function bounceBroker(world: World, rng: Rng, round: RoundResult): Promise<void> {
  const stack = world.ctx.stack;
  const node = rng.int(1, stack.nodes);
  const how = rng.pick(['kill', 'term'] as const);
  const downMs = Math.round(rng.between(1000, 8000));
  const t0 = Date.now();
  await stack.stopBroker(node, how);
  await sleep(downMs);
  await stack.startBroker(node);
  round.notes.push(`broker ${node} ${how === 'kill' ? 'SIGKILLed' : 'stopped'}, down ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  round.metrics.brokerDownSeconds = (Date.now() - t0) / 1000;
}

// ---------------------------------------------------------------------------------------------

const workerKill: Scenario = {
  name: 'worker-kill',
  title: 'a worker SIGKILLed mid-scan',
  async setup(ctx) {
    const w = await World.create(ctx, this.name);
    await w.want('ledger', 1);
    await w.want('tasker', 1, TASKER_FAST_LEASES);
    await w.want('worker', 2, WORKER_FAST);
    return w;
  },
  async round(world, r, rng, round) {
    const sr = await startScan(world, rng, `chaos-worker-kill-${r}`, hostsBase(0, r), 6);
    await sleep(rng.between(500, 6000));
    // The victim: a worker running a task of this scan at that moment.
    const running = await until('a task of the scan to run', 60000, 100, async () => {
      const s = await scanStatus(world, sr);
      const live = new Set(world.fleet.live('worker').map((a) => a.name));
      const mine = (s.running as { workerId: string; taskId: string; ip: string; attempt: number }[]).filter((x) => live.has(x.workerId));
      return mine.length ? mine : s.status === 'done' ? [] : undefined;
    });
    if (!running.length) {
      round.notes.push('the scan ended before the fault');
      await finishScan(world, sr, round, 180000);
      return;
    }
    const victimName = rng.pick([...new Set(running.map((x) => x.workerId))]);
    const victim = world.fleet.live('worker').find((a) => a.name === victimName)!;
    const held = running.filter((x) => x.workerId === victimName);
    const killedAt = Date.now();
    await world.fleet.kill(victim, 'SIGKILL');
    // nmap runs under --pdeathsig: the kernel ends it with its worker.
    const ips = new Set(sr.targets.hosts);
    await until('nmap to die with its worker', 10000, 100, async () => (nmapProcessesFor(new Set(held.map((h) => h.ip))).length === 0 ? true : undefined)).catch(() =>
      round.failed.push(`nmap outlived its SIGKILLed worker: ${nmapProcessesFor(ips).join(' | ')}`),
    );
    // A replacement joins, as an operator or a supervisor would start one.
    await world.fleet.start('worker', world.extraOf('worker'));
    const events = await finishScan(world, sr, round, 240000);
    for (const h of held) {
      const done = events.some((e) => e.type === 'TaskCompleted' && e.payload.taskId === h.taskId && e.payload.attempt === h.attempt);
      if (done) continue; // it finished just before the kill
      const rerun = events.filter((e) => e.type === 'TaskStarted' && e.payload.taskId === h.taskId && e.payload.attempt > h.attempt);
      if (!rerun.length) {
        round.failed.push(`task ${h.taskId.slice(0, 8)} of the killed worker never started again`);
        continue;
      }
      const after = (Date.parse(rerun[0].occurredAt) - killedAt) / 1000;
      round.metrics.rerunSeconds = Math.max(round.metrics.rerunSeconds ?? 0, after);
      if (rerun[0].payload.workerId === victimName) round.failed.push(`task ${h.taskId.slice(0, 8)} re-ran on the dead worker's name`);
      if (after > RERUN_BOUND_S) round.failed.push(`task ${h.taskId.slice(0, 8)} re-ran after ${after.toFixed(0)} s (bound ${RERUN_BOUND_S} s)`);
    }
    round.metrics.killedTasks = held.length;
  },
};

// ---------------------------------------------------------------------------------------------

/** Imports `hosts` synthetic hosts without waiting, then calls `fault` once the projector has applied `fraction` of them. */
async function importWithFaultMidProjection(world: World, rng: Rng, r: number, round: RoundResult, hosts: number, fault: (applied: number) => Promise<void>): Promise<{ projectId: string; expected: Set<string> }> {
  const projectId = await world.createProject(`chaos-${world.scenario}-${r}`, ['10.0.0.0/8']);
  const { xml, expected } = await syntheticReport(hosts);
  const posted = await postImport(world.ledgerUrl(), world.token, projectId, xml, { mode: 'update' }, 120000);
  if (posted.status !== 202) throw new Error(`import answered ${posted.status}: ${JSON.stringify(posted.body).slice(0, 300)}`);
  const target = Math.ceil(rng.between(0.05, 0.95) * hosts);
  const applied = await until('the projector to reach the fault moment', 180000, 20, async () => {
    const [row] = await world.audit.db.query<{ n: string }>(`select count(*) as n from ledger.host_events where project_id = ?`, [projectId]);
    return Number(row.n) >= target ? Number(row.n) : undefined;
  });
  await fault(applied);
  if (applied >= hosts) round.notes.push('the fault came after the last batch');
  round.metrics.appliedAtFault = applied / hosts;
  return { projectId, expected };
}

async function waitImportsDone(world: World, projectId: string, timeoutMs: number): Promise<void> {
  await until('the import to complete', timeoutMs, 250, async () => {
    const rows = await world.audit.imports(projectId);
    return rows.length && rows.every((i) => i.status !== 'applying') ? true : undefined;
  });
}

const PROJECTION_HOSTS = 500;

const projectorKill: Scenario = {
  name: 'projector-kill',
  title: 'the ledger projector SIGKILLed mid-batch',
  async setup(ctx) {
    const w = await World.create(ctx, this.name);
    await w.want('ledger', 1, { LEDGER_BATCH_SIZE: '25' });
    return w;
  },
  async round(world, r, rng, round) {
    const { projectId, expected } = await importWithFaultMidProjection(world, rng, r, round, PROJECTION_HOSTS, async () => {
      const [victim] = world.fleet.live('ledger');
      await world.fleet.kill(victim, 'SIGKILL');
      await world.fleet.restart(victim);
    });
    await waitImportsDone(world, projectId, 180000).catch((e) => round.failed.push((e as Error).message));
    await finishImport(world, projectId, expected, round);
    await world.checksumMatchesRebuild(round);
  },
};

const pgRestart: Scenario = {
  name: 'pg-restart',
  title: 'PostgreSQL stopped and restarted during projection',
  async setup(ctx) {
    const w = await World.create(ctx, this.name);
    await w.want('ledger', 1, { LEDGER_BATCH_SIZE: '25' });
    await w.want('tasker', 1, TASKER_FAST_LEASES);
    await w.want('worker', 2, WORKER_FAST);
    return w;
  },
  async round(world, r, rng, round) {
    // A scan runs meanwhile: the tasker's planner projects into the same database.
    const sr = await startScan(world, rng, `chaos-pg-restart-scan-${r}`, hostsBase(4, r), 4);
    const { projectId, expected } = await importWithFaultMidProjection(world, rng, r, round, PROJECTION_HOSTS, async () => {
      const mode = rng.pick(['fast', 'immediate'] as const);
      const downMs = Math.round(rng.between(500, 5000));
      const t0 = Date.now();
      await world.audit.db.close();
      await world.ctx.stack.stopPostgres(mode);
      await sleep(downMs);
      await world.ctx.stack.startPostgres();
      round.notes.push(`stop -m ${mode}, down ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    });
    await waitImportsDone(world, projectId, 180000).catch((e) => round.failed.push((e as Error).message));
    await finishImport(world, projectId, expected, round);
    await finishScan(world, sr, round, 300000);
    await world.checksumMatchesRebuild(round);
  },
};

// ---------------------------------------------------------------------------------------------

const brokerScan: Scenario = {
  name: 'broker-scan',
  title: 'the Kafka broker stopped and restarted during a scan',
  async setup(ctx) {
    const w = await World.create(ctx, this.name);
    await w.want('ledger', 1);
    await w.want('tasker', 1, TASKER_FAST_LEASES);
    await w.want('worker', 2, WORKER_FAST);
    return w;
  },
  async round(world, r, rng, round) {
    const sr = await startScan(world, rng, `chaos-broker-scan-${r}`, hostsBase(2, r), 6);
    await sleep(rng.between(500, 6000));
    await bounceBroker(world, rng, round);
    await finishScan(world, sr, round, 300000);
  },
};

const IMPORT_HOSTS = 1500;

const brokerImport: Scenario = {
  name: 'broker-import',
  title: 'the Kafka broker stopped and restarted during an import',
  async setup(ctx) {
    const w = await World.create(ctx, this.name);
    await w.want('ledger', 1);
    return w;
  },
  async round(world, r, rng, round) {
    const projectId = await world.createProject(`chaos-broker-import-${r}`, ['10.0.0.0/8']);
    const { xml, expected } = await syntheticReport(IMPORT_HOSTS);
    const url = world.ledgerUrl();
    const first = postImport(url, world.token, projectId, xml, { wait: 'true' }, 300000).catch((e) => ({ status: 0, body: String(e) }));
    await sleep(rng.between(0, 2500));
    await bounceBroker(world, rng, round);
    // The client's part: an import that did not answer "completed" is sent again, as the 503 answer asks.
    let answer = await first;
    let attempts = 1;
    // wait=true answers 202 with status "completed" once applied, or "duplicate" when an earlier attempt got through.
    const applied = (a: { status: number; body: any }) => a.status >= 200 && a.status < 300 && ['completed', 'duplicate'].includes(a.body?.status);
    while (!applied(answer) && attempts < 6) {
      round.notes.push(`import attempt ${attempts}: ${answer.status} ${answer.body?.status ?? String(answer.body?.message ?? answer.body).slice(0, 80)}`);
      await sleep(2000);
      attempts++;
      answer = await postImport(world.ledgerUrl(), world.token, projectId, xml, { wait: 'true' }, 300000).catch((e) => ({ status: 0, body: String(e) }));
    }
    round.metrics.importAttempts = attempts;
    if (!applied(answer)) round.failed.push(`the import never completed: ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
    await finishImport(world, projectId, expected, round);
  },
};

// ---------------------------------------------------------------------------------------------

const TASKER_KILL_RANGE_BITS = 16;

interface TaskerKillWorld extends World {
  expectedTasks?: number;
  planMs?: number;
}

const taskerKill: Scenario = {
  name: 'tasker-kill',
  title: 'the tasker SIGKILLed while a large scan request is expanded',
  async setup(ctx) {
    const w: TaskerKillWorld = await World.create(ctx, this.name);
    await w.want('ledger', 1);
    await w.want('tasker', 1);
    // Calibration: how many tasks the request makes and how long planning takes, without a fault.
    const projectId = await w.createProject('chaos-tasker-kill-calibration', ['127.0.0.0/8']);
    const t0 = Date.now();
    const r = await api(w.taskerUrl(), w.token, 'POST', `/projects/${projectId}/scans`, taskerKillRequest('127.99.0.0', 'calibration'));
    if (r.status !== 201) throw new Error(`calibration scan answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
    w.planMs = Date.now() - t0;
    w.expectedTasks = r.body.counts.total;
    ctx.log(`tasker-kill: a /${TASKER_KILL_RANGE_BITS} plans ${w.expectedTasks} tasks in ${w.planMs} ms`);
    return w;
  },
  async round(w, r, rng, round) {
    const world = w as TaskerKillWorld;
    const projectId = await world.createProject(`chaos-tasker-kill-${r}`, ['127.0.0.0/8']);
    const base = `127.${100 + (r % 150)}.0.0`;
    const key = `chaos-${randomUUID()}`;
    const body = taskerKillRequest(base, key);
    const scansFrom = await world.audit.mark(world.audit.topic(Topics.scans));
    const tasksFrom = await world.audit.mark(world.audit.topic(Topics.tasks));
    const [tasker] = world.fleet.live('tasker');
    let answered = 0;
    const first = api(tasker.url, world.token, 'POST', `/projects/${projectId}/scans`, body)
      .then((res) => (answered = res.status))
      .catch(() => undefined);
    // Some kills land before the request reaches the log (HTTP side), most while the planner expands it.
    await sleep(rng.chance(0.25) ? rng.between(0, 150) : rng.between(0, (world.planMs ?? 2000) * 1.3));
    await world.fleet.kill(tasker, 'SIGKILL');
    await first;
    round.notes.push(answered ? `killed after the ${answered}` : 'killed before an answer');
    const restarted = await world.fleet.restart(tasker);
    // Before any retry: the request is in completely (planned from the log) or not at all.
    await until('the planner to apply the scans topic', 120000, 250, async () => ((await world.audit.plannerLag()) === 0 ? true : undefined)).catch((e) => round.failed.push((e as Error).message));
    const scanId = (await world.audit.db.query<{ scan_id: string }>(`select scan_id from tasker.scans where project_id = ? and idempotency_key = ?`, [projectId, key]))[0]?.scan_id;
    const before = scanId ? Number((await world.audit.db.query<{ n: string }>(`select count(*) as n from tasker.tasks where scan_id = ?`, [scanId]))[0].n) : 0;
    if (before !== 0 && before !== world.expectedTasks) round.failed.push(`after the kill the scan had ${before} of ${world.expectedTasks} tasks`);
    round.metrics.acceptedBeforeRetry = before === world.expectedTasks ? 1 : 0;
    // The client retries with the same idempotency key.
    const retry = await until('the retried request to be answered', 120000, 1000, async () => {
      const res = await api(restarted.url, world.token, 'POST', `/projects/${projectId}/scans`, body).catch(() => undefined);
      return res && res.status >= 200 && res.status < 300 ? res : undefined;
    });
    if (retry.status === 200 && retry.body.idempotentReplay !== true) round.failed.push('a 200 without idempotentReplay');
    await until('the planner to apply the scans topic', 120000, 250, async () => ((await world.audit.plannerLag()) === 0 ? true : undefined)).catch((e) => round.failed.push((e as Error).message));

    const scans = await world.audit.db.query<{ scan_id: string }>(`select scan_id from tasker.scans where project_id = ?`, [projectId]);
    const [t] = await world.audit.db.query<{ n: string; addresses: string | null }>(`select count(*) as n, sum(addresses) as addresses from tasker.tasks where scan_id = ?`, [retry.body.scanId]);
    const expectedTasks = world.expectedTasks!;
    const rows = Number(t.n);
    const addresses = Number(t.addresses ?? 0);
    const offers = await world.audit.read(world.audit.topic(Topics.tasks), (e) => e.type === 'TaskOffered' && e.payload.scanId === retry.body.scanId, tasksFrom);
    const offerIds = new Map<string, Set<string>>();
    for (const o of offers) {
      const k = `${o.payload.taskId}|${o.payload.attempt}`;
      offerIds.set(k, (offerIds.get(k) ?? new Set()).add(o.eventId));
    }
    const offeredTasks = new Set(offers.map((o) => o.payload.taskId));
    const planned = await world.audit.read(world.audit.topic(Topics.scans), (e) => e.type === 'ScanPlanned' && e.payload.projectId === projectId, scansFrom);
    round.expected += expectedTasks;
    round.lost += Math.max(0, expectedTasks - rows) + Math.max(0, Math.min(rows, expectedTasks) - offeredTasks.size);
    const doubledOffers = [...offerIds.values()].reduce((n, ids) => n + ids.size - 1, 0);
    const plannedTwice = Math.max(0, new Set(planned.map((e) => e.eventId)).size - 1);
    round.doubled += Math.max(0, rows - expectedTasks) + Math.max(0, scans.length - 1) + doubledOffers + plannedTwice;
    if (addresses !== 2 ** (32 - TASKER_KILL_RANGE_BITS)) round.failed.push(`tasks cover ${addresses} addresses, not ${2 ** (32 - TASKER_KILL_RANGE_BITS)}`);
    if (scans.length !== 1) round.notes.push(`${scans.length} scans for one idempotency key`);
    if (doubledOffers) round.notes.push(`${doubledOffers} offers repeated under new event ids`);
    if (plannedTwice) round.notes.push('ScanPlanned announced twice');
    round.metrics.offersPerTask = offers.length / Math.max(1, offeredTasks.size);
  },
};

function taskerKillRequest(base: string, key: string) {
  return {
    targets: [`${base}/${TASKER_KILL_RANGE_BITS}`],
    config: { openPorts: { ports: '9', timeoutSeconds: 60 }, services: false },
    idempotencyKey: key,
  };
}

// ---------------------------------------------------------------------------------------------

const REBALANCE_IMPORT_HOSTS = 400;

const rebalance: Scenario = {
  name: 'rebalance',
  title: 'two ledger projectors and three workers share the partitions; one killed, one added',
  async setup(ctx) {
    const w = await World.create(ctx, this.name);
    await w.want('ledger', 2, { LEDGER_BATCH_SIZE: '25' });
    await w.want('tasker', 1, TASKER_FAST_LEASES);
    await w.want('worker', 3, WORKER_FAST);
    return w;
  },
  async round(world, r, rng, round) {
    const sr = await startScan(world, rng, `chaos-rebalance-${r}`, hostsBase(6, r), 6);
    const { xml, expected } = await syntheticReport(REBALANCE_IMPORT_HOSTS);
    await until('scope for the import', 60000, 250, async () =>
      (await api(world.ledgerUrl(), world.token, 'PUT', `/projects/${sr.projectId}/scope`, { allow: ['127.0.0.0/8', '10.0.0.0/8'], deny: [] })).status === 200 ? true : undefined,
    );
    const posted = await postImport(world.ledgerUrl(), world.token, sr.projectId, xml, { mode: 'update' }, 120000);
    if (posted.status !== 202) throw new Error(`import answered ${posted.status}`);
    // Kill one of each and add one of each, in an order and at moments the generator picks.
    const actions = ['kill-ledger', 'kill-worker', 'add-ledger', 'add-worker'];
    for (let i = actions.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [actions[i], actions[j]] = [actions[j], actions[i]];
    }
    const done: string[] = [];
    for (const a of actions) {
      await sleep(rng.between(200, 3000));
      const kind = a.endsWith('ledger') ? 'ledger' : 'worker';
      if (a.startsWith('add')) {
        await world.fleet.start(kind, world.extraOf(kind));
      } else {
        const live = world.fleet.live(kind);
        if (live.length < 2) await world.fleet.start(kind, world.extraOf(kind));
        const victim: App = rng.pick(world.fleet.live(kind));
        await world.fleet.kill(victim, 'SIGKILL');
      }
      done.push(a);
    }
    round.notes.push(done.join(' → '));
    // Ledger doubles are counted once, for the whole project, by finishImport.
    await finishScan(world, sr, round, 300000, false);
    await waitImportsDone(world, sr.projectId, 180000).catch((e) => round.failed.push((e as Error).message));
    await finishImport(world, sr.projectId, expected, round);
    await world.checksumMatchesRebuild(round);
  },
};

export const SCENARIOS: readonly Scenario[] = [workerKill, projectorKill, brokerScan, brokerImport, pgRestart, taskerKill, rebalance];
