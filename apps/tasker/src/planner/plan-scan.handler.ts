import type { Envelope, HostObservedV1, ScanFinishedV1, ScanPlannedV1, ScanRequestedV1, TasksQueuedV1 } from '#events';
import {
  EMPTY_SET,
  derivedUuid,
  formatIp,
  parseIp,
  planKeys,
  planScan,
  rangesToSet,
  targetSetFromJson,
  unionSets,
  parseRangeList,
  setToRanges,
  validateScanConfig,
  type CoverageSpan,
  type PlannedTask,
  type ScanConfig,
  type TargetSet,
  type TopPortsTable,
} from '#domain';
import { sql, type Em } from '#platform';
import { KNOWN_HOSTS_SCHEMA } from '../known-hosts/known-hosts.projection.js';
import type { Outbox } from './outbox.js';
import { holdsBack, holdTasks } from './dispatch.handler.js';
import { offerOf } from './task-rows.js';

export interface PlannerSettings {
  readonly maxTasks: number;
  readonly maxAddressesPerTask: number;
  readonly resumeWindowHours: number;
  readonly maxAttempts: number;
  /** nmap's top-ports lists (from an nmap-services file), for coverage dedup of top-N requests. */
  readonly topPorts?: TopPortsTable;
  /** The fleet-wide emergency stop as this tasker sees it (issue 9); absent: never stopped. */
  readonly emergencyStop?: () => { readonly active: boolean; readonly since: string | null };
}

const CHUNK = 500;

async function setOf(em: Em, sql: string, params: unknown[]): Promise<TargetSet> {
  const rows = await em.execute<{ ranges: [string, string][] }[]>(sql, params);
  return rows.length ? unionSets(rows.map((r) => rangesToSet(r.ranges))) : EMPTY_SET;
}

/** Known addresses inside the request's bounding box, as intervals (runs of consecutive IPv4 addresses collapse in SQL). */
async function knownHosts(em: Em, projectId: string, targets: TargetSet): Promise<TargetSet> {
  const ranges: [string, string][] = [];
  const s = `${KNOWN_HOSTS_SCHEMA}.known_hosts`;
  if (targets.v4.length) {
    const lo = targets.v4[0][0];
    const hi = targets.v4[targets.v4.length - 1][1];
    const rows = await em.execute<{ lo: string; hi: string }[]>(
      `select host(min(ip)) as lo, host(max(ip)) as hi from (
         select ip, (ip - inet '0.0.0.0') - row_number() over (order by ip) as grp
         from ${s} where project_id = ? and family(ip) = 4 and ip between cast(? as inet) and cast(? as inet)
       ) runs group by grp`,
      [projectId, ipText(lo, 4), ipText(hi, 4)],
    );
    for (const r of rows) ranges.push([r.lo, r.hi]);
  }
  if (targets.v6.length) {
    const lo = targets.v6[0][0];
    const hi = targets.v6[targets.v6.length - 1][1];
    const rows = await em.execute<{ ip: string }[]>(`select host(ip) as ip from ${s} where project_id = ? and family(ip) = 6 and ip between cast(? as inet) and cast(? as inet)`, [
      projectId,
      ipText(lo, 6),
      ipText(hi, 6),
    ]);
    for (const r of rows) ranges.push([r.ip, r.ip]);
  }
  return ranges.length ? rangesToSet(ranges) : EMPTY_SET;
}

/** The tasker's copy of the ledger's coverage for the request's addresses, by canonical address. */
async function coverageOf(em: Em, projectId: string, targets: TargetSet): Promise<Map<string, CoverageSpan[]>> {
  const out = new Map<string, CoverageSpan[]>();
  const ranges = setToRanges(targets).map(([lo, hi]) => ({ lo, hi }));
  if (!ranges.length) return out;
  const rows = await sql<{ ip: string; proto: CoverageSpan['proto']; source: string; observed_at: Date | string; ports: string }>(
    em,
    `select host(c.ip) as ip, c.proto, c.source, c.observed_at, c.ports
       from jsonb_to_recordset(cast(? as jsonb)) as r(lo text, hi text)
       join ${KNOWN_HOSTS_SCHEMA}.coverage c on c.project_id = ? and c.ip between cast(r.lo as inet) and cast(r.hi as inet)`,
    [JSON.stringify(ranges), projectId],
  );
  for (const r of rows) {
    const ip = parseIp(r.ip);
    const list = parseRangeList(r.ports);
    if (ip === null || !list?.length) continue;
    const key = formatIp(ip);
    const span: CoverageSpan = { proto: r.proto, ranges: list, source: r.source, observedAt: new Date(r.observed_at).toISOString() };
    out.set(key, [...(out.get(key) ?? []), span]);
  }
  return out;
}

const ipText = (v: number | bigint, family: 4 | 6): string => (family === 4 ? formatIp({ family, value: v as number }) : formatIp({ family, value: v as bigint }));

/**
 * ScanRequested → the plan, its tasks (rows here, offers on the tasks topic) and its audit events.
 * Runs inside the planner's transaction for the project's partition, so what it reads as running,
 * queued and done cannot change underneath it: two identical requests plan one set of tasks.
 */
export async function handleScanRequested(em: Em, env: Envelope<'ScanRequested', ScanRequestedV1>, settings: PlannerSettings, out: Outbox): Promise<void> {
  const p = env.payload;
  const existing = await em.execute(`select 1 from scans where scan_id = ?`, [p.scanId]);
  if (existing.length) return; // redelivered, or a retry under the same idempotency key

  const insertScan = (plan: unknown, finalState: string | null) =>
    sql(
      em,
      `insert into scans(scan_id, project_id, requested_at, requested_by, idempotency_key, request_hash, profile, config, rescan, request_summary, planned_at, plan, finished_at, final_state)
       values (?, ?, ?, cast(? as jsonb), ?, ?, ?, cast(? as jsonb), ?, cast(? as jsonb), now(), cast(? as jsonb), ${finalState ? 'now()' : 'null'}, ?)`,
      [p.scanId, p.projectId, env.occurredAt, JSON.stringify(env.actor), p.idempotencyKey, p.requestHash, p.profile, JSON.stringify(p.config), p.rescan, JSON.stringify(p.summary), JSON.stringify(plan), finalState],
    );

  // The HTTP side validated both; a request that still fails here (another version wrote it) is
  // recorded as failed rather than retried forever.
  const v = validateScanConfig(p.config);
  let targets: TargetSet | null = null;
  try {
    targets = targetSetFromJson(p.targets);
  } catch {
    targets = null;
  }
  if (!v.ok || targets === null) {
    const error = !v.ok ? `invalid config: ${v.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}` : 'invalid target set';
    await insertScan({ error }, 'failed');
    out.add<ScanFinishedV1>('ScanFinished', p.projectId, { projectId: p.projectId, scanId: p.scanId, state: 'failed', done: 0, failed: 0, cancelled: 0 });
    return;
  }
  const config: ScanConfig = v.config;
  const keys = planKeys(config);
  const running = new Map<string, TargetSet>();
  const queued = new Map<string, TargetSet>();
  const done = new Map<string, TargetSet>();
  const since = new Date(Date.parse(env.occurredAt) - settings.resumeWindowHours * 3600_000).toISOString();
  for (const k of keys) {
    const inflight = `select ranges from tasks where project_id = ? and portset_key = ? and state = ?`;
    running.set(k.portsetKey, await setOf(em, inflight, [p.projectId, k.portsetKey, 'running']));
    queued.set(k.portsetKey, await setOf(em, inflight, [p.projectId, k.portsetKey, 'queued']));
    if (!p.rescan) done.set(k.fingerprint, await setOf(em, `select ranges from tasks where project_id = ? and fingerprint = ? and state = 'done' and finished_at >= ?`, [p.projectId, k.fingerprint, since]));
  }
  // Requests from before coverage dedup (no dedup field) plan as they did then.
  const dedup = p.dedup ?? 'none';
  const known = config.importMode === 'insert' || dedup === 'coverage' ? await knownHosts(em, p.projectId, targets) : EMPTY_SET;
  const coverage = dedup === 'coverage' ? await coverageOf(em, p.projectId, targets) : new Map<string, CoverageSpan[]>();

  const plan = planScan(
    {
      scanId: p.scanId,
      config,
      rescan: p.rescan,
      targets,
      hostnames: p.hostnames,
      limits: { maxTasks: settings.maxTasks, maxAddressesPerTask: settings.maxAddressesPerTask },
      dedup,
      now: env.occurredAt,
      staleAfterMs: p.staleAfterSeconds ? p.staleAfterSeconds * 1000 : null,
      topPorts: settings.topPorts,
    },
    {
      running: (k) => running.get(k) ?? EMPTY_SET,
      queued: (k) => queued.get(k) ?? EMPTY_SET,
      done: (f) => done.get(f) ?? EMPTY_SET,
      known: () => known,
      coverage: (ip) => coverage.get(ip) ?? [],
    },
  );

  const summary: Omit<ScanPlannedV1, 'projectId' | 'scanId'> = {
    tasks: plan.taskCount,
    queuedAddresses: plan.queuedAddresses,
    addressesPerTask: plan.addressesPerTask,
    skipped: plan.skipped,
    hostnameMerges: plan.hostnameMerges.length,
    partiallyCovered: plan.partiallyCovered,
    dedup,
  };
  await insertScan(summary, plan.taskCount === 0 ? 'done' : null);
  out.add<ScanPlannedV1>('ScanPlanned', p.projectId, { projectId: p.projectId, scanId: p.scanId, ...summary });
  const configJson = config as unknown as Record<string, unknown>;
  // Under a scan policy or an emergency stop, tasks are stored held; the dispatch pass offers them.
  const hold = await holdsBack(em, p.projectId, settings);
  // Tasks are made, stored and offered a chunk at a time: memory stays flat however large the scan.
  let chunk: PlannedTask[] = [];
  const emit = async () => {
    if (!chunk.length) return;
    await insertTasks(em, p.scanId, p.projectId, env.occurredAt, chunk, config);
    out.add<TasksQueuedV1>('TasksQueued', p.projectId, {
      projectId: p.projectId,
      scanId: p.scanId,
      reason: 'planned',
      tasks: chunk.map((t) => ({ taskId: t.taskId, attempt: 1, shard: t.shard, ranges: t.ranges })),
    });
    if (hold) await holdTasks(em, chunk.map((t) => t.taskId));
    else for (const t of chunk) {
      const row = { task_id: t.taskId, scan_id: p.scanId, project_id: p.projectId, shard: t.shard, ranges: t.ranges, hostnames: t.hostnames as Record<string, string[]>, import_mode: t.importMode };
      out.add('TaskOffered', t.taskId, offerOf(row, 1, configJson), { id: derivedUuid('offer', t.taskId, '1') });
    }
    chunk = [];
    await out.flush();
  };
  for (const t of plan.tasks()) {
    chunk.push(t);
    if (chunk.length >= CHUNK) await emit();
  }
  await emit();
  // Hosts skipped as the ledger's (covered, or known in insert mode): the names the request brought still belong there.
  for (const m of plan.hostnameMerges) {
    const ip = parseIp(m.ip)!;
    const observation: HostObservedV1 = {
      projectId: p.projectId,
      mode: 'insert',
      trackHistory: true,
      source: { kind: 'task', taskId: derivedUuid('names', p.scanId), scanId: p.scanId, workerId: 'tasker' },
      run: { scanner: 'falcoria-tasker' },
      coverage: {},
      observedAt: env.occurredAt,
      host: {
        ip: m.ip,
        addresses: [{ addr: m.ip, addrtype: ip.family === 4 ? 'ipv4' : 'ipv6' }],
        hostnames: m.hostnames.map((name) => ({ name, type: 'user' })),
        ports: [],
        extraPorts: [],
        hostScripts: [],
      },
    };
    out.add('HostObserved', p.projectId, observation, { id: derivedUuid('names', p.scanId, m.ip) });
  }
  if (plan.taskCount === 0) out.add<ScanFinishedV1>('ScanFinished', p.projectId, { projectId: p.projectId, scanId: p.scanId, state: 'done', done: 0, failed: 0, cancelled: 0 });
}

async function insertTasks(em: Em, scanId: string, projectId: string, at: string, tasks: readonly PlannedTask[], config: ScanConfig): Promise<void> {
  const rows = tasks.map((t) => ({
    task_id: t.taskId,
    scan_id: scanId,
    project_id: projectId,
    shard: t.shard,
    portset_key: t.portsetKey,
    fingerprint: t.fingerprint,
    family: t.family,
    ranges: t.ranges,
    addresses: t.addresses,
    hostnames: t.hostnames,
    import_mode: t.importMode === config.importMode ? null : t.importMode,
  }));
  await sql(
    em,
    `insert into tasks(task_id, scan_id, project_id, shard, portset_key, fingerprint, family, ranges, addresses, hostnames, state, attempt, queued_at, import_mode)
     select x.task_id, x.scan_id, x.project_id, x.shard, x.portset_key, x.fingerprint, x.family, x.ranges, x.addresses, x.hostnames, 'queued', 1, cast(? as timestamptz), x.import_mode
     from jsonb_to_recordset(cast(? as jsonb)) as x(task_id text, scan_id text, project_id text, shard jsonb, portset_key text, fingerprint text, family smallint, ranges jsonb, addresses int, hostnames jsonb, import_mode text)
     on conflict (task_id) do nothing`,
    [at, JSON.stringify(rows)],
  );
}

