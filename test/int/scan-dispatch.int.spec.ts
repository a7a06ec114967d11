import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import { decodeEnvelope, eventCatalogue, Topics, type Envelope, type TaskOfferedV1, type TasksQueuedV1, type TasksRevokedV1 } from '#events';
import { createHttpApp, createKafka, fetchEndOffsets, type EventPublisher } from '#platform';
import { call, startLedgerApp, type RunningApp } from '../support/ledger-app.js';
import { eventually, kafkaEnv, testKafka } from '../support/stack.js';

// The dispatch rule of issue 9 (rate budgets, scan windows, the emergency stop) at the planner,
// against real Kafka and PostgreSQL. The test plays the workers by writing their events, so what
// the planner offers, holds and takes back is observable exactly. Real workers and nmap: see
// test/e2e/scan-controls.e2e-spec.ts.

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

async function readTopic(kafka: Kafka, topic: string): Promise<Envelope[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = (await fetchEndOffsets(admin, topic)).filter((p) => p.high > 0n);
  await admin.disconnect();
  if (!ends.length) return [];
  const out: Envelope[] = [];
  const c = kafka.consumer({ groupId: `reader-${randomUUID()}` });
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

/** "HH:MM" in UTC, `minutes` from now. */
const utcClock = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString().slice(11, 16);

describe('scan dispatch: budgets, windows, emergency stop (real Kafka and PostgreSQL, workers played by the test)', () => {
  let ledger: RunningApp;
  let tasker: INestApplication;
  let url: string;
  let token: string;
  let projectId: string;
  let kafka: Kafka;
  let publisher: EventPublisher;

  const scan = (targets: string[]) => call(url, 'POST', `/projects/${projectId}/scans`, token, { targets, config: { openPorts: { ports: '22' }, services: false }, mode: 'append' });
  const offers = async (scanId: string) => ((await readTopic(kafka, ledger.prefix + Topics.tasks.name)) as Envelope<'TaskOffered', TaskOfferedV1>[]).filter((o) => o.payload.scanId === scanId).map((o) => o.payload);
  const control = async () => (await readTopic(kafka, ledger.prefix + Topics.workerControl.name)) as Envelope<'TasksRevoked', TasksRevokedV1>[];
  const status = (scanId: string) => call(url, 'GET', `/projects/${projectId}/scans/${scanId}`, token);
  const policy = (body: object) => call(url, 'PUT', `/projects/${projectId}/scan-policy`, token, body);
  const worker = (type: string, payload: object) =>
    publisher.publish([{ eventId: randomUUID(), type, schemaVersion: 1, key: projectId, occurredAt: new Date().toISOString(), correlationId: 'c', causationId: null, actor: { kind: 'worker', id: 'w' }, payload: { projectId, ...payload } }]);
  const run = async (o: TaskOfferedV1, end: 'TaskCompleted' | 'TaskFailed' | null, workerId = 'w1') => {
    const ref = { scanId: o.scanId, taskId: o.taskId, attempt: o.attempt, workerId };
    await worker('TaskStarted', ref);
    if (end === 'TaskCompleted') await worker('TaskCompleted', { ...ref, hostsUp: 1, hostsDown: 0, durationMs: 5 });
    if (end === 'TaskFailed') await worker('TaskFailed', { ...ref, reason: 'timeout', message: 'slow', retryable: true, hostsUp: 0 });
  };

  beforeAll(async () => {
    ledger = await retryTopicRace(startLedgerApp);
    token = ledger.adminToken;
    projectId = (await call(ledger.url, 'POST', '/projects', token, { name: 'dispatch' })).body.id;
    expect((await call(ledger.url, 'PUT', `/projects/${projectId}/scope`, token, { allow: ['127.0.0.0/8'], deny: [] })).status).toBe(200);
    Object.assign(process.env, { TASKER_LEASE_SECONDS: '600', TASKER_TASK_MAX_ATTEMPTS: '2', TASKER_PLAN_WAIT_MS: '20000', TASKER_DISPATCH_CHECK_MS: '200' });
    const { TaskerModule } = await import('../../apps/tasker/src/tasker.module.js');
    tasker = await retryTopicRace(() => createHttpApp(() => TaskerModule.register({ resolver: { resolve: async () => [] } }), { service: 'tasker', port: 0, title: 'test' }));
    await tasker.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(tasker.getHttpServer().address() as { port: number }).port}`;
    kafka = createKafka(kafkaEnv(ledger.prefix), 'dispatch-test');
    ({ publisher } = await testKafka(ledger.prefix));
    await eventually(() => call(url, 'GET', `/projects/${projectId}/scan-policy`, token), (r) => r.status === 200);
  });
  afterAll(async () => {
    await tasker?.close();
    await publisher?.disconnect();
    await ledger?.close();
  });

  it('refuses a policy it cannot enforce, naming each field', async () => {
    const r = await policy({ budgets: [{ cidr: '127.0.0.0/33', maxHosts: 0 }], window: { start: '25:00', end: '06:00', timeZone: 'Nowhere/City' } });
    expect(r.status).toBe(400);
    expect(r.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['budgets[0].cidr', 'budgets[0].maxHosts', 'window.start', 'window.timeZone']);
  });

  it('a budget of 2 hosts in 127.0.10.0/24 offers two tasks of that network at a time, at maxPps / maxHosts each; tasks outside it go at once', async () => {
    const set = await policy({ budgets: [{ cidr: '127.0.10.0/24', maxHosts: 2, maxPps: 100 }] });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ applied: true, policy: { budgets: [{ cidr: '127.0.10.0/24', maxHosts: 2, maxPps: 100 }], window: null }, setBy: { name: 'admin' } });
    const r = await scan(['127.0.10.1-127.0.10.5', '127.0.20.1']);
    expect(r.status).toBe(201);
    const first = await eventually(() => offers(r.body.scanId), (o) => o.length === 3);
    const inBudget = first.filter((o) => o.ranges[0][0].startsWith('127.0.10.'));
    expect(inBudget).toHaveLength(2);
    expect(inBudget.every((o) => o.limits?.maxRate === 50)).toBe(true);
    expect(first.find((o) => o.ranges[0][0] === '127.0.20.1')!.limits).toBeUndefined();
    const s = await status(r.body.scanId);
    expect(s.body.waiting).toEqual({ tasks: 3, reason: 'waiting: budget 127.0.10.0/24 2/2 hosts' });
    const p = await call(url, 'GET', `/projects/${projectId}/scan-policy`, token);
    expect(p.body.dispatch).toMatchObject({ held: 3, waiting: 'waiting: budget 127.0.10.0/24 2/2 hosts', budgets: [{ cidr: '127.0.10.0/24', inFlight: 2, waiting: 3 }] });

    // One finishes: exactly one more of the network is offered. One fails retryably: its retry takes its own place.
    await run(inBudget[0], 'TaskCompleted');
    const second = await eventually(() => offers(r.body.scanId), (o) => o.length === 4);
    await new Promise((res) => setTimeout(res, 500));
    expect(await offers(r.body.scanId)).toHaveLength(4);
    await run(inBudget[1], 'TaskFailed');
    const third = await eventually(() => offers(r.body.scanId), (o) => o.some((x) => x.taskId === inBudget[1].taskId && x.attempt === 2));
    const live = third.filter((o) => o.ranges[0][0].startsWith('127.0.10.') && o.taskId !== inBudget[0].taskId && !(o.taskId === inBudget[1].taskId && o.attempt === 1));
    expect(live).toHaveLength(2);
    expect(second.length).toBe(4);
  });

  it('a window that excludes now takes back what is offered or running and holds new tasks; one that includes now lets them run', async () => {
    const r = await scan(['127.0.30.1', '127.0.30.2']);
    const [a, b] = await eventually(() => offers(r.body.scanId), (o) => o.length === 2);
    await run(a, null, 'w7'); // running
    await eventually(() => status(r.body.scanId), (s) => s.body.counts.running === 1);
    const closed = await policy({ budgets: [], window: { start: utcClock(120), end: utcClock(180), timeZone: 'UTC' } });
    expect(closed.body).toMatchObject({ applied: true, window: { insideNow: false } });
    const s = await eventually(() => status(r.body.scanId), (x) => x.body.waiting?.tasks === 2);
    expect(s.body.waiting.reason).toMatch(/^waiting: window opens at \d{4}-\d\d-\d\dT/);
    expect(s.body.counts).toMatchObject({ queued: 2, running: 0 });
    // Both old attempts are revoked (the running one's nmap would be killed), and were re-queued as recalled.
    const revoked = (await control()).flatMap((e) => e.payload.tasks);
    expect(revoked).toEqual(expect.arrayContaining([{ taskId: a.taskId, attempt: 1, workerId: null }, { taskId: b.taskId, attempt: 1, workerId: null }]));
    const queued = (await readTopic(kafka, ledger.prefix + Topics.scans.name)).filter((e) => e.type === 'TasksQueued' && (e.payload as TasksQueuedV1).reason === 'recalled');
    expect(queued.flatMap((e) => (e.payload as TasksQueuedV1).tasks.map((t) => [t.taskId, t.attempt]))).toEqual(expect.arrayContaining([[a.taskId, 2], [b.taskId, 2]]));
    // The old run's late report changes nothing.
    await worker('TaskCompleted', { scanId: a.scanId, taskId: a.taskId, attempt: 1, workerId: 'w7', hostsUp: 1, hostsDown: 0, durationMs: 5 });
    const later = await scan(['127.0.30.3']);
    await new Promise((res) => setTimeout(res, 1000));
    expect(await offers(later.body.scanId)).toEqual([]);
    expect((await status(r.body.scanId)).body.counts).toMatchObject({ queued: 2, done: 0 });

    const open = await policy({ budgets: [], window: { start: utcClock(-60), end: utcClock(60), timeZone: 'UTC' } });
    expect(open.body.window.insideNow).toBe(true);
    const again = await eventually(() => offers(r.body.scanId), (o) => o.length === 4);
    expect(again.filter((o) => o.attempt === 2).map((o) => o.taskId).sort()).toEqual([a.taskId, b.taskId].sort());
    await eventually(() => offers(later.body.scanId), (o) => o.length === 1);
    expect((await status(r.body.scanId)).body.waiting).toBeNull();
  });

  it('the dispatch clock wakes the planner at a window edge: tasks waiting for a window that opens on the next minute are offered then', async () => {
    // The next full minute, at least 5 s away; the window is minute-grained.
    const edge = Math.ceil((Date.now() + 5000) / 60_000) * 60_000;
    const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
    await policy({ budgets: [], window: { start: hhmm(edge), end: hhmm(edge + 3600_000), timeZone: 'UTC' } });
    const r = await scan(['127.0.40.1']);
    expect((await status(r.body.scanId)).body.waiting).toMatchObject({ tasks: 1, reason: `waiting: window opens at ${new Date(edge).toISOString()}` });
    const [o] = await eventually(() => offers(r.body.scanId), (x) => x.length === 1, 90_000);
    expect(Date.now()).toBeGreaterThanOrEqual(edge);
    expect(o.attempt).toBe(1);
    const wake = (await readTopic(kafka, ledger.prefix + Topics.scans.name)).filter((e) => e.type === 'TaskDispatchRequested');
    expect(wake.map((e) => e.payload)).toContainEqual({ projectId, reason: 'window_edge', dueAt: new Date(edge).toISOString() });
    await policy({ budgets: [], window: null });
  });

  it('an emergency stop holds every new task back, shows in the fleet view and the scan, and the release lets them go; only admins may pull it', async () => {
    const owner = await call(ledger.url, 'POST', '/users', token, { username: `owner-${randomUUID().slice(0, 6)}` });
    await call(ledger.url, 'PUT', `/projects/${projectId}/members/${owner.body.id}`, token, { role: 'owner' });
    await eventually(() => call(url, 'GET', `/projects/${projectId}/scan-policy`, owner.body.token), (x) => x.status === 200);
    expect((await call(url, 'POST', '/emergency-stop', owner.body.token, {})).status).toBe(403);
    expect((await call(url, 'PUT', `/projects/${projectId}/scan-policy`, owner.body.token, { budgets: [] })).status).toBe(200);

    const stop = await call(url, 'POST', '/emergency-stop', token, { reason: 'int test' });
    expect(stop.status).toBe(200);
    expect(stop.body).toMatchObject({ active: true, reason: 'int test', by: { name: 'admin' } });
    expect((await call(url, 'GET', '/workers', token)).body.emergencyStop).toMatchObject({ active: true, reason: 'int test' });
    const r = await scan(['127.0.50.1', '127.0.50.2']);
    expect(r.status).toBe(201);
    expect((await status(r.body.scanId)).body.waiting).toMatchObject({ tasks: 2, reason: expect.stringMatching(/^waiting: emergency stop since /) });
    await new Promise((res) => setTimeout(res, 1000));
    expect(await offers(r.body.scanId)).toEqual([]);

    const release = await call(url, 'POST', '/emergency-stop/release', token, { reason: 'all clear' });
    expect(release.body).toMatchObject({ active: false, history: expect.arrayContaining([expect.objectContaining({ type: 'activated', reason: 'int test' }), expect.objectContaining({ type: 'released', reason: 'all clear' })]) });
    await eventually(() => offers(r.body.scanId), (o) => o.length === 2, 20000);
    expect((await status(r.body.scanId)).body.waiting).toBeNull();
    const fleet = (await readTopic(kafka, ledger.prefix + Topics.fleetControl.name)).map((e) => [e.type, e.actor.name]);
    expect(fleet).toEqual([['EmergencyStopActivated', 'admin'], ['EmergencyStopReleased', 'admin']]);
  });
});
