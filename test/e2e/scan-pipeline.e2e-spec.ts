import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import type { Consumer, Kafka } from 'kafkajs';
import { decodeEnvelope, eventCatalogue, Topics, type Envelope, type HostObservedV1, type TaskCompletedV1, type TaskFailedV1, type TaskStartedV1 } from '#events';
import type { Resolver } from '#domain';
import { createHttpApp, createKafka, createOrm } from '#platform';
import { call, startLedgerApp, upload, type RunningApp } from '../support/ledger-app.js';
import { nmapReport } from '../support/nmap-fixtures.js';
import { createNetnsHost, netnsAvailable, type NetnsHost } from '../support/netns.js';
import { eventually, kafkaEnv } from '../support/stack.js';

// The whole scanning path with real processes: the ledger and the tasker in this process, workers as
// child processes running the built worker (dist/), real nmap against listeners on loopback and in
// network namespaces this test creates. Nothing else is ever scanned.

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

const names: Record<string, string[]> = {};
const resolver: Resolver = { resolve: async (n) => names[n] ?? [] };

const freePort = (host = '127.0.0.1'): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** Command lines of running nmap processes whose last argument is this target. */
function nmapFor(ip: string): string[] {
  const out = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => /(^|\/)nmap /.test(l) && l.trimEnd().endsWith(` ${ip}`));
}

interface Seen {
  readonly topic: string;
  readonly partition: number;
  readonly event: Envelope;
}

describe('scanning end to end (real nmap, Kafka, PostgreSQL; loopback and namespaces only)', () => {
  let ledger: RunningApp;
  let tasker: INestApplication;
  let url: string;
  let token: string;
  let projectId: string;
  let kafka: Kafka;
  let collector: Consumer;
  const seen: Seen[] = [];
  const workers = new Map<string, ChildProcess>();
  let slow: { body: { scanId: string } };
  const servers: Server[] = [];

  const of = <P>(type: string, pred: (p: P) => boolean = () => true) => seen.filter((s) => s.event.type === type && pred(s.event.payload as P)).map((s) => s.event as Envelope<string, P>);
  // The tasker can report a scan done before this test's own consumer has read the events that made it so.
  const ofAtLeast = <P>(n: number, type: string, pred?: (p: P) => boolean) => eventually(async () => of<P>(type, pred), (x) => x.length >= n, 30000);
  const scan = (body: object) => call(url, 'POST', `/projects/${projectId}/scans`, token, body);
  const status = (scanId: string) => call(url, 'GET', `/projects/${projectId}/scans/${scanId}`, token);
  const fleet = async () => (await call(url, 'GET', '/workers', token)).body.items as { workerId: string; status: string; running: { taskId: string }[] }[];

  async function startWorker(workerId: string, env: Record<string, string> = {}): Promise<ChildProcess> {
    const port = await freePort();
    const child = spawn(process.execPath, ['dist/apps/worker/src/main.js'], {
      env: {
        ...process.env,
        KAFKA_TOPIC_PREFIX: ledger.prefix,
        WORKER_ID: workerId,
        WORKER_PORT: String(port),
        WORKER_CONCURRENCY: '2',
        WORKER_HEARTBEAT_SECONDS: '1',
        WORKER_SESSION_TIMEOUT_MS: '6000',
        WORKER_KILL_GRACE_MS: '1000',
        LOG_LEVEL: process.env.WORKER_LOG_LEVEL ?? 'warn',
        ...env,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    workers.set(workerId, child);
    await eventually(fleet, (items) => items.some((w) => w.workerId === workerId), 60000);
    return child;
  }

  async function stopWorker(workerId: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = workers.get(workerId);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
    workers.delete(workerId);
  }

  beforeAll(async () => {
    ledger = await startLedger();
    token = ledger.adminToken;
    projectId = (await call(ledger.url, 'POST', '/projects', token, { name: 'scans-e2e' })).body.id;
    expect((await call(ledger.url, 'PUT', `/projects/${projectId}/scope`, token, { allow: ['127.0.0.0/8', '10.213.0.0/16', '*.test'], deny: [] })).status).toBe(200);
    Object.assign(process.env, { TASKER_LEASE_SECONDS: '6', TASKER_LEASE_CHECK_SECONDS: '1', TASKER_WORKER_DEAD_SECONDS: '6', TASKER_TASK_MAX_ATTEMPTS: '2' });
    const { TaskerModule } = await import('../../apps/tasker/src/tasker.module.js');
    tasker = await retryTopicRace(() => createHttpApp(() => TaskerModule.register({ resolver }), { service: 'tasker', port: 0, title: 'test', bodyLimit: '16mb' }));
    await tasker.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(tasker.getHttpServer().address() as { port: number }).port}`;
    kafka = createKafka(kafkaEnv(ledger.prefix), 'scan-e2e');
    collector = kafka.consumer({ groupId: `collector-${randomUUID()}` });
    await collector.connect();
    const topics = [Topics.ledger, Topics.scans, Topics.workerControl, Topics.tasks].map((t) => ledger.prefix + t.name);
    await collector.subscribe({ topics, fromBeginning: true });
    await collector.run({ eachMessage: async ({ topic, partition, message }) => void seen.push({ topic, partition, event: eventCatalogue.read(decodeEnvelope(message.value)) }) });
  });

  afterAll(async () => {
    for (const id of [...workers.keys()]) await stopWorker(id, 'SIGKILL');
    for (const s of servers) s.close();
    await collector?.disconnect();
    await tasker?.close();
    await ledger?.close();
  });

  it('scans listeners on loopback in two phases; each host reaches the ledger topic with its ports, services, scripts and names', async () => {
    const httpPort = await freePort('127.0.0.21');
    const sshPort = await freePort('127.0.0.21');
    const closedPort = await freePort('127.0.0.21');
    // Canned answers nmap's probes recognise: an Apache page, and an SSH banner that hangs up on the client's reply.
    const page = '<html><head><title>falcoria loopback</title></head><body>hello</body></html>';
    const http = createServer((c) => {
      c.on('error', () => undefined);
      c.once('data', () => c.end(`HTTP/1.1 200 OK\r\nServer: Apache/2.4.57 (Debian)\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Length: ${page.length}\r\nConnection: close\r\n\r\n${page}`));
    }).listen(httpPort, '127.0.0.21');
    const ssh = createServer((c) => {
      c.on('error', () => undefined);
      c.write('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n');
      c.once('data', () => c.destroy());
    }).listen(sshPort, '127.0.0.21');
    servers.push(http, ssh);
    names['web.test'] = ['127.0.0.21'];
    await startWorker('e2e-w1');

    const r = await scan({
      targets: ['web.test', '127.0.0.22'],
      config: { openPorts: { ports: `${httpPort},${sshPort},${closedPort}`, timeoutSeconds: 120 }, services: { defaultScripts: true, timeoutSeconds: 300 } },
    });
    expect(r.status).toBe(201);
    expect(r.body.summary).toMatchObject({ accepted: 2, queued: 2, tasks: 2 });
    const done = await eventually(() => status(r.body.scanId), (s) => s.body.status === 'done', 170000);
    expect(done.body.counts).toMatchObject({ done: 2, failed: 0, total: 2 });

    const obs = await ofAtLeast<HostObservedV1>(2, 'HostObserved', (p) => p.source.kind === 'task' && p.source.scanId === r.body.scanId);
    expect(obs.map((o) => o.payload.host.ip).sort()).toEqual(['127.0.0.21', '127.0.0.22']);
    const web = obs.find((o) => o.payload.host.ip === '127.0.0.21')!;
    expect(web.key).toBe(projectId);
    expect(web.payload).toMatchObject({ projectId, mode: 'insert', source: { kind: 'task', scanId: r.body.scanId, workerId: 'e2e-w1' }, run: { scanner: 'nmap' } });
    const covered = web.payload.coverage.tcp!.flatMap(([lo, hi]) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i));
    expect(covered).toEqual([httpPort, sshPort, closedPort].sort((a, b) => a - b));
    expect(web.payload.host.hostnames).toContainEqual({ name: 'web.test', type: 'user' });
    const port = (n: number) => web.payload.host.ports.find((p) => p.port === n);
    expect(port(httpPort)).toMatchObject({ protocol: 'tcp', state: { state: 'open' }, service: { name: 'http', product: 'Apache httpd', version: '2.4.57' } });
    expect(port(httpPort)!.scripts.map((s) => s.id)).toContain('http-title');
    expect(port(httpPort)!.scripts.find((s) => s.id === 'http-title')!.output).toContain('falcoria loopback');
    expect(port(sshPort)).toMatchObject({ state: { state: 'open' }, service: { name: 'ssh', product: 'OpenSSH' } });
    expect(port(closedPort)?.state.state ?? 'closed').not.toMatch(/open/);
    const empty = obs.find((o) => o.payload.host.ip === '127.0.0.22')!;
    expect(empty.payload.host.ports.filter((p) => p.state.state === 'open')).toEqual([]);

    // Phase 2 ran only where phase 1 found something open.
    const completed = await ofAtLeast<TaskCompletedV1>(2, 'TaskCompleted', (p) => p.scanId === r.body.scanId);
    expect(completed).toHaveLength(2);
    const phases = completed.map((c) => c.payload.timings!.runs.map((x) => `${x.ip}:${x.phase}`)).flat().sort();
    expect(phases).toEqual(['127.0.0.21:open-ports', '127.0.0.21:services', '127.0.0.22:open-ports']);

    // The lead's ledger read model folds the same events.
    const host = await eventually(() => call(ledger.url, 'GET', `/projects/${projectId}/hosts/127.0.0.21`, token), (h) => h.status === 200, 30000);
    expect(host.body.ports.find((p: { port: number }) => p.port === sshPort)).toMatchObject({ state: 'open', service: { name: 'ssh', product: 'OpenSSH' } });
    expect(host.body.hostnames.map((h: { name: string }) => h.name)).toContain('web.test');
  });

  it('a worker SIGKILLed mid-scan takes its nmap with it; the task re-runs on another worker and is applied once', async () => {
    await stopWorker('e2e-w1');
    const victim = await startWorker('e2e-victim', { WORKER_CONCURRENCY: '1' });
    const r = await scan({ targets: ['127.0.0.31'], config: { openPorts: { ports: '1-1500', minRate: null, maxRate: 100, timeoutSeconds: 120 }, services: false } });
    expect(r.status).toBe(201);
    const running = await eventually(() => status(r.body.scanId), (s) => s.body.counts.running === 1, 60000);
    expect(running.body.running[0]).toMatchObject({ ip: '127.0.0.31', workerId: 'e2e-victim', attempt: 1 });
    await eventually(async () => nmapFor('127.0.0.31'), (p) => p.length === 1, 20000);

    victim.kill('SIGKILL');
    await new Promise((res) => victim.once('exit', res));
    workers.delete('e2e-victim');
    await eventually(async () => nmapFor('127.0.0.31'), (p) => p.length === 0, 10000);

    await startWorker('e2e-w2');
    const done = await eventually(() => status(r.body.scanId), (s) => s.body.status === 'done', 170000);
    expect(done.body.counts).toMatchObject({ done: 1, total: 1 });
    const [taskId] = (await ofAtLeast<TaskStartedV1>(1, 'TaskStarted', (p) => p.scanId === r.body.scanId)).map((e) => e.payload.taskId);
    const starts = (await ofAtLeast<TaskStartedV1>(2, 'TaskStarted', (p) => p.taskId === taskId)).map((e) => [e.payload.workerId, e.payload.attempt]);
    expect(starts).toEqual([['e2e-victim', 1], ['e2e-w2', 2]]);
    expect(await ofAtLeast(1, 'TaskLeaseExpired', (p: { taskId: string }) => p.taskId === taskId)).toHaveLength(1);
    const completions = await ofAtLeast<TaskCompletedV1>(1, 'TaskCompleted', (p) => p.taskId === taskId);
    expect(completions.map((c) => [c.payload.workerId, c.payload.attempt])).toEqual([['e2e-w2', 2]]);
    const observed = await ofAtLeast<HostObservedV1>(1, 'HostObserved', (p) => p.host.ip === '127.0.0.31');
    expect(observed.map((o) => o.payload.source)).toEqual([{ kind: 'task', taskId, scanId: r.body.scanId, workerId: 'e2e-w2' }]);
    // The dead worker leaves the fleet view.
    await eventually(fleet, (items) => !items.some((w) => w.workerId === 'e2e-victim'), 20000);
  });

  it('a slow task holds a slot, not its partition: later tasks of the same partition run meanwhile', async () => {
    slow = await scan({ targets: ['127.0.0.41'], config: { openPorts: { ports: '1-20000', minRate: null, maxRate: 100, timeoutSeconds: 600 }, services: false } });
    await eventually(() => status(slow.body.scanId), (s) => s.body.counts.running === 1, 60000);
    const partitionOf = (scanId: string) => seen.filter((x) => x.event.type === 'TaskOffered' && (x.event.payload as { scanId: string }).scanId === scanId).map((x) => x.partition);
    const [p] = await eventually(async () => partitionOf(slow.body.scanId), (ps) => ps.length === 1);
    let sharing = 0;
    // Offers are keyed by task id; rounds of 16 quick tasks until some land on the slow task's partition.
    for (let round = 0; round < 4 && sharing === 0; round++) {
      const quick = await scan({ targets: [`127.0.${100 + round}.0/28`], config: { openPorts: { ports: '9', timeoutSeconds: 60 }, services: false }, mode: 'append' });
      await eventually(() => status(quick.body.scanId), (s) => s.body.status === 'done', 120000);
      sharing = partitionOf(quick.body.scanId).filter((x) => x === p).length;
    }
    expect(sharing).toBeGreaterThan(0);
    expect((await status(slow.body.scanId)).body.counts.running).toBe(1);
  });

  it('cancelling a scan kills its running nmap within seconds and nothing of it reaches the ledger', async () => {
    const r = slow;
    await eventually(async () => nmapFor('127.0.0.41'), (p) => p.length === 1, 20000);
    const c = await call(url, 'POST', `/projects/${projectId}/scans/${r.body.scanId}/cancel`, token, {});
    expect(c.body).toMatchObject({ applied: true, running: 1 });
    await eventually(async () => nmapFor('127.0.0.41'), (p) => p.length === 0, 10000);
    const failed = await eventually(async () => of<TaskFailedV1>('TaskFailed', (p) => p.scanId === r.body.scanId), (f) => f.length === 1, 10000);
    expect(failed[0].payload).toMatchObject({ reason: 'cancelled', retryable: false, workerId: 'e2e-w2' });
    expect((await status(r.body.scanId)).body).toMatchObject({ status: 'cancelled', counts: { cancelled: 1 } });
    expect(of<HostObservedV1>('HostObserved', (p) => p.host.ip === '127.0.0.41')).toEqual([]);
  });

  it('coverage dedup: after an import of 1-1000/tcp, nmap scans 1001-2000 only for a 1-2000 request, and asking again queues nothing', async () => {
    const ip = '127.0.0.51';
    if (workers.size === 0) await startWorker('e2e-cov'); // when run on its own
    const listener = createServer((c) => c.on('error', () => undefined).end()).listen(1517, ip);
    servers.push(listener);
    const imported = await upload(ledger.url, projectId, token, nmapReport([{ ip, ports: [{ port: 22, service: 'ssh' }] }], { services: '1-1000' }), { mode: 'insert' });
    expect(imported.status).toBeLessThan(300);
    const orm = await createOrm(ledger.databaseUrl, 1);
    const coverage = () => orm.em.fork().execute<{ ports: string }[]>(`select ports from tasker_ledger.coverage where ip = ? order by ports`, [ip]);
    await eventually(coverage, (rows) => rows.length === 1, 30000);

    const request = { targets: [ip], config: { openPorts: { ports: '1-2000', timeoutSeconds: 120 }, services: false } };
    const r = await scan(request);
    expect(r.body.summary).toMatchObject({ queued: 1, tasks: 1, partiallyCovered: 1, dedup: 'coverage' });
    await eventually(() => status(r.body.scanId), (s) => s.body.status === 'done', 170000);
    const [obs] = await ofAtLeast<HostObservedV1>(1, 'HostObserved', (p) => p.source.kind === 'task' && p.source.scanId === r.body.scanId);
    expect(obs.payload).toMatchObject({ mode: 'append', coverage: { tcp: [[1001, 2000]] } });
    expect(obs.payload.run.args).toMatch(/ -p 1001-2000 /);
    expect(obs.payload.host.ports.filter((p) => p.state.state === 'open').map((p) => p.port)).toEqual([1517]);
    // The ledger has both: the imported port and the one only the remainder scan could find.
    const host = await eventually(() => call(ledger.url, 'GET', `/projects/${projectId}/hosts/${ip}`, token), (h) => h.body.ports?.some((p: { port: number }) => p.port === 1517), 30000);
    expect(host.body.ports.map((p: { port: number }) => p.port).sort((a: number, b: number) => a - b)).toEqual([22, 1517]);

    // Another rate, so not a resume of the same command: nothing is left once the task's coverage is in.
    expect((await eventually(coverage, (rows) => rows.length === 2, 30000)).map((x) => x.ports)).toEqual(['1-1000', '1001-2000']);
    await orm.close();
    const second = await scan({ ...request, config: { openPorts: { ports: '1-2000', maxRate: 5000, timeoutSeconds: 120 }, services: false } });
    expect(second.body.summary).toMatchObject({ queued: 0, tasks: 0, skipped: { covered: 1 } });
    expect(second.body.status).toBe('done');
  });

  const netns = netnsAvailable() ? it : it.skip;
  let hosts: NetnsHost[] = [];
  afterAll(() => hosts.forEach((h) => h.close()));

  netns('scans a host in a network namespace: open, filtered and closed ports as nmap sees them', async () => {
    const h = await createNetnsHost({ tcp: [{ port: 8080, httpServer: 'Apache/2.4.57 (Debian)' }, { port: 2222, banner: 'SSH-2.0-OpenSSH_9.2p1' }], dropTcp: [9090] });
    hosts.push(h);
    const r = await scan({ targets: [h.ip], config: { openPorts: { ports: '2222,8080,9090,9091', maxRetries: 1, timeoutSeconds: 120 }, services: { timeoutSeconds: 300 } }, mode: 'append' });
    await eventually(() => status(r.body.scanId), (s) => s.body.status === 'done', 170000);
    const [obs] = await ofAtLeast<HostObservedV1>(1, 'HostObserved', (p) => p.host.ip === h.ip);
    const state = Object.fromEntries(obs.payload.host.ports.map((p) => [p.port, p.state.state]));
    expect(state).toMatchObject({ 2222: 'open', 8080: 'open', 9090: 'filtered' });
    expect(state[9091] ?? 'closed').toBe('closed');
    expect(obs.payload.host.ports.find((p) => p.port === 2222)?.service?.name).toBe('ssh');
    expect(obs.payload.mode).toBe('append');
    h.close();
  });

  netns('a scan that hangs (every packet dropped) is stopped at its deadline, retried once by policy, then failed with the reason', async () => {
    const h = await createNetnsHost({ dropAll: true });
    hosts.push(h);
    const r = await scan({ targets: [h.ip], config: { openPorts: { allPorts: true, maxRetries: 10, minRate: null, maxRate: 50, timeoutSeconds: 3 }, services: false } });
    const failed = await eventually(() => status(r.body.scanId), (s) => s.body.status === 'failed', 90000);
    expect(failed.body.failures[0]).toMatchObject({ attempts: 2, error: expect.stringMatching(/^timeout: open-ports phase of 10\.213\.\d+\.2 did not finish within 3 s/) });
    const reasons = (await ofAtLeast<TaskFailedV1>(2, 'TaskFailed', (p) => p.scanId === r.body.scanId)).map((e) => [e.payload.reason, e.payload.attempt]);
    expect(reasons).toEqual([['timeout', 1], ['timeout', 2]]);
    expect(nmapFor(h.ip)).toEqual([]);
    // This scan's own observations: an earlier test's namespace host may have had the same address.
    expect(of<HostObservedV1>('HostObserved', (p) => p.host.ip === h.ip && p.source.kind === 'task' && p.source.scanId === r.body.scanId)).toEqual([]);
    h.close();
  });
});
