import { call, startLedgerApp, upload, type RunningApp } from '../support/ledger-app.js';
import { nmapReport } from '../support/nmap-fixtures.js';
import { randomUUID } from 'node:crypto';
import type { Envelope, HostObservedV1 } from '#events';
import { PUBLISHER, type EventPublisher } from '#platform';
import { eventually } from '../support/stack.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every read the issue names, captured at one moment, to compare with the same reads "as of" it later. */
async function snapshot(s: RunningApp, projectId: string, asOf?: string) {
  const q = asOf ? `asOf=${encodeURIComponent(asOf)}` : '';
  const strip = <T extends Record<string, unknown>>(body: T) => {
    const { asOf: _a, ...rest } = body;
    return rest;
  };
  const get = async (path: string) => {
    const r = await call(s.url, 'GET', `/projects/${projectId}${path}${path.includes('?') ? '&' : '?'}${q}`, s.adminToken);
    // Past answers name their moment in error messages; the status is what must agree.
    return { status: r.status, body: r.status !== 200 ? null : typeof r.body === 'object' ? strip(r.body) : r.text };
  };
  const search = async (body: object) => {
    const r = await call(s.url, 'POST', `/projects/${projectId}/hosts/search`, s.adminToken, asOf ? { ...body, asOf } : body);
    return strip(r.body);
  };
  return {
    list: await get('/hosts'),
    page1: await get('/hosts?limit=1'),
    withPort80: await get('/hosts?port=80'),
    nginx: await get('/hosts?product=NGI'),
    hostname: await get('/hosts?hostname=alpha'),
    cidr: await get('/hosts?cidr=10.2.0.0/31'),
    open: await get('/hosts?hasOpenPorts=true'),
    detail1: await get('/hosts/10.2.0.1'),
    detail2: await get('/hosts/10.2.0.2'),
    facets: await get('/facets'),
    json: (await get('/export?format=json')).body,
    csv: (await get('/export?format=csv')).body,
    searchAll: await search({ allOf: [{ port: 22 }, { service: 'http' }] }),
    searchNone: await search({ noneOf: [{ port: 22 }], matchedPortsOnly: true }),
    searchAny: await search({ anyOf: [{ port: 8080 }, { port: 443, proto: 'tcp' }] }),
  };
}

describe('the scope as of any moment, and replay for audit', () => {
  let s: RunningApp;
  let projectId: string;
  const imports: string[] = [];
  const moments: string[] = [];
  const seen: Awaited<ReturnType<typeof snapshot>>[] = [];

  beforeAll(async () => {
    s = await startLedgerApp();
    projectId = (await call(s.url, 'POST', '/projects', s.adminToken, { name: 'as-of' })).body.id;
    moments.push(new Date().toISOString());
    seen.push(await snapshot(s, projectId));
    const steps: (() => Promise<void>)[] = [
      async () => {
        const r = await upload(s.url, projectId, s.adminToken, nmapReport([
          { ip: '10.2.0.1', hostname: 'alpha.example', ports: [{ port: 22, service: 'ssh', product: 'OpenSSH', version: '8.9' }, { port: 80, service: 'http', product: 'nginx' }] },
          { ip: '10.2.0.2', ports: [{ port: 443, service: 'https', product: 'nginx' }] },
        ], { services: '1-1000' }), { mode: 'replace' });
        imports.push(r.body.importId);
      },
      async () => {
        const r = await upload(s.url, projectId, s.adminToken, nmapReport([
          { ip: '10.2.0.1', hostname: 'alpha.example', ports: [{ port: 22, service: 'ssh', product: 'OpenSSH', version: '9.6' }] },
          { ip: '10.2.0.3', ports: [{ port: 8080, service: 'http', product: 'Jetty' }] },
        ], { services: '1-1000', start: 1795400000 }), { mode: 'replace' });
        imports.push(r.body.importId);
      },
      async () => {
        expect((await call(s.url, 'DELETE', `/projects/${projectId}/hosts/10.2.0.2`, s.adminToken)).status).toBe(200);
        await eventually(async () => (await call(s.url, 'GET', `/projects/${projectId}/hosts/10.2.0.2`, s.adminToken)).status, (st) => st === 404);
      },
      async () => {
        const r = await upload(s.url, projectId, s.adminToken, nmapReport([
          { ip: '10.2.0.2', ports: [{ port: 25, service: 'smtp', product: 'Postfix' }] },
          { ip: '10.2.0.3', ports: [{ port: 8080, service: 'http', product: 'Jetty', version: '12' }, { port: 9090, state: 'filtered' }] },
        ], { services: '1-10000', start: 1795500000 }), { mode: 'update' });
        imports.push(r.body.importId);
      },
    ];
    for (const step of steps) {
      await sleep(15);
      await step();
      await sleep(15);
      moments.push(new Date().toISOString());
      seen.push(await snapshot(s, projectId));
    }
  });
  afterAll(() => s?.close());

  it('answers every read as of each past moment exactly as it answered then', async () => {
    expect(seen[1].list.body).not.toEqual(seen[2].list.body);
    for (let i = 0; i < moments.length; i++) expect(await snapshot(s, projectId, moments[i])).toEqual(seen[i]);
  });

  it('reads "as of <import id>" as right after that import was applied', async () => {
    expect(await snapshot(s, projectId, imports[0])).toEqual(seen[1]);
    expect(await snapshot(s, projectId, imports[1])).toEqual(seen[2]);
    expect(await snapshot(s, projectId, imports[2])).toEqual(seen[4]);
  });

  it('knows what was there before: a deleted host and a closed port are back as of then', async () => {
    const before = await call(s.url, 'GET', `/projects/${projectId}/hosts/10.2.0.1?asOf=${imports[0]}`, s.adminToken);
    expect(before.body.ports.find((p: any) => p.port === 80).state).toBe('open');
    expect(before.body.asOf).toBe(imports[0]);
    const now = await call(s.url, 'GET', `/projects/${projectId}/hosts/10.2.0.1`, s.adminToken);
    expect(now.body.ports.find((p: any) => p.port === 80).state).toBe('closed');
    const gone = await call(s.url, 'GET', `/projects/${projectId}/hosts/10.2.0.3?asOf=${encodeURIComponent(moments[1])}`, s.adminToken);
    expect(gone.status).toBe(404);
    expect(gone.body.message).toMatch(/as of/);
  });

  it('refuses an asOf that is neither a time nor a known import or scan', async () => {
    const bad = await call(s.url, 'GET', `/projects/${projectId}/hosts?asOf=yesterday`, s.adminToken);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/ISO 8601/);
    const unknown = await call(s.url, 'GET', `/projects/${projectId}/hosts?asOf=00000000-0000-4000-8000-000000000000`, s.adminToken);
    expect(unknown.status).toBe(404);
    const exp = await call(s.url, 'GET', `/projects/${projectId}/export?format=json&asOf=nope`, s.adminToken);
    expect(exp.status).toBe(400);
  });

  it('reads and diffs "as of <scan id>" from worker results', async () => {
    const scanId = randomUUID();
    const payload: HostObservedV1 = {
      projectId, mode: 'update', trackHistory: true, source: { kind: 'task', taskId: randomUUID(), scanId, workerId: 'w-test' },
      run: { scanner: 'nmap', version: '7.93', args: 'nmap -sS -p 3306 10.2.0.9' }, coverage: { tcp: [[3306, 3306]] }, observedAt: new Date().toISOString(),
      host: { ip: '10.2.0.9', addresses: [{ addr: '10.2.0.9', addrtype: 'ipv4' }], hostnames: [], status: { state: 'up', reason: 'syn-ack' }, ports: [{ protocol: 'tcp', port: 3306, state: { state: 'open', reason: 'syn-ack' }, service: { name: 'mysql', cpes: [] }, scripts: [] }], extraPorts: [], hostScripts: [] },
    };
    const e: Envelope<'HostObserved', HostObservedV1> = { eventId: randomUUID(), type: 'HostObserved', schemaVersion: 1, key: projectId, occurredAt: new Date().toISOString(), correlationId: scanId, causationId: null, actor: { kind: 'worker', id: 'w-test' }, payload };
    await s.app.get<EventPublisher>(PUBLISHER).publish([e]);
    await eventually(async () => (await call(s.url, 'GET', `/projects/${projectId}/hosts?asOf=${scanId}`, s.adminToken)).status, (st) => st === 200);
    const then = await call(s.url, 'GET', `/projects/${projectId}/hosts?asOf=${scanId}`, s.adminToken);
    expect(then.body.items.map((h: any) => h.ip)).toContain('10.2.0.9');
    const before = await call(s.url, 'GET', `/projects/${projectId}/hosts?asOf=${imports[2]}`, s.adminToken);
    expect(before.body.items.map((h: any) => h.ip)).not.toContain('10.2.0.9');
    const diff = await call(s.url, 'GET', `/projects/${projectId}/diff?from=${imports[2]}&to=${scanId}`, s.adminToken);
    expect(diff.status).toBe(200);
    expect(diff.body.hostsAppeared).toEqual(['10.2.0.9']);
  });

  it('replays the log up to a moment into a scratch schema whose checksum equals the as-of view', async () => {
    for (const i of [1, 2, 4]) {
      const r = await call(s.url, 'POST', `/projects/${projectId}/audit/replay`, s.adminToken, { until: moments[i] });
      expect(r.status).toBe(200);
      expect(r.body.equal).toBe(true);
      expect(r.body.replayChecksum).toBe(r.body.asOfChecksum);
      expect(r.body.hosts).toBe((seen[i].list.body as { items: unknown[] }).items.length);
    }
    const a = await call(s.url, 'POST', `/projects/${projectId}/audit/replay`, s.adminToken, { until: moments[1] });
    const b = await call(s.url, 'POST', `/projects/${projectId}/audit/replay`, s.adminToken, { until: moments[2] });
    expect(a.body.replayChecksum).not.toBe(b.body.replayChecksum);
    const schemas = await call(s.url, 'POST', `/projects/${projectId}/audit/replay`, s.adminToken, { until: 'soon' });
    expect(schemas.status).toBe(400);
  });
});
