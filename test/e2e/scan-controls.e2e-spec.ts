import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import type { Consumer, Kafka } from 'kafkajs';
import { decodeEnvelope, eventCatalogue, Topics, type Envelope, type TaskFailedV1, type TaskOfferedV1, type TaskStartedV1 } from '#events';
import { createHttpApp, createKafka } from '#platform';
import { call, startLedgerApp, type RunningApp } from '../support/ledger-app.js';
import { eventually, kafkaEnv } from '../support/stack.js';

// Safe-scanning controls (issue 9) with real processes: the ledger and the tasker in this process,
// two workers running the built worker (dist/) as child processes, real nmap against loopback only.
// What runs is read from /proc: the nmap processes whose parent is one of our workers.

async function retryTopicRace<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (e) {
      if (attempt >= 3 || !/does not host this topic-partition|leader/i.test(String(e))) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

interface NmapProc {
  readonly pid: number;
  readonly ppid: number;
  readonly argv: string[];
}

/** Live (not zombie) nmap processes whose parent is one of these pids. */
function nmapChildren(parents: readonly number[]): NmapProc[] {
  const out: NmapProc[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const [state, ppid] = stat.slice(close + 2).split(' ');
      if (comm !== 'nmap' || state === 'Z' || !parents.includes(Number(ppid))) continue;
      out.push({ pid: Number(d), ppid: Number(ppid), argv: readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').filter(Boolean) });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

describe('safe scanning controls end to end (two real workers, real nmap on loopback)', () => {
  let ledger: RunningApp;
  let tasker: INestApplication;
  let url: string;
  let token: string;
  let kafka: Kafka;
  let collector: Consumer;
  const seen: Envelope[] = [];
  const workers = new Map<string, ChildProcess>();
  const pids = () => [...workers.values()].map((w) => w.pid!).filter(Boolean);

  const of = <P>(type: string, pred: (p: P) => boolean = () => true) => seen.filter((e) => e.type === type && pred(e.payload as P)).map((e) => e as Envelope<string, P>);
  const fleet = async () => (await call(url, 'GET', '/workers', token)).body as { items: { workerId: string; status: string }[]; emergencyStop: { active: boolean } };

  async function project(name: string): Promise<string> {
    const id = (await call(ledger.url, 'POST', '/projects', token, { name })).body.id as string;
    expect((await call(ledger.url, 'PUT', `/projects/${id}/scope`, token, { allow: ['127.0.0.0/8'], deny: [] })).status).toBe(200);
    await eventually(() => call(url, 'GET', `/projects/${id}/scans`, token), (r) => r.status === 200);
    return id;
  }
  const scan = (projectId: string, targets: string[], openPorts: object) => call(url, 'POST', `/projects/${projectId}/scans`, token, { targets, config: { openPorts, services: false }, mode: 'append' });
  const status = (projectId: string, scanId: string) => call(url, 'GET', `/projects/${projectId}/scans/${scanId}`, token);

  async function startWorker(workerId: string): Promise<void> {
    const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', 'dist/apps/worker/src/main.js'], {
      env: {
        ...process.env,
        KAFKA_TOPIC_PREFIX: ledger.prefix,
        WORKER_ID: workerId,
        WORKER_PORT: String(await freePort()),
        // Offers are keyed by task id, so one worker may own every offer of a four-task scan. With
        // four slots it can still run them all; with two, the two offers that waited out the stop
        // would take both slots after the release and the re-offered interrupted tasks would wait
        // behind them (seen in CI).
        WORKER_CONCURRENCY: '4',
        WORKER_HEARTBEAT_SECONDS: '1',
        WORKER_SESSION_TIMEOUT_MS: '6000',
        LOG_LEVEL: process.env.WORKER_LOG_LEVEL ?? 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    workers.set(workerId, child);
    await eventually(fleet, (f) => f.items.some((w) => w.workerId === workerId), 60000);
  }

  beforeAll(async () => {
    ledger = await retryTopicRace(startLedgerApp);
    token = ledger.adminToken;
    Object.assign(process.env, { TASKER_LEASE_SECONDS: '6', TASKER_LEASE_CHECK_SECONDS: '1', TASKER_WORKER_DEAD_SECONDS: '6', TASKER_TASK_MAX_ATTEMPTS: '2', TASKER_DISPATCH_CHECK_MS: '200' });
    const { TaskerModule } = await import('../../apps/tasker/src/tasker.module.js');
    tasker = await retryTopicRace(() => createHttpApp(() => TaskerModule.register({ resolver: { resolve: async () => [] } }), { service: 'tasker', port: 0, title: 'test' }));
    await tasker.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(tasker.getHttpServer().address() as { port: number }).port}`;
    kafka = createKafka(kafkaEnv(ledger.prefix), 'scan-controls-e2e');
    collector = kafka.consumer({ groupId: `collector-${randomUUID()}` });
    await collector.connect();
    await collector.subscribe({ topics: [Topics.scans, Topics.tasks, Topics.fleetControl].map((t) => ledger.prefix + t.name), fromBeginning: true });
    await collector.run({ eachMessage: async ({ message }) => void seen.push(eventCatalogue.read(decodeEnvelope(message.value))) });
    await startWorker('ctl-w1');
    await startWorker('ctl-w2');
  });

  afterAll(async () => {
    for (const w of workers.values()) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await collector?.disconnect();
    await tasker?.close();
    await ledger?.close();
  });

  it('a budget of one host on 127.0.0.0/8 runs one nmap at a time across both workers, at the budget rate', async () => {
    const projectId = await project('budget');
    const set = await call(url, 'PUT', `/projects/${projectId}/scan-policy`, token, { budgets: [{ cidr: '127.0.0.0/8', maxHosts: 1, maxPps: 400 }] });
    expect(set.body).toMatchObject({ applied: true });
    const r = await scan(projectId, ['127.0.60.1-127.0.60.6'], { ports: '1-400', timeoutSeconds: 120 });
    expect(r.status).toBe(201);
    let most = 0;
    let samples = 0;
    const rates = new Set<string>();
    const sampler = setInterval(() => {
      const now = nmapChildren(pids());
      samples += now.length ? 1 : 0;
      most = Math.max(most, now.length);
      for (const p of now) rates.add(p.argv[p.argv.indexOf('--max-rate') + 1]);
    }, 10);
    try {
      const end = await eventually(() => status(projectId, r.body.scanId), (s) => ['done', 'failed'].includes(s.body.status), 170000);
      expect(end.body.counts).toMatchObject({ done: 6, failed: 0 });
    } finally {
      clearInterval(sampler);
    }
    expect(samples).toBeGreaterThan(0); // the sampler saw nmap running at all
    expect(most).toBe(1);
    expect([...rates]).toEqual(['400']);
    // The log agrees: on the project's partition, no task starts before the previous one finished.
    // (The tasker can call the scan done before this test's consumer has read the last completion.)
    await eventually(async () => of('TaskCompleted', (p: { scanId: string }) => p.scanId === r.body.scanId), (x) => x.length >= 6, 30000);
    const mine = seen.filter((e) => ['TaskStarted', 'TaskCompleted', 'TaskFailed'].includes(e.type) && (e.payload as { scanId: string }).scanId === r.body.scanId);
    let inFlight = 0;
    for (const e of mine) {
      inFlight += e.type === 'TaskStarted' ? 1 : -1;
      expect(inFlight).toBeLessThanOrEqual(1);
    }
    expect(mine.filter((e) => e.type === 'TaskCompleted')).toHaveLength(6);
    expect(mine.length).toBeGreaterThanOrEqual(12);
    expect(of<TaskOfferedV1>('TaskOffered', (p) => p.scanId === r.body.scanId).every((o) => o.payload.limits?.maxRate === 400)).toBe(true);
  });

  it('the emergency stop kills every running nmap on every worker within 5 s, refuses new work, and the interrupted tasks run again after the release', async () => {
    const projectId = await project('stop');
    const slow = { ports: '1-30000', minRate: null, maxRate: 100, timeoutSeconds: 600 };
    const r = await scan(projectId, ['127.0.70.1-127.0.70.4'], slow);
    expect(r.status).toBe(201);
    // Offers spread over both workers' partitions; at least two nmap processes run before the stop.
    const before = await eventually(async () => nmapChildren(pids()), (p) => p.length >= 2, 90000);
    const running = (await eventually(() => status(projectId, r.body.scanId), (s) => s.body.counts.running >= before.length)).body.running as { taskId: string }[];
    expect(running.length).toBeGreaterThanOrEqual(2);

    const t0 = Date.now();
    const stop = await call(url, 'POST', '/emergency-stop', token, { reason: 'e2e' });
    expect(stop.body).toMatchObject({ active: true });
    await eventually(async () => nmapChildren(pids()), (p) => p.length === 0, 10000);
    const killedWithinMs = Date.now() - t0;
    process.stderr.write(`emergency stop: ${before.length} nmap process(es) gone ${killedWithinMs} ms after the POST\n`);
    expect(killedWithinMs).toBeLessThan(5000);

    const interrupted = await eventually(async () => of<TaskFailedV1>('TaskFailed', (p) => p.scanId === r.body.scanId), (f) => f.length >= running.length, 20000);
    expect(interrupted.every((f) => f.payload.reason === 'interrupted' && f.payload.retryable)).toBe(true);
    await eventually(fleet, (f) => f.emergencyStop.active && f.items.filter((w) => w.workerId.startsWith('ctl-')).every((w) => w.status === 'stopped'), 10000);
    // New work waits: nothing starts while stopped.
    const during = await scan(projectId, ['127.0.71.1'], { ports: '1-50', timeoutSeconds: 60 });
    expect((await status(projectId, during.body.scanId)).body.waiting).toMatchObject({ tasks: 1, reason: expect.stringMatching(/emergency stop/) });
    await new Promise((res) => setTimeout(res, 2000));
    expect(nmapChildren(pids())).toEqual([]);
    expect(of<TaskStartedV1>('TaskStarted', (p) => p.scanId === during.body.scanId)).toEqual([]);
    expect((await status(projectId, r.body.scanId)).body.counts).toMatchObject({ failed: 0, running: 0, queued: 4 });

    await call(url, 'POST', '/emergency-stop/release', token, {});
    // The interrupted tasks start again under their next attempt (interruptions do not count against
    // TASKER_TASK_MAX_ATTEMPTS: see task-interruptions.unit.spec.ts).
    const again = await eventually(async () => of<TaskStartedV1>('TaskStarted', (p) => p.scanId === r.body.scanId && p.attempt === 2), (s) => s.length >= 1, 60000);
    expect(interrupted.map((f) => f.payload.taskId)).toContain(again[0].payload.taskId);
    await eventually(async () => nmapChildren(pids()), (p) => p.length >= 1, 30000);
    // The slow scan has made its point; the quick one, held during the stop, then runs to the end.
    const c = await call(url, 'POST', `/projects/${projectId}/scans/${r.body.scanId}/cancel`, token, {});
    expect(c.body.applied).toBe(true);
    await eventually(() => status(projectId, during.body.scanId), (s) => s.body.status === 'done', 120000);
    const fc = (await eventually(async () => seen.filter((e) => e.type.startsWith('EmergencyStop')), (x) => x.length >= 2, 30000)).map((e) => [e.type, e.actor.kind]);
    expect(fc).toEqual([['EmergencyStopActivated', 'user'], ['EmergencyStopReleased', 'user']]);
  });

  it('a window that excludes now keeps tasks waiting; a window that includes now lets them run', async () => {
    const projectId = await project('window');
    const hhmm = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString().slice(11, 16);
    await call(url, 'PUT', `/projects/${projectId}/scan-policy`, token, { budgets: [], window: { start: hhmm(120), end: hhmm(180), timeZone: 'UTC' } });
    const r = await scan(projectId, ['127.0.80.1'], { ports: '1-100', timeoutSeconds: 60 });
    expect(r.status).toBe(201);
    await new Promise((res) => setTimeout(res, 3000));
    const s = await status(projectId, r.body.scanId);
    expect(s.body).toMatchObject({ status: 'queued', waiting: { tasks: 1, reason: expect.stringMatching(/^waiting: window opens at /) } });
    expect(of('TaskOffered', (p: { scanId: string }) => p.scanId === r.body.scanId)).toEqual([]);
    await call(url, 'PUT', `/projects/${projectId}/scan-policy`, token, { budgets: [], window: { start: hhmm(-60), end: hhmm(60), timeZone: 'UTC' } });
    const done = await eventually(() => status(projectId, r.body.scanId), (x) => x.body.status === 'done', 120000);
    expect(done.body.counts).toMatchObject({ done: 1 });
  });
});
