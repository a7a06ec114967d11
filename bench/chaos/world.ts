// One scenario's world: its database, topic prefix, app processes, admin token and audit, plus the
// pieces rounds share (projects, loopback targets, scans, imports and their accounting).
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { Topics } from '#events';
import { generateReport } from '../gen-report.js';
import type { Lan } from '../netns-lan.js';
import { api, sleep } from '../scan-harness.js';
import { Audit, totalDoubles, until, type LoggedEvent } from './audit.js';
import type { ChaosStack } from './chaos-stack.js';
import { Fleet, type App, type AppKind } from './fleet.js';
import type { Rng } from './rng.js';

export interface RoundResult {
  expected: number;
  lost: number;
  doubled: number;
  /** Checks other than lost/doubled that failed (a checksum unequal to a rebuild's, a process that died by itself…). */
  failed: string[];
  notes: string[];
  /** Numbers for the notes column (aggregated over rounds). */
  metrics: Record<string, number>;
  error?: string;
  seconds: number;
}

export const emptyRound = (): RoundResult => ({ expected: 0, lost: 0, doubled: 0, failed: [], notes: [], metrics: {}, seconds: 0 });

export interface SuiteContext {
  readonly stack: ChaosStack;
  readonly log: (line: string) => void;
  readonly replicationFactor: number;
  readonly keepDatabases: boolean;
  /** Network-namespace hosts the suite built (root only), scanned with the loopback listeners. */
  readonly lan?: Lan;
}

/** The port the namespace hosts listen on (with an SSH banner). */
export const LAN_PORT = 2222;

/** Short lease and session times, as the e2e tests use, so a dead worker's task moves within seconds. */
export const TASKER_FAST_LEASES = { TASKER_LEASE_SECONDS: '6', TASKER_LEASE_CHECK_SECONDS: '1', TASKER_WORKER_DEAD_SECONDS: '6', TASKER_TASK_MAX_ATTEMPTS: '5' };
export const WORKER_FAST = { WORKER_CONCURRENCY: '2', WORKER_HEARTBEAT_SECONDS: '1', WORKER_SESSION_TIMEOUT_MS: '6000', WORKER_KILL_GRACE_MS: '1000' };
/** The worst time a SIGKILLed worker's task may take to start elsewhere with those settings, plus room for a loaded machine. */
export const RERUN_BOUND_S = 6 + 1 + 6 + 30;

export class World {
  readonly fleet: Fleet;
  readonly audit: Audit;
  private wanted = new Map<AppKind, { count: number; extra: Record<string, string> }>();

  private constructor(
    readonly ctx: SuiteContext,
    readonly scenario: string,
    readonly dbName: string,
    readonly prefix: string,
  ) {
    const databaseUrl = ctx.stack.databaseUrl(dbName);
    this.fleet = new Fleet({ scenario, brokers: ctx.stack.brokers, databaseUrl, prefix, logDir: ctx.stack.logDir, replicationFactor: ctx.replicationFactor });
    this.audit = new Audit(databaseUrl, ctx.stack.brokers, prefix);
  }

  static async create(ctx: SuiteContext, scenario: string): Promise<World> {
    const id = randomBytes(3).toString('hex');
    const dbName = `chaos_${scenario.replace(/[^a-z0-9]/g, '_')}_${id}`;
    await ctx.stack.createDatabase(dbName);
    return new World(ctx, scenario, dbName, `chaos${id}.`);
  }

  get token(): string {
    return this.fleet.token;
  }

  /** Starts `count` apps of a kind and remembers that the scenario wants that many (heal() restores it). */
  async want(kind: AppKind, count: number, extra: Record<string, string> = {}): Promise<App[]> {
    this.wanted.set(kind, { count, extra });
    const started: App[] = [];
    for (let i = 0; i < count; i++) started.push(await this.fleet.start(kind, extra));
    if (kind === 'ledger' && !this.fleet.token) await this.fleet.bootstrap(started[0].url);
    return started;
  }

  extraOf(kind: AppKind): Record<string, string> {
    return this.wanted.get(kind)?.extra ?? {};
  }

  /**
   * Processes that died without being told to are a finding: named in the round's failed checks,
   * then replaced so the next round starts whole. Also tops up to the wanted counts.
   */
  async heal(round: RoundResult): Promise<void> {
    for (const a of this.fleet.unexpectedExits()) {
      round.failed.push(`${a.name} exited by itself (code ${a.exit!.code}, signal ${a.exit!.signal})`);
      a.exit!.expected = true;
    }
    for (const [kind, w] of this.wanted) {
      const live = this.fleet.live(kind);
      for (let i = live.length; i < w.count; i++) await this.fleet.start(kind, w.extra);
      // Extra instances a round added leave cleanly (a rebalance of its own).
      for (const extra of live.slice(w.count)) await this.fleet.kill(extra, 'SIGTERM');
    }
  }

  ledgerUrl(): string {
    const l = this.fleet.live('ledger')[0];
    if (!l) throw new Error('no ledger process is running');
    return l.url;
  }

  taskerUrl(): string {
    const t = this.fleet.live('tasker')[0];
    if (!t) throw new Error('no tasker process is running');
    return t.url;
  }

  /** A fresh project for one round, its scope, and a wait until every tasker sees it. */
  async createProject(name: string, allow: string[]): Promise<string> {
    // After a broker restart, consumer groups may wait out the old members' sessions before they resume.
    const projectId = await until(`creating project ${name}`, 180000, 250, async () => {
      const r = await api(this.ledgerUrl(), this.token, 'POST', '/projects', { name });
      return r.status === 201 ? (r.body.id as string) : undefined;
    });
    await until('setting the project scope', 60000, 250, async () => ((await api(this.ledgerUrl(), this.token, 'PUT', `/projects/${projectId}/scope`, { allow, deny: [] })).status === 200 ? true : undefined));
    for (const t of this.fleet.live('tasker')) {
      await until('the tasker to see the project', 60000, 200, async () => ((await api(t.url, this.token, 'GET', `/projects/${projectId}/scans`)).status === 200 ? true : undefined));
    }
    return projectId;
  }

  async waitLedgerCaughtUp(timeoutMs: number): Promise<void> {
    await until('the ledger projector to apply the whole log', timeoutMs, 250, async () => ((await this.audit.ledgerLag()) === 0 ? true : undefined));
  }

  /** Compares the live read model with a rebuild from the log (POST /ledger/rebuild swaps the rebuilt schema in). */
  async checksumMatchesRebuild(round: RoundResult): Promise<void> {
    const r = await until('POST /ledger/rebuild', 600000, 2000, async () => {
      const res = await api(this.ledgerUrl(), this.token, 'POST', '/ledger/rebuild').catch(() => undefined);
      return res?.status === 200 ? res : undefined;
    });
    round.metrics.rebuildSeconds = r.body.seconds;
    if (r.body.equal !== true) round.failed.push(`checksum ${String(r.body.checksumBefore).slice(0, 12)} ≠ rebuild ${String(r.body.checksumAfter).slice(0, 12)}`);
    else round.metrics.checksumEqual = 1;
  }

  async close(): Promise<void> {
    await this.fleet.stopAll();
    await this.audit.close();
    if (!this.ctx.keepDatabases) await this.ctx.stack.dropDatabase(this.dbName).catch((e) => this.ctx.log(`dropping ${this.dbName}: ${(e as Error).message}`));
  }
}

// ---------------------------------------------------------------------------------------------
// Loopback targets

export interface LoopbackTargets {
  /** Every address scanned (the namespace hosts too, when there are some). */
  readonly hosts: readonly string[];
  readonly ports: readonly number[];
  /** `ip/tcp/port` the scan must find open. */
  readonly expected: ReadonlySet<string>;
  close(): void;
}

const listen = (host: string, port: number) =>
  new Promise<Server>((resolve, reject) => {
    const s = createServer((c) => {
      c.on('error', () => undefined);
      c.destroy();
    });
    s.once('error', reject);
    s.listen(port, host, () => resolve(s));
  });

/** `k` loopback hosts (127.a.b.10…) listening on the same two ports, picked by the round's generator. */
export async function loopbackTargets(rng: Rng, base: string, k: number): Promise<LoopbackTargets> {
  const hosts = Array.from({ length: k }, (_, i) => `${base}.${10 + i}`);
  for (let attempt = 0; attempt < 20; attempt++) {
    const p1 = rng.int(20000, 29999);
    const p2 = p1 + rng.int(1, 99);
    const servers: Server[] = [];
    try {
      for (const h of hosts) for (const p of [p1, p2]) servers.push(await listen(h, p));
    } catch {
      servers.forEach((s) => s.close());
      continue;
    }
    return {
      hosts,
      ports: [p1, p2],
      expected: new Set(hosts.flatMap((h) => [`${h}/tcp/${p1}`, `${h}/tcp/${p2}`])),
      close: () => servers.forEach((s) => s.close()),
    };
  }
  throw new Error(`no two free ports on ${base}.x after 20 attempts`);
}

/** Ports nmap walks through besides the listeners (closed on loopback), at a paced rate: a scan takes seconds, so faults land inside it. */
export const FILLER_PORTS = '41000-41999';

export interface ScanRound {
  readonly projectId: string;
  readonly scanId: string;
  readonly targets: LoopbackTargets;
  readonly scansFrom: ReadonlyMap<number, bigint>;
  readonly startedAt: number;
}

export async function startScan(world: World, rng: Rng, name: string, base: string, k: number): Promise<ScanRound> {
  const lan = world.ctx.lan;
  const projectId = await world.createProject(name, ['127.0.0.0/8', ...(lan ? [lan.cidr] : [])]);
  const loopback = await loopbackTargets(rng, base, k);
  const targets: LoopbackTargets = lan
    ? { ...loopback, hosts: [...loopback.hosts, ...lan.ips], expected: new Set([...loopback.expected, ...lan.ips.map((ip) => `${ip}/tcp/${LAN_PORT}`)]) }
    : loopback;
  const scansFrom = await world.audit.mark(world.audit.topic(Topics.scans));
  const body = {
    targets: [`${loopback.hosts[0]}-${loopback.hosts[loopback.hosts.length - 1]}`, ...(lan ? [lan.range] : [])],
    config: { openPorts: { ports: `${loopback.ports.join(',')},${lan ? `${LAN_PORT},` : ''}${FILLER_PORTS}`, minRate: null, maxRate: 200, maxRetries: 1, timeoutSeconds: 120 }, services: false },
    idempotencyKey: `chaos-${randomUUID()}`,
  };
  const r = await until('POST /scans', 120000, 1000, async () => {
    const res = await api(world.taskerUrl(), world.token, 'POST', `/projects/${projectId}/scans`, body).catch(() => undefined);
    return res && res.status >= 200 && res.status < 300 ? res : undefined;
  });
  return { projectId, scanId: r.body.scanId, targets, scansFrom, startedAt: Date.now() };
}

export async function scanStatus(world: World, sr: ScanRound): Promise<any> {
  const r = await api(world.taskerUrl(), world.token, 'GET', `/projects/${sr.projectId}/scans/${sr.scanId}`);
  if (r.status !== 200) throw new Error(`scan status ${r.status}`);
  return r.body;
}

const FINAL = new Set(['done', 'failed', 'cancelled']);

/**
 * Waits for the scan to end and the ledger to apply everything, then counts: expected facts missing
 * (lost), double application in the ledger, and decisions the planner announced twice.
 */
export async function finishScan(world: World, sr: ScanRound, round: RoundResult, timeoutMs: number, countLedgerDoubles = true): Promise<LoggedEvent[]> {
  let final: any;
  try {
    final = await until(`scan ${sr.scanId} to end`, timeoutMs, 500, async () => {
      const s = await scanStatus(world, sr).catch(() => undefined);
      return s && FINAL.has(s.status) ? s : undefined;
    });
  } catch (e) {
    round.failed.push((e as Error).message);
    const s = await scanStatus(world, sr).catch(() => undefined);
    if (s) round.notes.push(`scan at the deadline: ${JSON.stringify({ status: s.status, counts: s.counts, running: s.running?.map((x: any) => [x.ip, x.workerId, x.attempt, x.elapsedSeconds]), failures: s.failures?.slice(0, 3) })}`);
  }
  if (final && final.status !== 'done') round.failed.push(`scan ended ${final.status}: ${JSON.stringify(final.failures?.slice(0, 2) ?? [])}`);
  await world.waitLedgerCaughtUp(120000).catch((e) => round.failed.push((e as Error).message));
  const open = await world.audit.openPorts(sr.projectId);
  round.expected += sr.targets.expected.size;
  round.lost += [...sr.targets.expected].filter((f) => !open.has(f)).length;
  if (countLedgerDoubles) await countDoubles(world, sr.projectId, round);
  const events = await world.audit.read(world.audit.topic(Topics.scans), (e) => e.payload.scanId === sr.scanId, sr.scansFrom);
  const finished = new Set(events.filter((e) => e.type === 'ScanFinished').map((e) => e.eventId));
  if (finished.size > 1) {
    round.doubled += finished.size - 1;
    round.notes.push(`ScanFinished announced ${finished.size} times`);
  }
  round.metrics.scanSeconds = (Date.now() - sr.startedAt) / 1000;
  sr.targets.close();
  return events;
}

async function countDoubles(world: World, projectId: string, round: RoundResult): Promise<void> {
  const d = await world.audit.doubles(projectId);
  round.doubled += totalDoubles(d);
  if (totalDoubles(d)) round.notes.push(`ledger doubles ${JSON.stringify(d)}`);
}

// ---------------------------------------------------------------------------------------------
// Synthetic imports

/** The report bench/gen-report.ts writes: host i is 10.0.0.(1+i) with tcp 22, 80 and 8080 (i % 3 = 0) or 443 open. Nothing is scanned. */
export async function syntheticReport(hosts: number): Promise<{ xml: string; expected: Set<string> }> {
  let xml = '';
  for await (const chunk of generateReport(hosts)) xml += chunk;
  const expected = new Set<string>();
  for (let i = 0; i < hosts; i++) {
    const n = 0x0a000001 + i;
    const ip = `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    for (const p of [22, 80, i % 3 === 0 ? 8080 : 443]) expected.add(`${ip}/tcp/${p}`);
  }
  return { xml, expected };
}

export async function postImport(url: string, token: string, projectId: string, xml: string, query: Record<string, string>, timeoutMs: number): Promise<{ status: number; body: any }> {
  const form = new FormData();
  form.append('file', new Blob([xml]), 'chaos.xml');
  const res = await fetch(`${url}/projects/${projectId}/imports?${new URLSearchParams(query)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* text */
  }
  return { status: res.status, body };
}

/** Counts the import's facts and doubles; imports left `applying` after the log is applied are a failed check. */
export async function finishImport(world: World, projectId: string, expected: ReadonlySet<string>, round: RoundResult): Promise<void> {
  await world.waitLedgerCaughtUp(180000).catch((e) => round.failed.push((e as Error).message));
  const open = await world.audit.openPorts(projectId);
  round.expected += expected.size;
  round.lost += [...expected].filter((f) => !open.has(f)).length;
  await countDoubles(world, projectId, round);
  const imports = await world.audit.imports(projectId);
  const stuck = imports.filter((i) => i.status === 'applying');
  if (stuck.length) round.failed.push(`${stuck.length} import(s) left "applying" after the whole log was applied`);
  // An import is one Kafka transaction: one that failed applied nothing.
  for (const i of imports.filter((x) => x.status === 'failed')) {
    const [row] = await world.audit.db.queryPatiently<{ n: string }>(`select count(*) as n from ledger.import_hosts where import_id = ?`, [i.id]);
    if (Number(row.n) > 0) round.failed.push(`failed import ${i.id} has ${row.n} host(s) applied (half-applied)`);
  }
  round.metrics.imports = imports.length;
  round.metrics.failedImports = imports.filter((x) => x.status === 'failed').length;
}

export { sleep };
