import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Topics } from '#events';
import { verifyWebhookSignature } from '#domain';
import { createKafka, createOrm, fetchEndOffsets } from '#platform';
import { WebhookDeliveryService } from '../../apps/ledger-projector/src/webhooks/webhook-delivery.service.js';
import { falcli, profileFor } from '../support/cli.js';
import { call, startLedgerApp, upload, type RunningApp } from '../support/ledger-app.js';
import { nmapReport } from '../support/nmap-fixtures.js';
import { eventually, kafkaEnv } from '../support/stack.js';

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly raw: Buffer;
  readonly body: any;
  readonly status: number;
}

/** A webhook receiver on loopback that answers per path: a number of failures first, or always. */
class Receiver {
  readonly received: Received[] = [];
  private readonly failNext = new Map<string, number>();
  private readonly failAlways = new Set<string>();
  delayMs = 0;
  private server?: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const path = req.url ?? '/';
        const left = this.failNext.get(path) ?? 0;
        let status = 200;
        if (this.failAlways.has(path)) status = 503;
        else if (left > 0) {
          this.failNext.set(path, left - 1);
          status = 500;
        }
        if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
        const raw = Buffer.concat(chunks);
        this.received.push({ path, headers: req.headers, raw, body: JSON.parse(raw.toString('utf8')), status });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'no');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  fail(path: string, times: number): void {
    this.failNext.set(path, times);
  }
  setFailing(path: string, on: boolean): void {
    if (on) this.failAlways.add(path);
    else this.failAlways.delete(path);
  }
  at(path: string, from = 0): Received[] {
    return this.received.slice(from).filter((r) => r.path === path);
  }
  close(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** Every change of the project's SSE feed from the start, read until `count` arrived. */
async function sseFeed(base: string, projectId: string, token: string, count: number): Promise<any[]> {
  const ac = new AbortController();
  const res = await fetch(`${base}/projects/${projectId}/changes/stream?after=0`, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
  const reader = res.body!.getReader();
  const out: any[] = [];
  let buf = '';
  const deadline = Date.now() + 30000;
  while (out.length < count && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += new TextDecoder().decode(value);
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const data = /^data: (.*)$/m.exec(buf.slice(0, i))?.[1];
      buf = buf.slice(i + 2);
      if (data) out.push(JSON.parse(data));
    }
  }
  ac.abort();
  return out;
}

/** The raw bytes of every record on the projects topic, to check what the log carries. */
async function projectsTopic(prefix: string): Promise<{ raw: string; event: any }[]> {
  const kafka = createKafka(kafkaEnv(prefix), `test-${prefix}-reader`);
  const topic = prefix + Topics.projects.name;
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await fetchEndOffsets(admin, topic)).filter((p) => p.high > 0n).map((p) => [p.partition, p.high]));
  await admin.disconnect();
  const groupId = `${prefix}webhooks-test-reader`;
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: { raw: string; event: any }[] = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        const raw = message.value!.toString('utf8');
        out.push({ raw, event: JSON.parse(raw) });
        if (BigInt(message.offset) >= (ends.get(partition) ?? 0n) - 1n) ends.delete(partition);
        if (ends.size === 0) resolve();
      },
    });
    if (ends.size === 0) resolve();
  });
  await consumer.disconnect();
  return out;
}

describe('webhooks on the change feed', () => {
  let s: RunningApp;
  let projectId: string;
  const receiver = new Receiver();
  let hookA: { id: string; secret: string };
  let hookB: { id: string; secret: string };
  const SECRET_B = 'a-receiver-chosen-secret-0123';
  let hostNo = 0;
  let orm: Awaited<ReturnType<typeof createOrm>>;

  const importHosts = async (n: number) => {
    const hosts = Array.from({ length: n }, () => {
      hostNo++;
      return { ip: `10.77.0.${hostNo}`, hostname: `h${hostNo}.example.test`, ports: [{ port: 22, service: 'ssh' }, { port: 443, service: 'https', product: 'nginx' }] };
    });
    const r = await upload(s.url, projectId, s.adminToken, nmapReport(hosts, { services: '1-1000' }), { mode: 'append' });
    expect(r.status).toBeLessThan(300);
  };
  const historyCount = async () => (await call(s.url, 'GET', `/projects/${projectId}/history?limit=1000`, s.adminToken)).body.items.length as number;
  const hooks = async () => (await call(s.url, 'GET', `/projects/${projectId}/webhooks`, s.adminToken)).body.items as any[];
  const hook = async (id: string) => (await hooks()).find((h) => h.id === id);
  const maxId = async () => (await orm.em.fork().execute<{ m: string }[]>(`select max(id)::text as m from ledger.history where project_id = ?`, [projectId]))[0].m;
  /** Waits until the webhook has handled every change there is. */
  const caughtUp = async (id: string) => {
    const last = await maxId();
    return eventually(() => hook(id), (h) => h?.cursor === last && h.pending === null);
  };
  const delivered = (path: string) => receiver.at(path).filter((r) => r.status === 200);

  beforeAll(async () => {
    process.env.WEBHOOK_MAX_FAILURES = '3';
    process.env.WEBHOOK_RETRY_BASE_MS = '100';
    process.env.WEBHOOK_RETRY_MAX_MS = '400';
    process.env.WEBHOOK_POLL_MS = '100';
    // Small batches, so one import spans several deliveries and their order matters.
    process.env.WEBHOOK_BATCH_SIZE = '5';
    await receiver.start();
    s = await startLedgerApp();
    orm = await createOrm(s.databaseUrl, 2);
    projectId = (await call(s.url, 'POST', '/projects', s.adminToken, { name: 'hooks' })).body.id;
  });
  afterAll(async () => {
    await orm?.close();
    await s?.close();
    await receiver.close();
  });

  it('refuses targets that are not http(s), carry credentials, or name unknown fields', async () => {
    const bad = [
      { url: 'ftp://127.0.0.1/x' },
      { url: 'not a url' },
      { url: 'http://user:pw@127.0.0.1:9/x' },
      { url: `${receiver.url}/x`, events: ['ports'] },
      { url: `${receiver.url}/x`, secret: 'short' },
      { url: `${receiver.url}/x`, extra: true },
    ];
    for (const body of bad) {
      const r = await call(s.url, 'POST', `/projects/${projectId}/webhooks`, s.adminToken, body);
      expect([body, r.status, r.text]).toEqual([body, 400, r.text]);
    }
    expect(await hooks()).toEqual([]);
  });

  it('delivers an import’s changes signed, in order, exactly as the SSE feed lists them; the filter and a chosen secret apply', async () => {
    const a = await call(s.url, 'POST', `/projects/${projectId}/webhooks`, s.adminToken, { url: `${receiver.url}/a` });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ url: `${receiver.url}/a`, status: 'active', events: null, consecutiveFailures: 0 });
    expect(a.body.secret).toMatch(/^whsec_[A-Za-z0-9_-]{32}$/);
    hookA = { id: a.body.id, secret: a.body.secret };
    const b = await call(s.url, 'POST', `/projects/${projectId}/webhooks`, s.adminToken, { url: `${receiver.url}/b`, secret: SECRET_B, events: ['state'] });
    expect(b.status).toBe(201);
    hookB = { id: b.body.id, secret: b.body.secret };
    expect(hookB.secret).toBe(SECRET_B);
    expect((await call(s.url, 'POST', `/projects/${projectId}/webhooks`, s.adminToken, { url: `${receiver.url}/a` })).status).toBe(409);

    // Shown once: never in the listing afterwards.
    const listing = await call(s.url, 'GET', `/projects/${projectId}/webhooks`, s.adminToken);
    expect(listing.text).not.toContain(hookA.secret);
    expect(listing.text).not.toContain(SECRET_B);

    await importHosts(3);
    await caughtUp(hookA.id);
    await caughtUp(hookB.id);
    const feed = await sseFeed(s.url, projectId, s.adminToken, await historyCount());
    expect(feed.length).toBeGreaterThan(10);

    const got = delivered('/a');
    expect(got.length).toBeGreaterThan(1); // batches of 5
    for (const r of got) {
      expect(verifyWebhookSignature(hookA.secret, r.raw, r.headers['x-falcoria-signature'] as string)).toBe(true);
      // What a receiver in any language does: HMAC-SHA256 of the raw body, hex.
      expect(r.headers['x-falcoria-signature']).toBe(`sha256=${createHmac('sha256', hookA.secret).update(r.raw).digest('hex')}`);
      expect(verifyWebhookSignature(SECRET_B, r.raw, r.headers['x-falcoria-signature'] as string)).toBe(false);
      expect(r.headers['x-falcoria-delivery']).toBe(r.body.deliveryId);
      expect(r.headers['x-falcoria-timestamp']).toMatch(/^\d{10}$/);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.body).toMatchObject({ webhookId: hookA.id, projectId });
    }
    expect(new Set(got.map((r) => r.body.deliveryId)).size).toBe(got.length);
    expect(got.flatMap((r) => r.body.changes)).toEqual(feed);

    const gotB = delivered('/b');
    for (const r of gotB) expect(verifyWebhookSignature(SECRET_B, r.raw, r.headers['x-falcoria-signature'] as string)).toBe(true);
    expect(gotB.flatMap((r) => r.body.changes)).toEqual(feed.filter((c) => c.field === 'state'));

    const log = (await call(s.url, 'GET', `/projects/${projectId}/webhooks/${hookA.id}/deliveries`, s.adminToken)).body.items;
    expect(log.map((x: any) => x.outcome)).toEqual(got.map(() => 'delivered'));
    expect(log.flatMap((x: any) => [...x.changeIds].reverse()).reverse()).toEqual(feed.map((c) => c.id));
    expect(log[0]).toMatchObject({ attempt: 1, httpStatus: 200, error: null, nextRetryAt: null });
    expect(JSON.stringify(log)).not.toContain(hookA.secret);
  });

  it('retries a receiver answering 500 with the same delivery id and body, then succeeds', async () => {
    const mark = receiver.received.length;
    receiver.fail('/a', 2);
    await importHosts(1);
    await caughtUp(hookA.id);
    const seen = receiver.at('/a', mark);
    const first = seen[0];
    const same = seen.filter((r) => r.body.deliveryId === first.body.deliveryId);
    expect(same.map((r) => r.status)).toEqual([500, 500, 200]);
    for (const r of same) {
      expect(r.headers['x-falcoria-delivery']).toBe(first.body.deliveryId);
      expect(r.raw.equals(first.raw)).toBe(true);
      expect(verifyWebhookSignature(hookA.secret, r.raw, r.headers['x-falcoria-signature'] as string)).toBe(true);
    }
    const log = (await call(s.url, 'GET', `/projects/${projectId}/webhooks/${hookA.id}/deliveries?limit=100`, s.adminToken)).body.items.filter((x: any) => x.deliveryId === first.body.deliveryId);
    expect(log.map((x: any) => [x.attempt, x.outcome, x.httpStatus])).toEqual([[3, 'delivered', 200], [2, 'failed', 500], [1, 'failed', 500]]);
    expect(log[1].nextRetryAt).not.toBeNull();
    expect(log[1].error).toBe('HTTP 500');
    expect(typeof log[1].durationMs).toBe('number');
    expect(await hook(hookA.id)).toMatchObject({ status: 'active', consecutiveFailures: 0, lastDelivery: { ok: true, httpStatus: 200 } });
  });

  it('disables a receiver that keeps failing, visibly; nothing is sent while disabled; enabling resumes without loss', async () => {
    const mark = receiver.received.length;
    receiver.setFailing('/a', true);
    await importHosts(1);
    const off = await eventually(() => hook(hookA.id), (h) => h.status === 'disabled');
    expect(off.consecutiveFailures).toBe(3);
    expect(off.disabledReason).toMatch(/^3 consecutive failed deliveries; last: HTTP 503$/);
    expect(off.pending).toMatchObject({ attempts: 3 });
    const failing = receiver.at('/a', mark);
    expect(failing.map((r) => r.status)).toEqual([503, 503, 503]);
    expect(new Set(failing.map((r) => r.body.deliveryId)).size).toBe(1);

    // More changes while disabled; the other webhook keeps going, this one gets nothing.
    await importHosts(1);
    await caughtUp(hookB.id);
    expect(receiver.at('/a', mark)).toHaveLength(3);

    receiver.setFailing('/a', false);
    const on = await call(s.url, 'POST', `/projects/${projectId}/webhooks/${hookA.id}/enable`, s.adminToken);
    expect(on.status).toBe(200);
    expect(on.body).toMatchObject({ status: 'active', consecutiveFailures: 0, disabledReason: null });
    await caughtUp(hookA.id);
    const resumed = receiver.at('/a', mark).filter((r) => r.status === 200);
    expect(resumed[0].body.deliveryId).toBe(failing[0].body.deliveryId);
    expect(resumed[0].raw.equals(failing[0].raw)).toBe(true);

    // Over the whole test: every change of the feed, once, in order.
    const feed = await sseFeed(s.url, projectId, s.adminToken, await historyCount());
    expect(delivered('/a').flatMap((r) => r.body.changes)).toEqual(feed);
  });

  it('two deliverers racing for one webhook send each batch once (row lock, skip locked)', async () => {
    const svc = s.app.get(WebhookDeliveryService);
    const mark = receiver.received.length;
    receiver.delayMs = 200;
    await importHosts(2);
    const view = async () => {
      const h = await hook(hookA.id);
      return { webhookId: h.id, url: h.url, events: h.events, status: h.status } as never;
    };
    const w = await view();
    // The background loop of this instance races these calls, each on its own connection and transaction.
    await Promise.all([svc.deliverNext(projectId, w), svc.deliverNext(projectId, w), svc.deliverNext(projectId, w)]);
    await caughtUp(hookA.id);
    receiver.delayMs = 0;
    const ok = receiver.at('/a', mark).filter((r) => r.status === 200);
    expect(ok.length).toBeGreaterThan(0);
    expect(new Set(ok.map((r) => r.body.deliveryId)).size).toBe(ok.length);
    const ids = ok.flatMap((r) => r.body.changes.map((c: any) => c.id));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('a rebuild renumbers the history (its ids lose the live gaps); webhooks go on from the same change: nothing skipped, nothing sent twice', async () => {
    await caughtUp(hookA.id);
    await caughtUp(hookB.id);
    const mark = receiver.received.length;
    const preGap = BigInt(await maxId());
    // Ids that rolled-back batches took leave gaps in the live history; a replay has none.
    await orm.em.fork().execute(`select setval(pg_get_serial_sequence('ledger.history', 'id'), (select max(id) from ledger.history) + 5000)`);
    await importHosts(1);
    await caughtUp(hookA.id);
    const liveMax = BigInt(await maxId());
    const feedBefore = await sseFeed(s.url, projectId, s.adminToken, await historyCount());

    const r = await call(s.url, 'POST', '/ledger/rebuild', s.adminToken);
    expect(r.status).toBe(200);
    expect(r.body.equal).toBe(true);
    expect(BigInt(await maxId())).toBeLessThan(liveMax - 4000n);
    // Both webhooks point at the same change as before, under its new id.
    expect((await hook(hookA.id)).cursor).toBe(await maxId());
    expect((await hook(hookB.id)).cursor).toBe(await maxId());

    await importHosts(1);
    await caughtUp(hookA.id);
    await caughtUp(hookB.id);
    const feed = await sseFeed(s.url, projectId, s.adminToken, await historyCount());
    const strip = (c: any) => ({ ...c, id: undefined });
    expect(feed.slice(0, feedBefore.length).map(strip)).toEqual(feedBefore.map(strip));
    const sinceMark = receiver.at('/a', mark).filter((x) => x.status === 200).flatMap((x) => x.body.changes).map(strip);
    expect(sinceMark).toEqual([...feedBefore.filter((c) => BigInt(c.id) > preGap), ...feed.slice(feedBefore.length)].map(strip));
  });

  it('falcli webhook add|list|deliveries|enable|rm, over HTTP, with --json', async () => {
    const configDir = await profileFor(s.url, s.adminToken);
    const run = (...args: string[]) => falcli([...args, '-p', 'hooks'], { configDir });
    const add = await run('webhook', 'add', `${receiver.url}/cli`, '--events', 'host,hostname', '--json');
    expect(add.code).toBe(0);
    const created = JSON.parse(add.stdout);
    expect(created).toMatchObject({ url: `${receiver.url}/cli`, events: ['host', 'hostname'], status: 'active' });
    expect(created.secret).toMatch(/^whsec_/);
    const short = created.id.slice(0, 8);

    const listed = await run('webhook', 'list', '--json');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).map((w: any) => w.id)).toContain(created.id);
    expect(listed.stdout).not.toContain(created.secret);
    const table = await run('webhook', 'list');
    expect(table.stdout).toMatch(new RegExp(`${short} +${receiver.url}/cli +host,hostname +active`));

    await importHosts(1);
    await caughtUp(created.id);
    const got = delivered('/cli');
    expect(got.length).toBeGreaterThan(0);
    for (const r of got) expect(r.body.changes.every((c: any) => c.field === 'host' || c.field === 'hostname')).toBe(true);
    const log = await run('webhook', 'deliveries', short, '--json');
    expect(log.code).toBe(0);
    expect(JSON.parse(log.stdout).map((d: any) => d.outcome)).toEqual(got.map(() => 'delivered'));
    expect((await run('webhook', 'deliveries', short)).stdout).toMatch(/ATTEMPTED \(UTC\) +DELIVERY +ATTEMPT/);

    expect((await run('webhook', 'enable', short)).code).toBe(0);
    expect((await run('webhook', 'rm', short)).code).toBe(2); // no terminal, no --yes
    expect((await run('webhook', 'rm', short, '--yes')).code).toBe(0);
    expect((await run('webhook', 'deliveries', short)).code).toBe(4);
    expect(JSON.parse((await run('webhook', 'list', '--json')).stdout).map((w: any) => w.id)).not.toContain(created.id);
  });

  it('keeps secrets out of the log, records who did what, and forgets a removed webhook', async () => {
    expect((await call(s.url, 'DELETE', `/projects/${projectId}/webhooks/${hookA.id}`, s.adminToken)).status).toBe(204);
    expect((await hooks()).map((h) => h.id)).toEqual([hookB.id]);
    expect((await call(s.url, 'GET', `/projects/${projectId}/webhooks/${hookA.id}/deliveries`, s.adminToken)).status).toBe(404);
    expect((await call(s.url, 'DELETE', `/projects/${projectId}/webhooks/${hookA.id}`, s.adminToken)).status).toBe(404);
    expect((await call(s.url, 'POST', `/projects/${projectId}/webhooks/${hookA.id}/enable`, s.adminToken)).status).toBe(404);

    const rows = await orm.em.fork().execute(`select (select count(*) from webhooks.endpoints where webhook_id = ?)::int as e, (select count(*) from webhooks.delivery_log where webhook_id = ?)::int as l`, [hookA.id, hookA.id]);
    expect(rows[0]).toEqual({ e: 0, l: 0 });

    const records = await projectsTopic(s.prefix);
    for (const r of records) {
      expect(r.raw).not.toContain(hookA.secret);
      expect(r.raw).not.toContain(SECRET_B);
    }
    const mine = records.map((r) => r.event).filter((e) => e.payload?.webhookId === hookA.id);
    expect(mine.map((e) => [e.type, e.actor.kind])).toEqual([
      ['WebhookRegistered', 'user'],
      ['WebhookDisabled', 'system'],
      ['WebhookEnabled', 'user'],
      ['WebhookRemoved', 'user'],
    ]);
    expect(mine[0].payload).toEqual({ projectId, webhookId: hookA.id, url: `${receiver.url}/a`, events: null });
  });
});
