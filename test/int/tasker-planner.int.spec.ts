import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import { decodeEnvelope, eventCatalogue, Topics, type Envelope, type HostObservedV1, type TaskOfferedV1 } from '#events';
import type { Resolver } from '#domain';
import { createHttpApp, createKafka, createOrm, fetchEndOffsets, type EventPublisher } from '#platform';
import { call, startLedgerApp, upload, type RunningApp } from '../support/ledger-app.js';
import { nmapReport } from '../support/nmap-fixtures.js';
import { eventually, kafkaEnv, testKafka } from '../support/stack.js';

// The planner and the tasker's HTTP side against real Kafka and PostgreSQL. No worker runs here:
// the test plays the worker by writing its events, so every planner rule is observable exactly.

// Topic creation under load can answer "does not host this topic-partition" before the new topics'
// leaders are known, and libs/platform's ensureTopics does not retry that yet: start again on that only.
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
const startLedger = () => retryTopicRace(startLedgerApp);

const names: Record<string, string[]> = { 'db.test': ['127.0.0.5'], 'www.test': ['127.0.0.6'], 'alias.test': ['127.0.0.6'] };
const resolver: Resolver = { resolve: async (n) => names[n] ?? [] };

async function readTopic(kafka: Kafka, topic: string): Promise<Envelope[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = (await fetchEndOffsets(admin, topic)).filter((p) => p.high > 0n);
  await admin.disconnect();
  if (!ends.length) return [];
  const out: Envelope[] = [];
  const group = `reader-${randomUUID()}`;
  const c = kafka.consumer({ groupId: group });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  const left = new Map(ends.map((e) => [e.partition, e.high - 1n]));
  await new Promise<void>((resolve) => {
    void c.run({
      eachMessage: async ({ partition, message }) => {
        if (!left.has(partition)) return;
        out.push(eventCatalogue.read(decodeEnvelope(message.value)));
        if (BigInt(message.offset) >= left.get(partition)!) left.delete(partition);
        if (left.size === 0) resolve();
      },
    });
  });
  await c.disconnect();
  return out;
}

describe('tasker planner (real Kafka, real PostgreSQL, no worker)', () => {
  let ledger: RunningApp;
  let tasker: INestApplication;
  let url: string;
  let token: string;
  let projectId: string;
  let kafka: Kafka;
  let publisher: EventPublisher;

  const scan = (body: object, headers: Record<string, string> = {}) => call(url, 'POST', `/projects/${projectId}/scans`, token, body, headers);
  const offers = async () => (await readTopic(kafka, ledger.prefix + Topics.tasks.name)) as Envelope<'TaskOffered', TaskOfferedV1>[];
  const scans = async () => readTopic(kafka, ledger.prefix + Topics.scans.name);
  const worker = (type: string, payload: object) =>
    publisher.publish([{ eventId: randomUUID(), type, schemaVersion: 1, key: (payload as { projectId?: string; workerId?: string }).projectId ?? (payload as { workerId: string }).workerId, occurredAt: new Date().toISOString(), correlationId: 'c', causationId: null, actor: { kind: 'worker', id: 'w' }, payload }]);
  /** Heartbeats naming the tasks, as a live worker sends them, until stopped. */
  const keepAlive = (workerId: string, tasks: { taskId: string; scanId: string; attempt: number }[]) => {
    const beat = () =>
      worker('WorkerHeartbeat', {
        workerId, version: 'test', hostname: 'h', egressIp: null, nmapVersion: '7.93', privileged: true, concurrency: 2, heartbeatSeconds: 1,
        running: tasks.map((t) => ({ ...t, projectId, startedAt: new Date().toISOString(), currentIp: null })),
      });
    void beat();
    const timer = setInterval(() => void beat(), 500);
    return () => clearInterval(timer);
  };
  const status = (scanId: string) => call(url, 'GET', `/projects/${projectId}/scans/${scanId}`, token);
  const ports = { config: { openPorts: { ports: '22,80' }, services: false } };

  beforeAll(async () => {
    ledger = await startLedger();
    token = ledger.adminToken;
    const p = await call(ledger.url, 'POST', '/projects', token, { name: 'planner' });
    projectId = p.body.id;
    expect((await call(ledger.url, 'PUT', `/projects/${projectId}/scope`, token, { allow: ['127.0.0.0/8', '*.test', 'db.test'], deny: ['127.0.0.13'] })).status).toBe(200);
    Object.assign(process.env, { TASKER_LEASE_SECONDS: '4', TASKER_LEASE_CHECK_SECONDS: '1', TASKER_WORKER_DEAD_SECONDS: '3', TASKER_TASK_MAX_ATTEMPTS: '2', TASKER_PLAN_WAIT_MS: '20000' });
    const { TaskerModule } = await import('../../apps/tasker/src/tasker.module.js');
    tasker = await retryTopicRace(() => createHttpApp(() => TaskerModule.register({ resolver }), { service: 'tasker', port: 0, title: 'test', bodyLimit: '16mb' }));
    await tasker.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(tasker.getHttpServer().address() as { port: number }).port}`;
    kafka = createKafka(kafkaEnv(ledger.prefix), 'planner-test');
    ({ publisher } = await testKafka(ledger.prefix));
  });
  afterAll(async () => {
    await tasker?.close();
    await publisher?.disconnect();
    await ledger?.close();
  });

  it('plans a request: one task per address, names collapsed and kept, scope and resolution outcomes per input', async () => {
    const r = await scan({ targets: ['127.0.0.1', '127.0.0.2-127.0.0.3', '127.0.0.1', 'db.test', 'www.test', 'alias.test', 'nowhere.test', '127.0.0.13', '198.51.100.7'], ...ports });
    expect(r.status).toBe(201);
    expect(r.body.summary).toMatchObject({ provided: 9, accepted: 5, duplicatesRemoved: 1, hostnamesCollapsed: 1, refused: { unresolvable: 1, out_of_scope: 2 }, queued: 5, tasks: 5 });
    expect(r.body.status).toBe('queued');
    expect(r.body.counts).toMatchObject({ queued: 5, total: 5 });
    const www = r.body.inputs.find((i: { input: string }) => i.input === 'www.test');
    expect(www.ips).toEqual([{ ip: '127.0.0.6', hostnames: ['www.test', 'alias.test'] }]);
    expect(r.body.inputs.find((i: { input: string }) => i.input === '127.0.0.13')).toMatchObject({ status: 'refused', reason: 'out_of_scope' });
    const mine = (await offers()).filter((o) => o.payload.scanId === r.body.scanId);
    expect(mine.map((o) => o.payload.ranges[0][0]).sort()).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.5', '127.0.0.6']);
    expect(mine.find((o) => o.payload.ranges[0][0] === '127.0.0.6')!.payload.hostnames).toEqual({ '127.0.0.6': ['www.test', 'alias.test'] });
    expect(mine.every((o) => o.key === o.payload.taskId && o.payload.attempt === 1)).toBe(true);
  });

  it('two identical requests at once plan one set of tasks', async () => {
    const body = { targets: ['127.0.1.0/28'], ...ports };
    const [a, b] = await Promise.all([scan(body), scan(body)]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.summary.queued + b.body.summary.queued).toBe(16);
    const second = a.body.summary.queued === 0 ? a : b;
    expect(second.body.summary.skipped.already_queued).toBe(16);
    expect(second.body.status).toBe('done'); // nothing of its own to do
    const mine = (await offers()).filter((o) => [a.body.scanId, b.body.scanId].includes(o.payload.scanId));
    expect(mine).toHaveLength(16);
  });

  it('an idempotency key returns the same scan on retry and never plans twice; reusing it for another request is refused', async () => {
    const body = { targets: ['127.0.2.0/30'], ...ports, idempotencyKey: 'retry-me' };
    const first = await scan(body);
    const again = await scan(body);
    const header = await scan({ targets: ['127.0.2.0/30'], ...ports }, { 'idempotency-key': 'retry-me' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.scanId).toBe(first.body.scanId);
    expect(again.body.idempotentReplay).toBe(true);
    expect([header.status, header.body.scanId]).toEqual([200, first.body.scanId]); // the header is the same key
    const other = await scan({ ...body, targets: ['127.0.2.8'] });
    expect(other.status).toBe(409);
    expect((await offers()).filter((o) => o.payload.scanId === first.body.scanId)).toHaveLength(4);
  });

  it('re-running the same command resumes: done and in-flight targets are skipped; rescan scans the done ones again', async () => {
    const body = { targets: ['127.0.3.0/30'], ...ports };
    const first = await scan(body);
    const tasks = (await offers()).filter((o) => o.payload.scanId === first.body.scanId).map((o) => o.payload);
    const [t0, t1] = tasks;
    await worker('TaskStarted', { projectId, scanId: t0.scanId, taskId: t0.taskId, attempt: 1, workerId: 'w1' });
    await worker('TaskCompleted', { projectId, scanId: t0.scanId, taskId: t0.taskId, attempt: 1, workerId: 'w1', hostsUp: 1, hostsDown: 0, durationMs: 5 });
    await worker('TaskStarted', { projectId, scanId: t1.scanId, taskId: t1.taskId, attempt: 1, workerId: 'w1' });
    const stop = keepAlive('w1', [{ taskId: t1.taskId, scanId: t1.scanId, attempt: 1 }]);
    await eventually(() => status(first.body.scanId), (s) => s.body.counts.done === 1 && s.body.counts.running === 1);
    const again = await scan(body);
    expect(again.body.summary.skipped).toMatchObject({ already_done: 1, already_running: 1, already_queued: 2 });
    expect(again.body.summary.queued).toBe(0);
    const rescan = await scan({ ...body, rescan: true });
    expect(rescan.body.summary.skipped).toMatchObject({ already_done: 0, already_running: 1, already_queued: 2 });
    expect(rescan.body.summary.queued).toBe(1);
    stop();
  });

  it('a task whose worker goes silent is offered again under the next attempt; the silent worker is told to stop and its late report is ignored', async () => {
    const r = await scan({ targets: ['127.0.4.1'], ...ports });
    const [t] = (await offers()).filter((o) => o.payload.scanId === r.body.scanId).map((o) => o.payload);
    await worker('TaskStarted', { projectId, scanId: t.scanId, taskId: t.taskId, attempt: 1, workerId: 'ghost' });
    const requeued = await eventually(offers, (all) => all.some((o) => o.payload.taskId === t.taskId && o.payload.attempt === 2), 30000);
    expect(requeued.filter((o) => o.payload.taskId === t.taskId)).toHaveLength(2);
    const log = await scans();
    expect(log.some((e) => e.type === 'TaskLeaseExpired' && (e.payload as { taskId: string }).taskId === t.taskId)).toBe(true);
    const control = await readTopic(kafka, ledger.prefix + Topics.workerControl.name);
    expect(control.some((e) => JSON.stringify(e.payload).includes(t.taskId) && (e.payload as { reason: string }).reason === 'lease_expired')).toBe(true);
    await worker('TaskCompleted', { projectId, scanId: t.scanId, taskId: t.taskId, attempt: 1, workerId: 'ghost', hostsUp: 1, hostsDown: 0, durationMs: 5 });
    await worker('TaskStarted', { projectId, scanId: t.scanId, taskId: t.taskId, attempt: 2, workerId: 'w2' });
    const stop = keepAlive('w2', [{ taskId: t.taskId, scanId: t.scanId, attempt: 2 }]);
    const s = await eventually(() => status(r.body.scanId), (x) => x.body.counts.running === 1);
    expect(s.body.counts.done).toBe(0); // attempt 1's completion came from a run that no longer held the task
    expect(s.body.running[0]).toMatchObject({ taskId: t.taskId, attempt: 2, workerId: 'w2', ip: '127.0.4.1' });
    await worker('TaskFailed', { projectId, scanId: t.scanId, taskId: t.taskId, attempt: 2, workerId: 'w2', reason: 'timeout', message: 'open-ports phase did not finish', retryable: true, hostsUp: 0 });
    const f = await eventually(() => status(r.body.scanId), (x) => x.body.status === 'failed');
    expect(f.body.failures[0]).toMatchObject({ taskId: t.taskId, attempts: 2, error: expect.stringMatching(/^timeout/) });
    stop();
  });

  it('cancels a scan: queued and running tasks are cancelled and workers are told by scan id', async () => {
    const r = await scan({ targets: ['127.0.5.0/29'], ...ports });
    const [t] = (await offers()).filter((o) => o.payload.scanId === r.body.scanId).map((o) => o.payload);
    await worker('TaskStarted', { projectId, scanId: t.scanId, taskId: t.taskId, attempt: 1, workerId: 'w3' });
    const stop = keepAlive('w3', [{ taskId: t.taskId, scanId: t.scanId, attempt: 1 }]);
    await eventually(() => status(r.body.scanId), (x) => x.body.counts.running === 1);
    const c = await call(url, 'POST', `/projects/${projectId}/scans/${r.body.scanId}/cancel`, token, {});
    stop();
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ applied: true, cancelled: 8, queued: 7, running: 1 });
    const s = await status(r.body.scanId);
    expect(s.body).toMatchObject({ status: 'cancelled', counts: { cancelled: 8 } });
    const control = await readTopic(kafka, ledger.prefix + Topics.workerControl.name);
    expect(control.some((e) => (e.payload as { scanIds: string[] }).scanIds.includes(r.body.scanId))).toBe(true);
    // The worker's late start of a cancelled task is revoked.
    await worker('TaskStarted', { projectId, scanId: t.scanId, taskId: t.taskId, attempt: 1, workerId: 'w4' });
    await eventually(() => readTopic(kafka, ledger.prefix + Topics.workerControl.name), (all) => all.some((e) => JSON.stringify(e.payload).includes('"workerId":"w4"')));
  });

  it('cancels by IP list across the project, and the whole project', async () => {
    const a = await scan({ targets: ['127.0.6.1', '127.0.6.2'], ...ports });
    const b = await scan({ targets: ['127.0.7.1'], ...ports });
    const byIp = await call(url, 'POST', `/projects/${projectId}/scans/cancel-ips`, token, { ips: ['127.0.6.2'] });
    expect(byIp.body).toMatchObject({ applied: true, cancelled: 1, scanIds: [a.body.scanId] });
    const all = await call(url, 'POST', `/projects/${projectId}/scans/cancel`, token, {});
    expect(all.body.applied).toBe(true);
    expect((await status(a.body.scanId)).body.counts).toMatchObject({ cancelled: 2, queued: 0 });
    expect((await status(b.body.scanId)).body.status).toBe('cancelled');
    expect((await call(url, 'POST', `/projects/${projectId}/scans/cancel-ips`, token, { ips: ['not-an-ip'] })).status).toBe(400);
  });

  it('skips hosts whose coverage holds the request and still sends their new names to the ledger; without coverage dedup insert mode skips known hosts', async () => {
    const orm = await createOrm(ledger.databaseUrl, 2);
    const known: HostObservedV1 = {
      projectId,
      mode: 'insert',
      trackHistory: true,
      source: { kind: 'import', importId: randomUUID(), fileSha256: 'x' },
      run: { scanner: 'nmap' },
      coverage: { tcp: [[1, 1000]] },
      observedAt: new Date().toISOString(),
      host: { ip: '127.0.8.5', addresses: [{ addr: '127.0.8.5', addrtype: 'ipv4' }], hostnames: [], ports: [], extraPorts: [], hostScripts: [] },
    };
    names['known.test'] = ['127.0.8.5'];
    await publisher.publish([{ eventId: randomUUID(), type: 'HostObserved', schemaVersion: 1, key: projectId, occurredAt: new Date().toISOString(), correlationId: 'c', causationId: null, actor: { kind: 'user', id: 'u' }, payload: known }]);
    // Wait for the tasker's own copy of the ledger, then ask.
    await eventually(async () => Number((await orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from tasker_ledger.known_hosts where ip = '127.0.8.5'`))[0].n), (n) => n === 1);
    await eventually(async () => Number((await orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from tasker_ledger.coverage where ip = '127.0.8.5'`))[0].n), (n) => n === 1);
    const plan = await scan({ targets: ['127.0.8.4-127.0.8.6', 'known.test'], ...ports, mode: 'insert' });
    expect(plan.body.summary).toMatchObject({ queued: 2, skipped: { covered: 1, already_known: 0 }, hostnameMerges: 1, dedup: 'coverage' });
    const merged = (await readTopic(kafka, ledger.prefix + Topics.ledger.name)).filter((e) => e.type === 'HostObserved' && (e.payload as HostObservedV1).source.kind === 'task') as Envelope<'HostObserved', HostObservedV1>[];
    expect(merged.map((e) => [e.payload.host.ip, e.payload.host.hostnames, e.payload.mode, e.payload.host.ports.length])).toContainEqual(['127.0.8.5', [{ name: 'known.test', type: 'user' }], 'insert', 0]);
    const presence = await scan({ targets: ['127.0.8.4-127.0.8.6'], config: { openPorts: { ports: '22,80', maxRate: 3000 }, services: false }, mode: 'insert', dedup: 'none' });
    expect(presence.body.summary).toMatchObject({ queued: 0, skipped: { already_known: 1, already_queued: 2 } });
    const append = await scan({ targets: ['127.0.8.5'], ...ports, mode: 'append', dedup: 'none' });
    expect(append.body.summary).toMatchObject({ queued: 1, skipped: { already_known: 0, covered: 0 } });
    await orm.close();
  });

  it('dedups by coverage: after an import of 1-1000/tcp only 1001-2000 is queued, UDP is not deduplicated by TCP, and finished work is not queued again', async () => {
    const orm = await createOrm(ledger.databaseUrl, 2);
    const rows = async (sqlText: string) => (await orm.em.fork().execute<Record<string, string>[]>(sqlText));
    const imported = await upload(ledger.url, projectId, token, nmapReport(['127.0.10.1', '127.0.10.2'].map((ip) => ({ ip, ports: [{ port: 22, service: 'ssh' }] })), { services: '1-1000' }), { mode: 'insert' });
    expect(imported.status).toBeLessThan(300);
    await eventually(() => rows(`select host(ip) as ip, proto, ports from tasker_ledger.coverage where host(ip) like '127.0.10.%' order by ip`), (r) => r.length === 2);
    expect(await rows(`select host(ip) as ip, proto, ports from tasker_ledger.coverage where host(ip) like '127.0.10.%' order by ip`)).toEqual([
      { ip: '127.0.10.1', proto: 'tcp', ports: '1-1000' },
      { ip: '127.0.10.2', proto: 'tcp', ports: '1-1000' },
    ]);

    const tcp = { targets: ['127.0.10.1-127.0.10.3'], config: { openPorts: { ports: '1-2000' }, services: false } };
    const first = await scan(tcp);
    expect(first.status).toBe(201);
    expect(first.body.summary).toMatchObject({ queued: 3, tasks: 3, partiallyCovered: 2, skipped: { covered: 0 }, dedup: 'coverage' });
    const tasks = (await offers()).filter((o) => o.payload.scanId === first.body.scanId).map((o) => o.payload);
    expect(tasks.map((t) => [t.ranges[0][0], t.shard.ports ?? 'as asked', t.importMode]).sort()).toEqual([
      ['127.0.10.1', '1001-2000', 'append'], // known in insert mode: the uncovered ports are merged as append
      ['127.0.10.2', '1001-2000', 'append'],
      ['127.0.10.3', 'as asked', 'insert'], // never seen: the whole request
    ]);

    const udp = await scan({ targets: ['127.0.10.1'], config: { openPorts: { protocols: ['udp'], ports: '1-2000' }, services: false } });
    expect(udp.body.summary).toMatchObject({ queued: 1, partiallyCovered: 0, skipped: { covered: 0 } });
    const [u] = (await offers()).filter((o) => o.payload.scanId === udp.body.scanId).map((o) => o.payload);
    expect([u.shard.ports, u.config.openPorts]).toEqual([undefined, expect.objectContaining({ protocols: ['udp'], ports: '1-2000' })]);

    // Play the worker: each task observes its host on the ports it was given, then completes.
    for (const t of tasks) {
      const ip = t.ranges[0][0];
      const ref = { projectId, scanId: t.scanId, taskId: t.taskId, attempt: 1, workerId: 'cov-w' };
      await worker('TaskStarted', ref);
      const seen: HostObservedV1 = {
        projectId, mode: t.importMode, trackHistory: true, source: { kind: 'task', taskId: t.taskId, scanId: t.scanId, workerId: 'cov-w' }, run: { scanner: 'nmap' },
        coverage: { tcp: t.shard.ports === '1001-2000' ? [[1001, 2000]] : [[1, 2000]] }, observedAt: new Date().toISOString(),
        host: { ip, addresses: [{ addr: ip, addrtype: 'ipv4' }], hostnames: [], ports: [], extraPorts: [], hostScripts: [] },
      };
      await worker('HostObserved', seen);
      await worker('TaskCompleted', { ...ref, hostsUp: 1, hostsDown: 0, durationMs: 5 });
    }
    await eventually(() => status(first.body.scanId), (s) => s.body.status === 'done');
    await eventually(() => rows(`select host(ip) as ip, proto, ports from tasker_ledger.coverage where host(ip) like '127.0.10.%' order by ip, ports`), (r) => r.length === 5);
    expect(await rows(`select host(ip) as ip, proto, ports from tasker_ledger.coverage where host(ip) like '127.0.10.%' order by ip, ports`)).toEqual([
      { ip: '127.0.10.1', proto: 'tcp', ports: '1-1000' },
      { ip: '127.0.10.1', proto: 'tcp', ports: '1001-2000' },
      { ip: '127.0.10.2', proto: 'tcp', ports: '1-1000' },
      { ip: '127.0.10.2', proto: 'tcp', ports: '1001-2000' },
      { ip: '127.0.10.3', proto: 'tcp', ports: '1-2000' },
    ]);

    const again = await scan(tcp);
    expect(again.body.summary).toMatchObject({ queued: 0, tasks: 0 });
    expect(again.body.status).toBe('done');
    // Not the same command (another rate), so not a resume: coverage alone says there is nothing left.
    const other = await scan({ ...tcp, config: { openPorts: { ports: '1-2000', maxRate: 3000 }, services: false } });
    expect(other.body.summary).toMatchObject({ queued: 0, partiallyCovered: 0, skipped: { covered: 3, already_done: 0 } });
    // Update mode refreshes what is asked unless told to dedup (other ports than above: nothing of it is in flight).
    const refresh = await scan({ ...tcp, config: { openPorts: { ports: '1-1500' }, services: false }, mode: 'update' });
    expect(refresh.body.summary).toMatchObject({ queued: 3, dedup: 'none', skipped: { covered: 0 } });
    // Coverage older than the request's staleness does not count.
    await new Promise((r) => setTimeout(r, 1100));
    const stale = await scan({ ...tcp, config: { openPorts: { ports: '1-2000', maxRate: 3002 }, services: false }, staleAfter: '1s' });
    expect(stale.body.summary).toMatchObject({ queued: 3, partiallyCovered: 0, skipped: { covered: 0 } });

    // A gap fill without targets: the scope's listable entries and the known hosts; what is covered is skipped.
    const gaps = await scan({ gaps: true, config: { openPorts: { ports: '1-1900' }, services: false } });
    expect(gaps.status).toBe(201);
    expect(gaps.body.targetsFrom).toMatchObject({ leftOut: ['*.test'], scopeEntries: 2 });
    expect(gaps.body.targetsFrom.knownHosts).toBeGreaterThanOrEqual(3);
    expect(gaps.body.summary.skipped.covered).toBe(3);
    const gapOffers = (await offers()).filter((o) => o.payload.scanId === gaps.body.scanId).map((o) => o.payload.ranges[0][0]);
    expect(gapOffers).toContain('127.0.0.5'); // db.test, from the scope
    expect(gapOffers.some((ip) => ip.startsWith('127.0.10.'))).toBe(false);
    expect((await scan({ gaps: true, rescan: true })).status).toBe(400);
    await orm.close();
  });

  it('refuses bad configs and injected or malformed targets with 400 and says why; nothing is planned', async () => {
    const before = (await offers()).length;
    const cases: [object, RegExp][] = [
      [{ targets: ['-iL /etc/passwd'] }, /option|not allowed/],
      [{ targets: ['-iL'] }, /looks like a command-line option/],
      [{ targets: ['127.0.0.1;id'] }, /character ";" is not allowed/],
      [{ targets: ['$(id)'] }, /not allowed/],
      [{ targets: ['--script=evil.nse'] }, /command-line option/],
      [{ targets: ['/etc/passwd'] }, /only allowed in a CIDR/],
      [{ targets: ['127.0.0.0/8'] }, /cap is \/16/],
      [{ targets: ['127.0.0.1'], config: { openPorts: { ports: '1-70000' } } }, /invalid scan config/],
      [{ targets: ['127.0.0.1'], config: { openPorts: { rawArgs: '-sC' } } }, /invalid scan config/],
      [{ targets: ['127.0.0.1'], config: { extraArgs: ['--script', 'x'] } }, /invalid scan config/],
      [{ targets: ['127.0.0.1'], profile: 'nope' }, /unknown profile/],
      [{ targets: ['127.0.0.1'], nmapArgs: '-A' }, /property nmapArgs should not exist/],
      [{ targets: ['127.0.0.1'], mode: 'overwrite' }, /mode must be one of/],
      [{ targets: [] }, /targets must contain at least 1/],
      [{ targets: ['nowhere.test'] }, /no target left to scan/],
    ];
    for (const [body, why] of cases) {
      const r = await scan(body);
      expect([JSON.stringify(body), r.status]).toEqual([JSON.stringify(body), 400]);
      const said = [r.body.message, ...(r.body.errors ?? []).map((e: { message?: string }) => e.message ?? JSON.stringify(e))].flat().join(' | ');
      expect(said).toMatch(why);
    }
    const detail = await scan({ targets: ['127.0.0.1', '127.0.0.1;id', '-oN /tmp/x'] });
    expect(detail.body.errors.map((e: { input: string; reason: string }) => [e.input, e.reason])).toEqual([
      ['127.0.0.1;id', 'shell_metacharacter'],
      ['-oN /tmp/x', 'option_like'],
    ]);
    const cfg = await scan({ targets: ['127.0.0.1'], config: { openPorts: { maxRate: 0, bogus: 1 } } });
    expect(cfg.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['openPorts.bogus', 'openPorts.maxRate']);
    expect((await offers()).length).toBe(before);
  });

  it('lists scans newest first with counts, paginates, and 404s a scan of another project', async () => {
    const page = await call(url, 'GET', `/projects/${projectId}/scans?limit=2`, token);
    expect(page.status).toBe(200);
    expect(page.body.items).toHaveLength(2);
    expect(page.body.nextCursor).toEqual(expect.any(String));
    const next = await call(url, 'GET', `/projects/${projectId}/scans?limit=2&cursor=${page.body.nextCursor}`, token);
    expect(next.body.items[0].scanId).not.toBe(page.body.items[0].scanId);
    const cancelled = await call(url, 'GET', `/projects/${projectId}/scans?status=cancelled`, token);
    expect(cancelled.body.items.length).toBeGreaterThan(0);
    expect(cancelled.body.items.every((s: { status: string }) => s.status === 'cancelled')).toBe(true);
    const other = await call(ledger.url, 'POST', '/projects', token, { name: 'other' });
    expect((await call(url, 'GET', `/projects/${other.body.id}/scans/${page.body.items[0].scanId}`, token)).status).toBe(404);
    expect((await call(url, 'GET', `/projects/${projectId}/scans?cursor=garbage`, token)).status).toBe(400);
  });

  it('shows workers that heartbeat, with their tasks only to members of the task’s project, and forgets silent ones', async () => {
    const hb = (workerId: string, running: object[]) =>
      worker('WorkerHeartbeat', { workerId, version: '0.1.0', hostname: 'remote-1', egressIp: '192.0.2.10', nmapVersion: '7.93', privileged: true, concurrency: 2, heartbeatSeconds: 1, running });
    await hb('fleet-1', [{ taskId: 't-x', attempt: 1, projectId, scanId: 's-x', startedAt: new Date().toISOString(), currentIp: '127.0.0.9' }]);
    const seen = await eventually(() => call(url, 'GET', '/workers', token), (r) => r.body.items?.some((w: { workerId: string }) => w.workerId === 'fleet-1'));
    expect(seen.body.items.find((w: { workerId: string }) => w.workerId === 'fleet-1')).toMatchObject({ egressIp: '192.0.2.10', status: 'busy', currentTask: 't-x', running: [{ currentIp: '127.0.0.9' }] });
    const u = await call(ledger.url, 'POST', '/users', token, { username: `outsider-${randomUUID().slice(0, 6)}` });
    await eventually(() => call(url, 'GET', '/workers', u.body.token), (r) => r.status === 200);
    const outsider = await call(url, 'GET', '/workers', u.body.token);
    expect(outsider.body.items.find((w: { workerId: string }) => w.workerId === 'fleet-1')).toMatchObject({ currentTask: null, running: [], otherTasks: 1 });
    await eventually(() => call(url, 'GET', '/workers', token), (r) => !r.body.items.some((w: { workerId: string }) => w.workerId === 'fleet-1'), 20000);
  });
});
